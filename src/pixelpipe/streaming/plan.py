"""The epoch plan: which samples each rank and DataLoader worker reads, as a pure function.

An epoch is planned from ``(shard_lengths, seed, epoch, world_size, num_workers, shuffle, num_samples,
round_to)`` alone, so every rank and worker computes the same plan without talking to the others, a run
is reproducible, and an interrupted epoch can be resumed exactly.

The rule:

1. **Shard order.** Training (``shuffle=True``): a permutation of the shards drawn from
   ``derive_seed(seed, epoch)``, the same on every rank; evaluation: the shards in their given order.
   Concatenating the shards in that order gives the epoch's sample sequence ``S`` of ``N`` samples
   (empty shards contribute nothing).
2. **Length.** The epoch covers ``T = num_samples`` samples of ``S`` (default ``N``): with ``T < N`` the
   tail is trimmed, with ``T > N`` ``S`` is repeated.
3. **Per-rank count, padding rule.** Every rank yields the same number of samples per epoch, so DDP never
   waits on a rank with an extra batch:

   * evaluation: ``per_rank = ceil(T / world_size)``;
   * training (``round_to = batch_size``): ``per_worker = ceil(T / (world_size * num_workers))`` rounded
     up to a multiple of ``batch_size``, and ``per_rank = per_worker * num_workers`` (the reference's
     rule: workers deliver full batches).

   The global sequence has ``world_size * per_rank >= T`` positions; position ``p`` holds sample
   ``S[(p mod T) mod N]``: the sequence is **padded by wrapping around to its start**. So each epoch every
   sample is read at least once, and the padding repeats the first ``world_size * per_rank - T`` samples
   of the (shuffled) sequence.
4. **Split.** Rank ``r`` takes positions ``[r * per_rank, (r + 1) * per_rank)``; its worker ``w`` takes a
   contiguous chunk of that range. Chunk sizes depend only on ``per_rank``, ``num_workers`` and
   ``batch_size``, never on the rank, so every rank produces the same batches per worker. In evaluation
   the rank's ``ceil(per_rank / batch_size)`` batches are dealt to the workers in turn (worker ``w`` gets
   whole batches; the one partial batch, if any, goes to the worker whose turn comes next), so a
   DataLoader, which takes batches from its workers in turn, delivers exactly that many batches.
   Contiguous chunks mean a worker reads a run of whole shards (plus the ends of at most two), whatever
   the number of shards: fewer shards than workers simply split shards between workers.

Example:
    >>> plan = EpochPlan([3, 0, 5], seed=0, epoch=0, world_size=2, num_workers=2)
    >>> plan.per_rank, plan.worker_counts
    (4, (2, 2))
    >>> [tuple(s) for s in plan.segments(rank=1, worker=0)]
    [(2, 1, 3, 4)]
    >>> EpochPlan([11], seed=0, epoch=0, num_workers=2, batch_size=4).worker_counts
    (7, 4)
    >>> EpochPlan([11], seed=0, epoch=0, num_workers=2, batch_size=4, pad_to_batch=True).worker_counts
    (8, 8)
    >>> sorted(p for r in range(2) for w in range(2) for p in plan.positions(r, w)) == list(range(8))
    True
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from ..errors import ConfigError
from ..rng import new_rng

__all__ = ["EpochPlan", "Segment", "resolve_rank_world", "shard_order"]

_SHARD_ORDER_TAG = 0x7368617264  # keeps the shard-order stream apart from other streams of (seed, epoch)


class Segment(NamedTuple):
    """A run of consecutive samples of one shard: ``shard``'s samples ``start .. stop - 1``.

    ``position`` is the global position of the run's first sample (see :class:`EpochPlan`).
    """

    shard: int
    start: int
    stop: int
    position: int


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def shard_order(num_shards: int, seed: int, epoch: int, shuffle: bool) -> np.ndarray:
    """The epoch's shard order: a permutation from ``(seed, epoch)`` when ``shuffle``, else ``0..n-1``.

    Example:
        >>> shard_order(4, seed=1, epoch=0, shuffle=False).tolist()
        [0, 1, 2, 3]
        >>> a = shard_order(50, 1, 0, True); b = shard_order(50, 1, 1, True)
        >>> sorted(a.tolist()) == list(range(50)), bool((a != b).any())
        (True, True)
        >>> bool((a == shard_order(50, 1, 0, True)).all())
        True
    """
    if not shuffle:
        return np.arange(num_shards, dtype=np.int64)
    return new_rng(seed, epoch, _SHARD_ORDER_TAG).permutation(num_shards).astype(np.int64)


def resolve_rank_world(rank: int | None = None, world_size: int | None = None) -> tuple[int, int]:
    """``(rank, world_size)``: explicit arguments first, then ``torch.distributed``, then the environment.

    Each value comes from the first of: the argument; ``torch.distributed`` when it is initialised;
    the ``RANK`` / ``WORLD_SIZE`` environment variables (set by ``torchrun``); ``0`` / ``1``.

    Raises:
        ConfigError: a value is not an int, or ``rank`` is not in ``[0, world_size)``.

    Example:
        >>> resolve_rank_world(1, 4)
        (1, 4)
    """
    dist_rank = dist_world = None
    if rank is None or world_size is None:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist_rank, dist_world = dist.get_rank(), dist.get_world_size()

    def pick(arg: int | None, from_dist: int | None, env: str, default: int) -> int:
        if arg is not None:
            return _check_int(env.lower(), arg, 0)
        if from_dist is not None:
            return from_dist
        text = os.environ.get(env)
        if text is None or not text.strip():
            return default
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"environment variable {env}={text!r} is not an integer") from None

    r, w = pick(rank, dist_rank, "RANK", 0), pick(world_size, dist_world, "WORLD_SIZE", 1)
    if w < 1 or not 0 <= r < w:
        raise ConfigError(f"rank must be in [0, world_size); got rank={r}, world_size={w}")
    return r, w


@dataclass(frozen=True)
class EpochPlan:
    """The samples of one epoch for every ``(rank, worker)``; see the module docs for the rule.

    Args:
        shard_lengths: samples per shard (the sum must be > 0).
        seed: common seed (the same on every rank).
        epoch: epoch number.
        world_size: number of ranks.
        num_workers: DataLoader workers per rank (``0`` counts as ``1``: the main process).
        shuffle: shuffle the shard order (training).
        num_samples: samples per epoch before padding (default: all).
        batch_size: the loader's batch size (worker chunks are whole batches).
        pad_to_batch: training rule: round each worker's count up to a multiple of ``batch_size``.

    Attributes:
        order: the shard order.
        per_rank: samples each rank yields this epoch.
        worker_counts: samples each worker of a rank yields (the same on every rank).
    """

    shard_lengths: Sequence[int]
    seed: int
    epoch: int
    world_size: int = 1
    num_workers: int = 1
    shuffle: bool = False
    num_samples: int | None = None
    batch_size: int = 1
    pad_to_batch: bool = False
    order: np.ndarray = field(init=False, repr=False, compare=False)
    per_rank: int = field(init=False)
    worker_counts: tuple[int, ...] = field(init=False)
    _starts: list[int] = field(init=False, repr=False, compare=False)  # first position of each ordered shard
    _total: int = field(init=False, repr=False, compare=False)
    _total_data: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        lengths = tuple(_check_int(f"shard_lengths[{i}]", n, 0) for i, n in enumerate(self.shard_lengths))
        object.__setattr__(self, "shard_lengths", lengths)
        _check_int("epoch", self.epoch, 0)
        world = _check_int("world_size", self.world_size, 1)
        workers = max(1, _check_int("num_workers", self.num_workers, 0))
        object.__setattr__(self, "num_workers", workers)
        total_data = sum(lengths)
        if total_data == 0:
            raise ConfigError(f"the stream has no samples ({len(lengths)} shards, all empty)")
        total = total_data if self.num_samples is None else _check_int("num_samples", self.num_samples, 1)
        batch = _check_int("batch_size", self.batch_size, 1)
        if self.pad_to_batch:
            per_worker = -(-total // (world * workers))
            per_worker = -(-per_worker // batch) * batch
            per_rank, counts = per_worker * workers, (per_worker,) * workers
        else:
            per_rank = -(-total // world)
            full, rest = divmod(per_rank, batch)
            counts_list = [(full // workers + (w < full % workers)) * batch for w in range(workers)]
            counts_list[full % workers] += rest
            counts = tuple(counts_list)
        object.__setattr__(self, "per_rank", per_rank)
        object.__setattr__(self, "worker_counts", counts)
        object.__setattr__(self, "order", shard_order(len(lengths), self.seed, self.epoch, self.shuffle))
        ordered = np.asarray(lengths, dtype=np.int64)[self.order]
        object.__setattr__(self, "_starts", np.concatenate([[0], np.cumsum(ordered)]).tolist())
        object.__setattr__(self, "_total", total)
        object.__setattr__(self, "_total_data", total_data)

    @property
    def total(self) -> int:
        """Samples per epoch before padding (``num_samples`` or the sum of the shard lengths)."""
        return self._total

    def worker_range(self, rank: int, worker: int) -> tuple[int, int]:
        """The global positions ``[start, stop)`` of ``(rank, worker)``."""
        if not 0 <= rank < self.world_size or not 0 <= worker < self.num_workers:
            raise ConfigError(
                f"(rank, worker) = ({rank}, {worker}) outside world_size={self.world_size}, "
                f"num_workers={self.num_workers}"
            )
        start = rank * self.per_rank + sum(self.worker_counts[:worker])
        return start, start + self.worker_counts[worker]

    def segments(self, rank: int, worker: int, skip: int = 0) -> list[Segment]:
        """The runs of shard samples ``(rank, worker)`` reads, in order, after its first ``skip`` samples."""
        start, stop = self.worker_range(rank, worker)
        return self._segments(min(start + max(0, skip), stop), stop)

    def span(self, start: int, stop: int) -> list[Segment]:
        """The runs of shard samples at global positions ``[start, stop)`` (any rank or worker)."""
        return self._segments(start, stop)

    def _segments(self, p: int, stop: int) -> list[Segment]:
        starts = self._starts
        total, total_data = self.total, self._total_data
        out: list[Segment] = []
        while p < stop:
            d = (p % total) % total_data  # data index in this epoch's shard order
            run = min(stop - p, total - p % total, total_data - d)
            while run > 0:
                k = bisect.bisect_right(starts, d) - 1  # position of the shard in the order
                offset = d - starts[k]
                n = min(run, starts[k + 1] - d)
                out.append(Segment(int(self.order[k]), offset, offset + n, p))
                p, d, run = p + n, d + n, run - n
        return out

    def positions(self, rank: int, worker: int) -> Iterator[int]:
        """The global positions of ``(rank, worker)`` (before any shuffle buffer)."""
        return iter(range(*self.worker_range(rank, worker)))

    def sample_ids(self, rank: int, worker: int) -> list[tuple[int, int]]:
        """``(shard, offset)`` of every sample ``(rank, worker)`` reads, in plan order (for tests, tools)."""
        return [(s.shard, i) for s in self.segments(rank, worker) for i in range(s.start, s.stop)]
