"""``ShardStream``: exact, seeded, resumable streaming of any :class:`ShardSource` over ranks and workers.

It composes small stages, each a generator:

1. the epoch plan (:class:`~pixelpipe.streaming.plan.EpochPlan`) picks this ``(rank, worker)``'s runs of
   shard samples (shard order from the common ``seed`` and the epoch, equal counts per rank);
2. :meth:`ShardStream.read_segments` reads them from the source as :class:`Record` s, turning read
   failures into per-sample errors so counts never change;
3. training: :func:`~pixelpipe.streaming.shuffle.shuffle_buffer` mixes the encoded records with a
   generator seeded from ``(seed, epoch, global worker)``;
4. on resume, the records already delivered are dropped (without decoding).

The epoch lives in shared memory (a ``torch`` shared tensor created with the stream), so
``set_epoch`` in the main process reaches persistent DataLoader workers. Call ``set_epoch(epoch)`` before
each epoch; without it every pass repeats epoch 0's order.

Resuming: ``state_dict(num_batches)`` records the epoch and how many samples of each worker's stream
the loader has delivered; because every stream is a pure function of the plan, a new process that calls
``load_state_dict`` (before iterating) gets exactly the rest of the epoch. The world size and
``num_workers`` must be the same as when the state was saved.

Example:
    >>> from pixelpipe.streaming import ListShardSource, ShardStream
    >>> src = ListShardSource([[(f'k{i}', i, i) for i in range(5)], [(f'm{i}', 10 + i, 0) for i in range(3)]])
    >>> s = ShardStream(src, rank=0, world_size=2)
    >>> len(s), [x for x, _ in s]
    (4, [0, 1, 2, 3])
    >>> ShardStream(src, rank=1, world_size=2).state_dict()['consumed']
    [0]
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from itertools import islice
from typing import Any

import torch
from torch.utils.data import get_worker_info

from .._checks import check_int
from ..errors import ConfigError, SampleError
from ..readers.base import Reader
from ..rng import new_rng
from .plan import EpochPlan, Segment, resolve_rank_world
from .shuffle import shuffle_buffer
from .source import Record, ShardSource

__all__ = ["ShardStream", "consumed_per_worker"]

_MAX_WORKERS = 256
_BUFFER_TAG = 0x62756666  # keeps the shuffle-buffer streams apart from the shard-order stream
_STATE_VERSION = 1


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name)
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"environment variable {name}={text!r} is not an integer") from None


def consumed_per_worker(
    worker_counts: tuple[int, ...] | list[int], batch_size: int, drop_last: bool, num_batches: int
) -> list[int]:
    """How many samples of each worker's stream the first ``num_batches`` loader batches hold.

    A ``DataLoader`` over an iterable dataset takes batches from its workers in turn (worker 0, 1, ...,
    0, 1, ...); a worker whose stream is exhausted drops out of the rotation; with ``drop_last`` each
    worker's final partial batch is dropped. Given each worker's sample count this order is fixed.

    Example:
        >>> consumed_per_worker((5, 4), batch_size=2, drop_last=False, num_batches=3)
        [4, 2]
    """
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    sizes = []
    for c in worker_counts:
        full, rem = divmod(c, batch_size)
        sizes.append([batch_size] * full + ([rem] if rem and not drop_last else []))
    order = [
        (w, s[k]) for k in range(max(map(len, sizes), default=0)) for w, s in enumerate(sizes) if k < len(s)
    ]
    if not 0 <= num_batches <= len(order):
        raise ConfigError(
            f"num_batches must be in [0, {len(order)}] (batches in this epoch), got {num_batches}"
        )
    out = [0] * len(worker_counts)
    for w, n in order[:num_batches]:
        out[w] += n
    return out


class ShardStream(Reader):
    """An iterable reader over a :class:`ShardSource` with exact sharding, shuffling and resume.

    Args:
        source: the shards.
        is_training: shuffle shards (common seed + epoch) and samples (buffer), and round each worker's
            count up to a multiple of ``batch_size``.
        batch_size: batch size (see the padding rule in :mod:`pixelpipe.streaming.plan`); a loader batch
            size given to :meth:`set_loader_cfg` replaces it.
        num_samples: samples per epoch before padding (default: all); ``repeats`` multiplies it.
        seed: common seed; must be the same on every rank.
        repeats: repeat the data this many times per epoch (``0`` and ``1``: once); an int, or a float
            with an integral value (``2.0``, as timm's ``--epoch-repeats`` passes it).
        shuffle_size: shuffle buffer size in records (default ``WDS_SHUFFLE_SIZE`` or 8192; ``0``: off).
        initial_size: records buffered before the first is emitted (default ``WDS_INITIAL_SIZE`` or 2048).
        rank: this rank (default: ``torch.distributed``, then ``RANK``, then 0).
        world_size: number of ranks (default: ``torch.distributed``, then ``WORLD_SIZE``, then 1).

    Attributes:
        rank, world_size: as resolved at construction.
    """

    def __init__(
        self,
        source: ShardSource,
        *,
        is_training: bool = False,
        batch_size: int = 1,
        num_samples: int | None = None,
        seed: int = 42,
        repeats: int = 0,
        shuffle_size: int | None = None,
        initial_size: int | None = None,
        rank: int | None = None,
        world_size: int | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(source, ShardSource):
            raise ConfigError(
                f"source must implement ShardSource (shard_lengths, shard_name, iter_shard), got {source!r}"
            )
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch_size must be an int >= 1, got {batch_size!r}")
        # timm's train.py passes --epoch-repeats, a float (default 0.): integral floats count as ints
        repeats = check_int(repeats, "repeats", type(self).__name__, lo=0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"seed must be an int, got {seed!r}")
        self.source = source
        self.is_training = bool(is_training)
        self.batch_size = batch_size
        self.num_samples = num_samples
        self.seed = seed
        self.repeats = repeats
        self.shuffle_size = _env_int("WDS_SHUFFLE_SIZE", 8192) if shuffle_size is None else int(shuffle_size)
        self.initial_size = _env_int("WDS_INITIAL_SIZE", 2048) if initial_size is None else int(initial_size)
        if self.shuffle_size < 0 or self.initial_size < 0:
            raise ConfigError(f"shuffle sizes must be >= 0, got {self.shuffle_size}, {self.initial_size}")
        self.rank, self.world_size = resolve_rank_world(rank, world_size)
        self.num_workers = 0
        self.loader_batch_size: int | None = None
        self.drop_last: bool | None = None
        # [epoch, resume epoch (-1: none), resume offset of worker 0, 1, ...] in shared memory
        self._shared = torch.zeros(2 + _MAX_WORKERS, dtype=torch.int64).share_memory_()
        self._shared[1] = -1
        self._base: list[int] | None = None  # resume offsets of the current epoch (main process)
        self._yielded = 0  # records delivered by the current pass in this process
        self._plans: dict[tuple[int, int], EpochPlan] = {}
        self.plan(0)  # validate the source now (no samples -> ConfigError at construction)

    # -- configuration --------------------------------------------------------------------------------
    @property
    def epoch(self) -> int:
        """The epoch the next pass streams (shared with DataLoader workers)."""
        return int(self._shared[0])

    def set_epoch(self, epoch: int) -> None:
        """Stream epoch ``epoch`` on the next pass (reaches persistent workers through shared memory)."""
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ConfigError(f"set_epoch: epoch must be an int >= 0, got {epoch!r}")
        self._shared[0] = epoch
        if int(self._shared[1]) != epoch:
            self._shared[1] = -1
            self._base = None

    def set_loader_cfg(
        self, num_workers: int | None = None, batch_size: int | None = None, drop_last: bool | None = None
    ) -> None:
        """Tell the stream how the DataLoader runs it (call before the loader starts its workers).

        Args:
            num_workers: DataLoader workers (``0``: the main process). Sets ``__len__`` and the plan.
            batch_size: the loader's batch size (for :meth:`state_dict`; default the stream's).
            drop_last: whether the loader drops each worker's partial last batch (for :meth:`state_dict`).
        """
        if num_workers is not None:
            if (
                isinstance(num_workers, bool)
                or not isinstance(num_workers, int)
                or not 0 <= num_workers <= _MAX_WORKERS
            ):
                raise ConfigError(f"num_workers must be an int in [0, {_MAX_WORKERS}], got {num_workers!r}")
            self.num_workers = num_workers
        if batch_size is not None:
            if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
                raise ConfigError(f"batch_size must be an int >= 1, got {batch_size!r}")
            self.loader_batch_size = batch_size
        self._plans.clear()
        if drop_last is not None:
            self.drop_last = bool(drop_last)

    def plan(self, epoch: int | None = None, num_workers: int | None = None) -> EpochPlan:
        """The :class:`EpochPlan` of ``epoch`` (default: the current one) for ``num_workers`` workers."""
        epoch = self.epoch if epoch is None else epoch
        workers = max(1, self.num_workers if num_workers is None else num_workers)
        key = (epoch, workers)
        if key not in self._plans:
            total = self.num_samples if self.num_samples is not None else sum(self.source.shard_lengths)
            if len(self._plans) > 8:
                self._plans.clear()
            self._plans[key] = EpochPlan(
                self.source.shard_lengths,
                seed=self.seed,
                epoch=epoch,
                world_size=self.world_size,
                num_workers=workers,
                shuffle=self.is_training,
                num_samples=total * max(1, self.repeats),
                batch_size=self.loader_batch_size or self.batch_size,
                pad_to_batch=self.is_training,
            )
        return self._plans[key]

    def __len__(self) -> int:
        """Samples this rank yields per epoch (the same on every rank)."""
        return self.plan().per_rank

    # -- reading --------------------------------------------------------------------------------------
    def read_segments(self, segments: list[Segment]) -> Iterator[Record]:
        """Records of ``segments``, exactly ``stop - start`` per segment (read failures become errors)."""
        for seg in segments:
            name = self.source.shard_name(seg.shard)
            want, got, error = seg.stop - seg.start, 0, None
            it = self.source.iter_shard(seg.shard, seg.start)
            try:
                for key, value, target in it:
                    if got >= want:
                        break
                    yield Record(str(key), value, target, name, seg.position + got)
                    got += 1
            except Exception as e:  # an unreadable shard: one error per sample still owed
                error = e
            finally:
                close = getattr(it, "close", None)
                if close is not None:
                    close()
            for i in range(got, want):
                why = (
                    f"{type(error).__name__}: {error}"
                    if error
                    else f"the shard ended after {seg.start + got} samples"
                )
                err = SampleError(
                    f"cannot read sample {seg.start + i} of shard {name!r}: {why}",
                    filename=f"{name}/#{seg.start + i}",
                )
                if error is not None:
                    err.__cause__ = error
                yield Record(f"#{seg.start + i}", err, None, name, seg.position + i)

    def _worker(self) -> tuple[int, int]:
        info = get_worker_info()
        return (0, 1) if info is None else (info.id, info.num_workers)

    def iter_records(self) -> Iterator[Record]:
        """This process's records for the current epoch (call inside the DataLoader worker)."""
        worker, num_workers = self._worker()
        epoch = self.epoch
        plan = self.plan(epoch, num_workers)
        skip = 0
        if int(self._shared[1]) == epoch and worker < _MAX_WORKERS:
            skip = int(self._shared[2 + worker])
            self._shared[2 + worker] = 0  # resume once; this worker owns its slot
        global_worker = self.rank * plan.num_workers + worker
        buffered = self.is_training and self.shuffle_size > 1
        if buffered:
            rng = new_rng(self.seed, epoch, global_worker, _BUFFER_TAG)
            records = shuffle_buffer(
                self.read_segments(plan.segments(self.rank, worker)),
                self.shuffle_size,
                self.initial_size,
                rng,
            )
            records = islice(records, skip, None)
        else:
            records = self.read_segments(plan.segments(self.rank, worker, skip=skip))
        self._yielded = skip
        for rec in records:
            self._yielded += 1
            yield rec

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        """``(input, target)`` pairs, inputs still encoded (``IterableImageDataset`` decodes them)."""
        for rec in self.iter_records():
            yield rec.input, rec.target

    # -- resume ---------------------------------------------------------------------------------------
    def state_dict(self, num_batches: int | None = None) -> dict[str, Any]:
        """The position in the current epoch, for :meth:`load_state_dict` in a new process.

        Args:
            num_batches: batches this rank's DataLoader has delivered in the current pass. May be omitted
                with ``num_workers=0`` (the stream then counts records itself; a device prefetcher that
                reads one batch ahead makes that count one batch too high, so pass it there too).

        Raises:
            ConfigError: ``num_batches`` missing with worker processes, or out of range.
        """
        plan = self.plan()
        base = self._base or [0] * plan.num_workers
        if num_batches is None:
            if self.num_workers > 0:
                raise ConfigError(
                    "state_dict: with DataLoader workers pass num_batches (batches delivered this epoch)"
                )
            consumed = [self._yielded]
        else:
            remaining = tuple(c - b for c, b in zip(plan.worker_counts, base, strict=True))
            batch = self.loader_batch_size or self.batch_size
            drop = self.is_training if self.drop_last is None else self.drop_last
            more = consumed_per_worker(remaining, batch, drop, num_batches)
            consumed = [b + m for b, m in zip(base, more, strict=True)]
        return {
            "version": _STATE_VERSION,
            "epoch": self.epoch,
            "seed": self.seed,
            "world_size": self.world_size,
            "num_workers": self.num_workers,
            "per_rank": plan.per_rank,
            "consumed": consumed,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Resume: the next pass streams the rest of ``state['epoch']`` (call before iterating).

        Raises:
            ConfigError: the state comes from another world size, worker count, seed or plan.
        """
        missing = {"epoch", "seed", "world_size", "num_workers", "per_rank", "consumed"} - set(state)
        if missing:
            raise ConfigError(f"load_state_dict: state lacks {sorted(missing)}")
        for key, mine in (
            ("seed", self.seed),
            ("world_size", self.world_size),
            ("num_workers", self.num_workers),
        ):
            if state[key] != mine:
                raise ConfigError(
                    f"load_state_dict: state was saved with {key}={state[key]!r}, this stream has "
                    f"{key}={mine!r} "
                    "(resuming needs the same seed, world size and num_workers; call set_loader_cfg first)"
                )
        epoch = int(state["epoch"])
        plan = self.plan(epoch)
        consumed = [int(c) for c in state["consumed"]]
        if (
            state["per_rank"] != plan.per_rank
            or len(consumed) != plan.num_workers
            or any(not 0 <= c <= n for c, n in zip(consumed, plan.worker_counts, strict=True))
        ):
            raise ConfigError(
                f"load_state_dict: state {dict(state)!r} does not match this stream's epoch plan"
            )
        self.set_epoch(epoch)
        self._shared[1] = epoch
        self._shared[2 : 2 + len(consumed)] = torch.tensor(consumed, dtype=torch.int64)
        self._base = consumed

    # -- names ----------------------------------------------------------------------------------------
    def _filename(self, index: int, basename: bool = False, absolute: bool = False) -> str:
        raise ConfigError(f"{type(self).__name__} is a stream: samples have no index; use filenames()")

    def filenames(self, basename: bool = False, absolute: bool = False) -> list[str]:
        """Sample keys in shard order (reads every shard once)."""
        segs = [Segment(i, 0, n, 0) for i, n in enumerate(self.source.shard_lengths)]
        return [rec.key for rec in self.read_segments(segs)]

    def __repr__(self) -> str:
        n = len(self.source.shard_lengths)
        return (
            f"{type(self).__name__}(shards={n}, samples={sum(self.source.shard_lengths)}, "
            f"rank={self.rank}, world_size={self.world_size}, is_training={self.is_training})"
        )
