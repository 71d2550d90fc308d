"""Streaming core: shard lists, epoch plans, shuffle buffers and resumable streams over ranks and workers.

* :mod:`~pixelpipe.streaming.source`: :class:`ShardSource` (implement it to stream a new format) and
  :class:`Record`.
* :mod:`~pixelpipe.streaming.plan`: :class:`EpochPlan`, the pure function that assigns samples to
  ``rank * num_workers + worker`` with equal counts per rank (padding rule documented there).
* :mod:`~pixelpipe.streaming.shuffle`: the bounded shuffle buffer over encoded samples.
* :mod:`~pixelpipe.streaming.stream`: :class:`ShardStream`, the reader that composes them, with
  ``set_epoch`` through shared memory and ``state_dict`` / ``load_state_dict``.
* :mod:`~pixelpipe.streaming.shards`, :mod:`~pixelpipe.streaming.tar`: webdataset shard specs, split info
  and tar shards. Writing shards from a dataset is :mod:`pixelpipe.shard_writer`, a layer above (it reads
  datasets).
"""

from .plan import EpochPlan, Segment, resolve_rank_world, shard_order
from .shards import SplitInfo, expand_braces, load_dataset_info, parse_shard_spec, resolve_split
from .shuffle import shuffle_buffer
from .source import ListShardSource, Record, ShardSource
from .stream import ShardStream, consumed_per_worker

__all__ = [
    "EpochPlan",
    "ListShardSource",
    "Record",
    "Segment",
    "ShardSource",
    "ShardStream",
    "SplitInfo",
    "consumed_per_worker",
    "expand_braces",
    "load_dataset_info",
    "parse_shard_spec",
    "resolve_rank_world",
    "resolve_split",
    "shard_order",
    "shuffle_buffer",
]
