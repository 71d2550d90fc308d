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
``load_state_dict`` (before iterating) gets exactly the rest of the epoch. With the same world size,
``num_workers``, batch size and shuffle buffer the rest is what the uninterrupted run would have read;
with others (**elastic resume**: any rank's state loads on every rank of a world of any size) the rest
of the epoch holds each not-yet-consumed sample once, plus the padding of
:mod:`~pixelpipe.streaming.resume`. The state is a small JSON-serialisable dict.

Reading: consecutive runs of one shard are read in one pass, and while a shard is read the next one is
prefetched when the source can (``source.prefetch(index)``: remote shards with a cache).

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
from dataclasses import replace
from itertools import islice
from typing import Any

import torch
from torch.utils.data import get_worker_info

from .._checks import check_int
from ..base.reader import Reader
from ..errors import ConfigError, SampleError
from .plan import EpochPlan, Segment, resolve_rank_world
from .resume import EpochRest, Generation, buffer_rng
from .shuffle import shuffle_buffer
from .source import Record, ShardSource

__all__ = ["ShardReadError", "ShardStream", "consumed_per_worker"]

_MAX_WORKERS = 256
_STATE_VERSION = 2
# shared memory: [epoch, resume epoch, offsets of workers 0.., pending flags of workers 0.., generation, id]
_OFFSETS, _PENDING = 2, 2 + _MAX_WORKERS
_GEN, _IDENT = 2 + 2 * _MAX_WORKERS, 3 + 2 * _MAX_WORKERS


class ShardReadError(SampleError):
    """A sample of a shard that could not be fetched or read; the message names the shard (its URL).

    Every sample a stream still owed from that shard becomes one, so counts stay exact and the dataset's
    ``on_error`` policy applies to each (``'skip'``: all of them counted in the skip report).
    """


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
        # [epoch, resume epoch (-1: none), offsets, pending flags, generation, resume id] in shared memory
        self._shared = torch.zeros(4 + 2 * _MAX_WORKERS, dtype=torch.int64).share_memory_()
        self._shared[1] = -1
        self._resume_gens: list[Generation] | None = None  # the loaded state's generations
        self._closed: list[Generation] = []  # generations before the current one (resumed epoch)
        self._base: list[int] | None = None  # resume offsets of the current generation
        self._rest: EpochRest | None = None  # the rest of the epoch after the closed generations
        self._ident = 0
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
            self._clear_resume()

    def _clear_resume(self) -> None:
        self._shared[1] = -1
        self._shared[_PENDING : _PENDING + _MAX_WORKERS] = 0
        self._resume_gens, self._closed, self._base, self._rest = None, [], None, None

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
        if self._resume_gens is not None and int(self._shared[1]) == self.epoch:
            self._prepare_resume()  # the rest of the epoch is planned for the new configuration

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
        """Records of ``segments``, exactly ``stop - start`` per segment (read failures become errors).

        Consecutive segments of one shard in increasing order are read in one pass over the shard; the
        next shard is prefetched (``source.prefetch``, where the source has it) while one is read.
        """
        groups: list[list[Segment]] = []
        for seg in segments:
            if seg.stop <= seg.start:
                continue
            last = groups[-1][-1] if groups else None
            if last is not None and last.shard == seg.shard and seg.start >= last.stop:
                groups[-1].append(seg)
            else:
                groups.append([seg])
        prefetch = getattr(self.source, "prefetch", None)
        for g, group in enumerate(groups):
            if callable(prefetch):
                nxt = next((h[0].shard for h in groups[g + 1 :] if h[0].shard != group[0].shard), None)
                if nxt is not None:
                    prefetch(nxt)
            yield from self._read_group(group)

    def _read_group(self, group: list[Segment]) -> Iterator[Record]:
        shard = group[0].shard
        name = self.source.shard_name(shard)
        k, offset, error = 0, group[0].start, None  # current segment, next offset to deliver
        read = group[0].start  # samples of the shard read so far
        it = self.source.iter_shard(shard, group[0].start)
        try:
            for n, (key, value, target) in enumerate(it, start=group[0].start):
                read = n + 1
                seg = group[k]
                if n < seg.start:
                    continue
                yield Record(str(key), value, target, name, seg.position + n - seg.start)
                offset = n + 1
                if offset >= seg.stop:
                    k += 1
                    if k == len(group):
                        break
                    offset = group[k].start
        except Exception as e:  # an unreadable shard: one error per sample still owed
            error = e
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()
        for seg in group[k:]:
            for i in range(max(offset, seg.start), seg.stop):
                why = f"{type(error).__name__}: {error}" if error else f"the shard ended after {read} samples"
                err = ShardReadError(
                    f"cannot read sample {i} of shard {name!r}: {why}", filename=f"{name}/#{i}"
                )
                if error is not None:
                    err.__cause__ = error
                yield Record(f"#{i}", err, None, name, seg.position + i - seg.start)

    def _worker(self) -> tuple[int, int]:
        info = get_worker_info()
        return (0, 1) if info is None else (info.id, info.num_workers)

    def iter_records(self) -> Iterator[Record]:
        """This process's records for the current epoch (call inside the DataLoader worker)."""
        worker, num_workers = self._worker()
        epoch = self.epoch
        plan = self.plan(epoch, num_workers)
        skip, rest = 0, None
        if int(self._shared[1]) == epoch and worker < _MAX_WORKERS and int(self._shared[_PENDING + worker]):
            self._shared[_PENDING + worker] = 0  # resume once; this worker owns its slots
            skip = int(self._shared[_OFFSETS + worker])
            if int(self._shared[_GEN]) > 0:
                rest = self._rest
                if rest is None or self._ident != int(self._shared[_IDENT]):
                    raise ConfigError(
                        "load_state_dict: this DataLoader worker started before the state was loaded; call "
                        "load_state_dict before the loader starts its workers (persistent_workers)"
                    )
                if rest.current.num_workers != plan.num_workers:
                    raise ConfigError(
                        f"load_state_dict: the rest of the epoch was planned for {rest.current.num_workers} "
                        f"workers but the loader runs {plan.num_workers}; call "
                        "set_loader_cfg(num_workers=...) "
                        "(create_loader does) before iterating"
                    )
        buffered = self.is_training and self.shuffle_size > 1
        if rest is not None:
            rng = rest.buffer_rng(self.rank, worker)
            segments = rest.segments(self.rank, worker, skip=0 if buffered else skip)
        else:
            rng = buffer_rng(self.seed, epoch, self.rank * plan.num_workers + worker)
            segments = plan.segments(self.rank, worker, skip=0 if buffered else skip)
        records = self.read_segments(segments)
        if buffered:
            records = islice(shuffle_buffer(records, self.shuffle_size, self.initial_size, rng), skip, None)
        self._yielded = skip
        for rec in records:
            self._yielded += 1
            yield rec

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        """``(input, target)`` pairs, inputs still encoded (``IterableImageDataset`` decodes them)."""
        for rec in self.iter_records():
            yield rec.input, rec.target

    # -- resume ---------------------------------------------------------------------------------------
    def _generation(self) -> Generation:
        """This stream's current configuration, as a generation without counts."""
        return Generation(
            world_size=self.world_size,
            num_workers=max(1, self.num_workers),
            batch_size=self.loader_batch_size or self.batch_size,
            drop_last=self.is_training if self.drop_last is None else self.drop_last,
            shuffle_size=self.shuffle_size if self.is_training else 0,
            initial_size=self.initial_size if self.is_training else 0,
        )

    def _total(self) -> int:
        return self.plan().total

    def state_dict(self, num_batches: int | None = None) -> dict[str, Any]:
        """The position in the current epoch, for :meth:`load_state_dict` in a new process.

        In a DDP run every rank's state is the same (ranks step in lockstep), and it loads on every rank
        of a run with any world size and ``num_workers`` (see :mod:`pixelpipe.streaming.resume`).

        Args:
            num_batches: batches this rank's DataLoader has delivered in the current pass. May be omitted
                with ``num_workers=0`` (the stream then counts records itself; a device prefetcher that
                reads one batch ahead makes that count one batch too high, so pass it there too).

        Returns:
            A small JSON-serialisable dict: ``epoch``, ``seed``, the epoch's size, and per generation of
            the epoch its configuration and the records each worker's stream delivered (``consumed``).

        Raises:
            ConfigError: ``num_batches`` missing with worker processes, or out of range.

        Example:
            >>> from pixelpipe.streaming import ListShardSource
            >>> s = ShardStream(ListShardSource([[('a', 0, 0), ('b', 1, 1), ('c', 2, 2)]]))
            >>> it = iter(s); _ = next(it)
            >>> state = s.state_dict()
            >>> state['consumed'], state['generations'][0]['world_size']
            ([1], 1)
            >>> src = ListShardSource([[('a', 0, 0), ('b', 1, 1), ('c', 2, 2)]])
            >>> t = ShardStream(src, rank=1, world_size=2)
            >>> t.load_state_dict(state); [x for x, _ in t]    # rank 1 of 2 ranks reads its half of the rest
            [2]
        """
        plan = self.plan()
        current = self._generation()
        resumed = self._base is not None and int(self._shared[1]) == self.epoch
        closed = self._closed if resumed else []
        rest = self._rest if resumed else None
        counts = rest.worker_counts if rest is not None else plan.worker_counts
        base = self._base if resumed and self._base is not None else [0] * plan.num_workers
        if num_batches is None:
            if self.num_workers > 0:
                raise ConfigError(
                    "state_dict: with DataLoader workers pass num_batches (batches delivered this epoch)"
                )
            consumed = [self._yielded]
        else:
            remaining = tuple(c - b for c, b in zip(counts, base, strict=True))
            more = consumed_per_worker(remaining, current.batch_size, current.drop_last, num_batches)
            consumed = [b + m for b, m in zip(base, more, strict=True)]
        gens = [*closed, replace(current, consumed=tuple(consumed))]
        return {
            "version": _STATE_VERSION,
            "epoch": self.epoch,
            "seed": self.seed,
            "is_training": self.is_training,
            "total": self._total(),
            "shards": [len(self.source.shard_lengths), sum(self.source.shard_lengths)],
            "world_size": self.world_size,
            "num_workers": self.num_workers,
            "per_rank": sum(counts),
            "consumed": consumed,
            "generations": [g.to_json() for g in gens],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Resume: the next pass streams the rest of ``state['epoch']`` (call before iterating).

        The state may come from any rank of a run with another world size, ``num_workers``, batch size or
        shuffle buffer (see :mod:`pixelpipe.streaming.resume`). Call it before the DataLoader starts its
        workers; :meth:`set_loader_cfg` afterwards re-plans the rest for the loader's configuration.

        Raises:
            ConfigError: the state comes from another seed, dataset or mode, or does not fit its plan.
        """
        missing = {"epoch", "seed", "consumed"} - set(state)
        if missing:
            raise ConfigError(f"load_state_dict: state lacks {sorted(missing)}")
        if state["seed"] != self.seed:
            raise ConfigError(
                f"load_state_dict: state was saved with seed={state['seed']!r}, this stream has "
                f"seed={self.seed!r} (resuming needs the same seed)"
            )
        epoch = state["epoch"]
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ConfigError(f"load_state_dict: epoch must be an int >= 0, got {epoch!r}")
        shards = [len(self.source.shard_lengths), sum(self.source.shard_lengths)]
        for key, mine in (
            ("is_training", self.is_training),
            ("total", self.plan(epoch).total),
            ("shards", shards),
        ):
            if key in state and state[key] != mine:
                raise ConfigError(
                    f"load_state_dict: state was saved with {key}={state[key]!r}, this stream has {mine!r} "
                    "(resuming needs the same data, num_samples and is_training)"
                )
        if "generations" in state:
            if not isinstance(state["generations"], list) or not state["generations"]:
                raise ConfigError(
                    f"load_state_dict: generations must be a non-empty list, got {state['generations']!r}"
                )
            gens = [Generation.from_json(g) for g in state["generations"]]
        else:  # version 1: one generation, saved with this stream's batch size and buffer
            missing = {"world_size", "num_workers", "per_rank"} - set(state)
            if missing:
                raise ConfigError(f"load_state_dict: state lacks {sorted(missing)}")
            cur = self._generation()
            data = {**cur.to_json(), "world_size": state["world_size"], "consumed": state["consumed"],
                    "num_workers": max(1, int(state["num_workers"]))}  # fmt: skip
            gens = [Generation.from_json(data)]
            if gens[0].same_run(cur) and state["per_rank"] != self.plan(epoch).per_rank:
                raise ConfigError(
                    f"load_state_dict: state {dict(state)!r} does not match this stream's epoch plan"
                )
        self.set_epoch(epoch)
        self._resume_gens = gens
        self._shared[1] = epoch
        try:
            self._prepare_resume()
        except ConfigError:
            self._clear_resume()
            raise

    def _prepare_resume(self) -> None:
        """Plan the resumed epoch for the current configuration (main process, before workers start)."""
        gens = self._resume_gens or []
        current = self._generation()
        if gens and gens[-1].same_run(current):
            closed, base = gens[:-1], list(gens[-1].consumed)
        else:
            closed, base = gens, [0] * current.num_workers
        epoch = self.epoch
        plan = self.plan(epoch)
        rest = None
        known = self._rest
        if closed and known is not None and known.closed == tuple(closed) and known.epoch == epoch:
            rest = known.replan(current)  # set_loader_cfg after load_state_dict: no second replay
        elif closed:
            rest = EpochRest(
                self.source.shard_lengths, self.seed, epoch, self.is_training, plan.total, closed, current
            )
        counts = rest.worker_counts if rest is not None else plan.worker_counts
        if len(base) != len(counts) or any(not 0 <= c <= n for c, n in zip(base, counts, strict=True)):
            raise ConfigError(
                f"load_state_dict: consumed {base} does not fit this stream's epoch plan "
                f"({list(counts)} per worker)"
            )
        self._closed, self._base, self._rest = list(closed), base, rest
        self._ident = int.from_bytes(os.urandom(7), "little")
        self._shared[_OFFSETS : _OFFSETS + _MAX_WORKERS] = 0
        self._shared[_OFFSETS : _OFFSETS + len(base)] = torch.tensor(base, dtype=torch.int64)
        self._shared[_PENDING : _PENDING + _MAX_WORKERS] = 0
        self._shared[_PENDING : _PENDING + len(base)] = 1
        self._shared[_GEN] = len(closed)
        self._shared[_IDENT] = self._ident

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
