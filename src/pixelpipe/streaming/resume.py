"""Elastic resume: the rest of an interrupted epoch, planned for another number of ranks and workers.

A run reads an epoch in **generations**: stretches with one configuration (world size ``W``, DataLoader
workers ``K``, batch size, ``drop_last``, shuffle buffer). Every rank steps in lockstep (DDP), so after
``k`` loader batches each rank has taken the same number of samples from each of its workers' streams
(:func:`~pixelpipe.streaming.stream.consumed_per_worker`), and because every stream is a pure function of
the plan and the seed, *which* samples those were can be recomputed by any process from a few integers:
the generation's configuration and its per-worker counts. A state saved by **any** rank therefore
describes the whole world's progress.

Resuming with the configuration of the last generation continues it: each worker skips what it had
delivered, and the rest of the epoch is exactly what the uninterrupted run would have delivered. Resuming
with another configuration closes the last generation and starts a new one over the epoch's **rest**:

1. Replay each closed generation: for every ``(rank, worker)``, the first ``consumed[worker]`` records of
   its stream (the plan's positions, through the same seeded shuffle buffer; no data is read) are marked
   as consumed. A padding position stands for the sample it repeats.
2. The rest is the epoch's positions ``0 .. T - 1`` (``T`` samples per epoch before padding) not
   consumed, in increasing order: ``M`` positions, mostly long runs of whole shards.
3. The new generation plans the rest like an epoch of ``M`` samples in that order (no shard shuffle), with
   the padding rule of :mod:`~pixelpipe.streaming.plan` for the new world: training gives each worker
   ``ceil(M / (W' * K'))`` samples rounded up to whole batches, evaluation gives each rank
   ``ceil(M / W')``; the shortfall wraps to the start of the rest. Each worker shuffles its block in a
   buffer seeded from ``(seed, epoch, global worker, generation)``.

So the rest of the epoch holds every not-yet-consumed sample once, plus at most that padding; samples
keep their position in the epoch (``Record.position``), hence their augmentation; padding positions are
numbered after every position used so far. The next epoch follows the new world's normal plan.

Example: 2 ranks x 2 workers stop after 1 batch of 2; 1 rank x 3 workers reads the rest:
    >>> lengths = [5, 3, 6]
    >>> old = Generation(world_size=2, num_workers=2, batch_size=2, drop_last=True, shuffle_size=0,
    ...                  initial_size=0, consumed=(2, 0))
    >>> new = Generation(world_size=1, num_workers=3, batch_size=2, drop_last=True, shuffle_size=0,
    ...                  initial_size=0)
    >>> rest = EpochRest(lengths, seed=0, epoch=0, shuffle=True, total=14, closed=[old], current=new)
    >>> len(rest.remaining), rest.worker_counts    # 14 - 2 * 2 consumed, 3 workers x 4 (rounded to 2)
    (10, (4, 4, 4))
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from itertools import islice
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..rng import new_rng
from .plan import EpochPlan, Segment
from .shuffle import shuffle_buffer

__all__ = ["EpochRest", "Generation", "buffer_rng"]

BUFFER_TAG = 0x62756666  # keeps the shuffle-buffer streams apart from the shard-order stream


def buffer_rng(seed: int, epoch: int, global_worker: int, generation: int = 0) -> np.random.Generator:
    """The generator of a worker's shuffle buffer (generation 0: the epoch's normal plan)."""
    if generation == 0:
        return new_rng(seed, epoch, global_worker, BUFFER_TAG)
    return new_rng(seed, epoch, global_worker, BUFFER_TAG, generation)


@dataclass(frozen=True)
class Generation:
    """One stretch of an epoch read with one configuration, and how far each worker's stream got.

    Attributes:
        world_size: ranks.
        num_workers: DataLoader workers per rank (``>= 1``; the main process counts as one).
        batch_size: the loader's batch size.
        drop_last: whether the loader drops each worker's partial last batch.
        shuffle_size, initial_size: the shuffle buffer (``<= 1``: none).
        consumed: records delivered from each worker's stream (the same on every rank).
    """

    world_size: int
    num_workers: int
    batch_size: int
    drop_last: bool
    shuffle_size: int
    initial_size: int
    consumed: tuple[int, ...] = field(default=())

    def same_run(self, other: Generation) -> bool:
        """Whether ``other`` has this configuration (its streams continue this one's)."""
        return replace(self, consumed=()) == replace(other, consumed=())

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        out = asdict(self)
        out["consumed"] = list(self.consumed)
        return out

    @classmethod
    def from_json(cls, data: Any) -> Generation:
        """The generation saved by :meth:`to_json`.

        Raises:
            ConfigError: a missing or malformed field.
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"load_state_dict: a generation must be an object, got {data!r}")
        try:
            ints = {k: int(data[k]) for k in ("world_size", "num_workers", "batch_size", "shuffle_size",
                                              "initial_size")}  # fmt: skip
            consumed = tuple(int(c) for c in data["consumed"])
            drop = data["drop_last"]
        except (KeyError, TypeError, ValueError) as e:
            raise ConfigError(f"load_state_dict: malformed generation {data!r}: {e!r}") from None
        if min(ints["world_size"], ints["num_workers"], ints["batch_size"]) < 1 or not isinstance(drop, bool):
            raise ConfigError(f"load_state_dict: malformed generation {data!r}")
        if len(consumed) != ints["num_workers"] or min(consumed, default=0) < 0:
            raise ConfigError(f"load_state_dict: generation {data!r} needs one count >= 0 per worker")
        return cls(drop_last=drop, consumed=consumed, **ints)


def _plan(
    lengths: Sequence[int], seed: int, epoch: int, shuffle: bool, total: int, gen: Generation
) -> EpochPlan:
    return EpochPlan(
        lengths,
        seed=seed,
        epoch=epoch,
        world_size=gen.world_size,
        num_workers=gen.num_workers,
        shuffle=shuffle,
        num_samples=total,
        batch_size=gen.batch_size,
        pad_to_batch=shuffle,
    )


def _first(
    a: int, b: int, count: int, buffered: bool, gen: Generation, rng: np.random.Generator
) -> np.ndarray:
    """The first ``count`` plan positions a worker's stream over ``[a, b)`` delivered."""
    if not buffered or gen.shuffle_size <= 1:
        return np.arange(a, a + count, dtype=np.int64)
    order = shuffle_buffer(range(a, b), gen.shuffle_size, gen.initial_size, rng)
    return np.fromiter(islice(order, count), dtype=np.int64, count=count)


class EpochRest:
    """The epoch's positions not consumed by the ``closed`` generations, planned for ``current``.

    Args:
        shard_lengths, seed, epoch, shuffle, total: the epoch (as :class:`~pixelpipe.streaming.EpochPlan`
            takes them; ``total``: samples per epoch before padding).
        closed: the generations read so far, oldest first (at least one).
        current: the configuration that reads the rest (its ``consumed`` is ignored).

    Attributes:
        remaining: the rest, as sorted positions of the epoch (``int64`` array).
        plan: the plan of the rest (one "shard" of ``len(remaining)`` samples); ``None`` when nothing is left.
        worker_counts, per_rank: what each worker / rank reads of the rest.
        generation: the current generation's index (``len(closed)``).
        space: positions below this are taken; padding positions of the rest are numbered from it.

    Raises:
        ConfigError: a closed generation's counts do not fit its plan.
    """

    def __init__(
        self,
        shard_lengths: Sequence[int],
        seed: int,
        epoch: int,
        shuffle: bool,
        total: int,
        closed: Sequence[Generation],
        current: Generation,
    ) -> None:
        if not closed:
            raise ConfigError("EpochRest needs at least one closed generation")
        self.seed, self.epoch, self.shuffle, self.total = seed, epoch, shuffle, total
        self.current, self.generation, self.closed = current, len(closed), tuple(closed)
        self.units = EpochPlan(shard_lengths, seed=seed, epoch=epoch, shuffle=shuffle, num_samples=total)
        done = np.zeros(total, dtype=bool)
        remaining = np.zeros(0, dtype=np.int64)  # not yet delivered; set after generation 0, read after it
        space = 0
        for g, gen in enumerate(closed):
            if g == 0:
                plan: EpochPlan | None = _plan(shard_lengths, seed, epoch, shuffle, total, gen)
                size = total
            else:
                size = len(remaining)
                plan = self._rest_plan(size, gen)
            counts = plan.worker_counts if plan is not None else (0,) * gen.num_workers
            if len(gen.consumed) != len(counts) or any(
                c > n for c, n in zip(gen.consumed, counts, strict=True)
            ):
                raise ConfigError(
                    f"load_state_dict: generation {g} ({gen.world_size} ranks x {gen.num_workers} workers) "
                    f"consumed {list(gen.consumed)} but its plan holds {list(counts)} per worker"
                )
            if plan is None:
                continue
            for rank in range(gen.world_size):
                for w, c in enumerate(gen.consumed):
                    if c == 0:
                        continue
                    a, b = plan.worker_range(rank, w)
                    rng = buffer_rng(seed, epoch, rank * gen.num_workers + w, g)
                    v = _first(a, b, c, shuffle, gen, rng)
                    done[v % total if g == 0 else remaining[v % size]] = True
            space += gen.world_size * plan.per_rank - (0 if g == 0 else size)
            remaining = np.flatnonzero(~done)
        self.remaining: np.ndarray = remaining
        self.space = space
        self._plan_for(current)

    def _plan_for(self, current: Generation) -> None:
        self.current = current
        self.plan = self._rest_plan(len(self.remaining), current)
        self.worker_counts = self.plan.worker_counts if self.plan else (0,) * current.num_workers
        self.per_rank = sum(self.worker_counts)

    def replan(self, current: Generation) -> EpochRest:
        """The same rest planned for another configuration (the replay is not repeated)."""
        out = copy.copy(self)
        out._plan_for(current)
        return out

    def _rest_plan(self, size: int, gen: Generation) -> EpochPlan | None:
        if size == 0:
            return None
        return EpochPlan(
            [size],
            seed=self.seed,
            epoch=self.epoch,
            world_size=gen.world_size,
            num_workers=gen.num_workers,
            batch_size=gen.batch_size,
            pad_to_batch=self.shuffle,
        )

    def segments(self, rank: int, worker: int, skip: int = 0) -> list[Segment]:
        """The runs of shard samples ``(rank, worker)`` reads of the rest, after its first ``skip``."""
        if self.plan is None:
            return []
        a, b = self.plan.worker_range(rank, worker)
        v = np.arange(min(a + max(0, skip), b), b, dtype=np.int64)
        if not len(v):
            return []
        size = len(self.remaining)
        units = self.remaining[v % size]
        positions = np.where(v < size, units, self.space + v - size)
        breaks = np.flatnonzero((np.diff(units) != 1) | (np.diff(positions) != 1)) + 1
        starts, stops = np.concatenate([[0], breaks]), np.concatenate([breaks, [len(v)]])
        out: list[Segment] = []
        for s, e in zip(starts.tolist(), stops.tolist(), strict=True):
            u, p = int(units[s]), int(positions[s])
            out.extend(
                Segment(x.shard, x.start, x.stop, p + x.position - u) for x in self.units.span(u, u + e - s)
            )
        return out

    def buffer_rng(self, rank: int, worker: int) -> np.random.Generator:
        """The shuffle-buffer generator of ``(rank, worker)`` in this generation."""
        return buffer_rng(self.seed, self.epoch, rank * self.current.num_workers + worker, self.generation)
