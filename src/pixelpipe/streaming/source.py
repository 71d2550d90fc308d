"""What a stream reads: a :class:`ShardSource` (a list of shards with known lengths) and its records.

The streaming core (:mod:`pixelpipe.streaming.plan`, :mod:`~pixelpipe.streaming.shuffle`,
:class:`~pixelpipe.streaming.stream.ShardStream`) never looks inside a shard. Anything that can say how
many samples each shard holds and iterate one shard from a given offset can be streamed with exact,
resumable sharding over ranks and DataLoader workers: webdataset tar files
(:class:`~pixelpipe.streaming.tar.TarShardSource`), parquet / arrow files of a Hugging Face dataset, a list
in memory (:class:`ListShardSource`), ...

Example: a source of two in-memory shards, one of them empty::

    >>> src = ListShardSource([[('a', b'A', 0), ('b', b'B', 1)], []])
    >>> src.shard_lengths, src.shard_name(0)
    ([2, 0], 'shard-0')
    >>> list(src.iter_shard(0, start=1))
    [('b', b'B', 1)]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple, Protocol, runtime_checkable

__all__ = ["ListShardSource", "Record", "ShardSource"]


@runtime_checkable
class ShardSource(Protocol):
    """A dataset cut into shards whose sample counts are known before reading them.

    Implement it to stream a new storage format (pixelpipe's own: webdataset tars; the ``hfids/`` reader:
    parquet / arrow files). The core decides *which* samples each rank and worker reads, in which order;
    the source only reads.

    Attributes:
        shard_lengths: the number of samples in each shard (``0`` for an empty shard). The epoch plan is a
            pure function of these counts, so they must be exact and the same in every process.

    Contract of :meth:`iter_shard`:

    * ``iter_shard(i, start)`` yields the samples of shard ``i`` from offset ``start`` on, in a fixed order
      (the same in every process), as ``(key, input, target)`` tuples:

      - ``key`` (str): the sample's name inside the shard (errors print ``'<shard name>/<key>'``);
      - ``input``: what the dataset decodes: encoded bytes, a binary file-like object or a PIL image
        (anything :func:`pixelpipe.io.decode.decode_pil` accepts). Keep it encoded: the shuffle buffer
        holds inputs before decoding;
      - ``target``: an ``int`` class index, ``None`` (becomes ``-1``) or any object a ``target_transform``
        understands.
    * Skipping the first ``start`` samples should be cheap (seek, or read headers only): it is used to
      split one shard between workers and to resume in the middle of an epoch.
    * A sample that cannot be read: yield an **exception instance** as its ``input`` (for example
      ``SampleError('no image member')``) instead of raising, so the sample still counts and the dataset's
      error policy (raise naming shard and key, or skip and count) applies to it. An exception raised by
      the iterator itself (an unreadable file) is turned by the core into one such error per remaining
      sample of the segment, so counts stay exact.
    * Yielding more samples than ``shard_lengths[i]`` is harmless (the extra ones are ignored); fewer are
      reported as errors for the missing ones.
    """

    @property
    def shard_lengths(self) -> Sequence[int]:
        """Samples per shard (a plain attribute in implementations; read-only here, so ``list[int]`` fits)."""
        ...

    def shard_name(self, index: int) -> str:
        """A printable name for shard ``index`` (its path or URL)."""
        ...

    def iter_shard(self, index: int, start: int = 0) -> Iterator[tuple[str, Any, Any]]:
        """Yield ``(key, input, target)`` for the samples of shard ``index`` from offset ``start``."""
        ...


class Record(NamedTuple):
    """One sample on its way through a stream (before decoding).

    Attributes:
        key: the sample's key inside its shard.
        input: encoded input (or an exception instance for a sample that could not be read).
        target: the target as the source gave it.
        shard: the shard's printable name.
        position: the sample's position in this epoch's global sequence (``0 .. world_size * per_rank``);
            unique per epoch, so ``derive_seed(seed, epoch, position)`` names the sample's augmentation.
    """

    key: str
    input: Any
    target: Any
    shard: str
    position: int

    @property
    def where(self) -> str:
        """``'<shard>/<key>'``, the name errors use."""
        return f"{self.shard}/{self.key}"


class ListShardSource:
    """Shards held in memory as lists of ``(key, input, target)`` tuples (tests, examples, small data).

    Args:
        shards: one sequence of ``(key, input, target)`` per shard.
        names: printable shard names (default ``'shard-<i>'``).
    """

    def __init__(self, shards: Sequence[Sequence[tuple[str, Any, Any]]], names: Sequence[str] | None = None):
        self.shards = [list(s) for s in shards]
        self.shard_lengths = [len(s) for s in self.shards]
        self.names = list(names) if names is not None else [f"shard-{i}" for i in range(len(self.shards))]

    def shard_name(self, index: int) -> str:
        return self.names[index]

    def iter_shard(self, index: int, start: int = 0) -> Iterator[tuple[str, Any, Any]]:
        yield from self.shards[index][start:]
