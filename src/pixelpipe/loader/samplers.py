"""Distributed samplers: ordered evaluation shards and repeated augmentation.

Follows the reference (``timm.data.distributed_sampler``, REFERENCE §9.6-9.7). ``RepeatAugSampler`` is the
repeated-augmentation sampler of DeiT (Touvron et al., "Training data-efficient image transformers &
distillation through attention", 2021) and of Hoffer et al., "Augment your batch" (2020): every sample is
repeated ``num_repeats`` times per epoch and the copies land on different ranks.

Orders are pure functions of ``(seed, epoch, rank, num_replicas)``: the shuffle uses a
``torch.Generator`` seeded with ``seed + epoch``, the same on every rank (``seed=0`` reproduces the
reference, which seeds with the epoch alone). Arguments are validated with
:class:`~pixelpipe.errors.ConfigError` instead of ``assert``. Index arithmetic runs on NumPy arrays, not
Python lists.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sized

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import Sampler

from ..errors import ConfigError

__all__ = ["OrderedDistributedSampler", "RepeatAugSampler"]


def _world(num_replicas: int | None, rank: int | None, who: str) -> tuple[int, int]:
    if num_replicas is None or rank is None:
        if not (dist.is_available() and dist.is_initialized()):
            raise ConfigError(
                f"{who}: num_replicas and rank were not given and torch.distributed is not initialised; "
                "pass num_replicas= and rank= explicitly, or call torch.distributed.init_process_group first."
            )
        num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
        rank = dist.get_rank() if rank is None else rank
    if isinstance(num_replicas, bool) or not isinstance(num_replicas, (int, np.integer)) or num_replicas < 1:
        raise ConfigError(f"{who}: num_replicas must be a positive int, got {num_replicas!r}.")
    if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or not 0 <= rank < num_replicas:
        raise ConfigError(f"{who}: rank must be an int in [0, {num_replicas - 1}], got {rank!r}.")
    return int(num_replicas), int(rank)


def _dataset_len(dataset: Sized, who: str) -> int:
    try:
        return len(dataset)
    except TypeError as e:
        raise ConfigError(f"{who}: the dataset must have a length (a map-style dataset).") from e


class OrderedDistributedSampler(Sampler[int]):
    """Split a dataset across ranks in order, for distributed evaluation.

    Rank ``r`` of ``R`` gets indices ``r, r + R, r + 2R, ...``; the index list is padded by wrapping to the
    start so every rank gets ``ceil(N / R)`` samples. The padded duplicates slightly change metrics
    computed over all ranks; :attr:`num_valid_samples` counts this rank's real samples.

    Args:
        dataset: a sized (map-style) dataset.
        num_replicas: number of ranks (default: the ``torch.distributed`` world size).
        rank: this rank (default: the ``torch.distributed`` rank).

    Example:
        >>> list(OrderedDistributedSampler(range(5), num_replicas=2, rank=1))
        [1, 3, 0]
    """

    def __init__(self, dataset: Sized, num_replicas: int | None = None, rank: int | None = None) -> None:
        self.num_replicas, self.rank = _world(num_replicas, rank, "OrderedDistributedSampler")
        self.dataset = dataset
        n = _dataset_len(dataset, "OrderedDistributedSampler")
        self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if n == 0:
            return iter(())
        return iter((np.arange(self.rank, self.total_size, self.num_replicas) % n).tolist())

    def __len__(self) -> int:
        return self.num_samples

    @property
    def num_valid_samples(self) -> int:
        """This rank's samples that are real data, not padding."""
        n = len(self.dataset)
        return max(0, (n + self.num_replicas - 1 - self.rank) // self.num_replicas)


class RepeatAugSampler(Sampler[int]):
    """Shuffle, repeat each sample ``num_repeats`` times, and deal the copies out across ranks.

    Per epoch: a permutation of the ``N`` indices from a ``torch.Generator`` seeded with ``seed + epoch``
    (or ``0..N-1`` without shuffle); each index repeated ``num_repeats`` times in a row (a non-integer
    ``num_repeats`` resamples ``ceil(num_repeats * N)`` positions); padded by wrapping; rank ``r`` takes
    every ``R``-th entry from ``r``, truncated to :meth:`__len__` samples, which is
    ``floor(N // selected_round * selected_round / selected_ratio)`` (``ceil(N / selected_ratio)`` when
    ``N < selected_round`` or ``selected_round`` is 0), ``selected_ratio`` defaulting to ``R``.

    Args:
        dataset: a sized (map-style) dataset.
        num_replicas: number of ranks (default: the ``torch.distributed`` world size).
        rank: this rank (default: the ``torch.distributed`` rank).
        shuffle: shuffle the indices each epoch.
        num_repeats: copies of each sample per epoch (> 0; may be fractional).
        selected_round: round the per-epoch sample count down to a multiple of this (0: no rounding).
        selected_ratio: divide the dataset size by this to get the per-rank count (0: ``num_replicas``).
        seed: shuffle seed; with ``seed=0`` the order equals the reference's. Must match on every rank.

    Example:
        >>> s = RepeatAugSampler(range(4), num_replicas=1, rank=0, shuffle=False, num_repeats=2)
        >>> list(s)
        [0, 0, 1, 1]
        >>> list(s.iter_keys())
        [(0, 0), (0, 1), (1, 0), (1, 1)]
    """

    def __init__(
        self,
        dataset: Sized,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        num_repeats: float = 3,
        selected_round: int = 256,
        selected_ratio: float = 0,
        seed: int = 0,
    ) -> None:
        self.num_replicas, self.rank = _world(num_replicas, rank, "RepeatAugSampler")
        if isinstance(num_repeats, bool) or not isinstance(num_repeats, (int, float)) or not num_repeats > 0:
            raise ConfigError(f"RepeatAugSampler: num_repeats must be a number > 0, got {num_repeats!r}.")
        if not isinstance(selected_round, int) or selected_round < 0:
            raise ConfigError(
                f"RepeatAugSampler: selected_round must be an int >= 0, got {selected_round!r}."
            )
        if not isinstance(selected_ratio, (int, float)) or selected_ratio < 0:
            raise ConfigError(f"RepeatAugSampler: selected_ratio must be >= 0, got {selected_ratio!r}.")
        self.dataset = dataset
        self.shuffle = bool(shuffle)
        self.num_repeats = num_repeats
        self.seed = int(seed)
        self.epoch = 0
        n = _dataset_len(dataset, "RepeatAugSampler")
        self.num_samples = math.ceil(n * num_repeats / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas
        ratio = selected_ratio or self.num_replicas
        if selected_round and n >= selected_round:
            selected = math.floor(n // selected_round * selected_round / ratio)
        else:
            selected = math.ceil(n / ratio)
        self.num_selected_samples = min(int(selected), self.num_samples)

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order :meth:`__iter__` yields."""
        self.epoch = int(epoch)

    def _positions(self) -> tuple[np.ndarray, np.ndarray]:
        """(index, copy number) of every entry in the repeated, un-split list."""
        n = len(self.dataset)
        if self.shuffle:
            gen = torch.Generator()
            gen.manual_seed(self.seed + self.epoch)
            order = torch.randperm(n, generator=gen).numpy()
        else:
            order = np.arange(n, dtype=np.int64)
        r = self.num_repeats
        if isinstance(r, float) and not r.is_integer():
            src = np.floor_divide(np.arange(math.ceil(r * n), dtype=np.float64), r).astype(np.int64)
        else:
            src = np.repeat(np.arange(n, dtype=np.int64), int(r))
        run_start = np.searchsorted(src, src, side="left")
        return order[src], np.arange(src.size) - run_start

    def iter_keys(self) -> Iterator[tuple[int, int]]:
        """Like :meth:`__iter__`, but yields ``(index, copy)``: which repeat of the sample this entry is.

        The copy number lets per-sample seeding give each repeat its own augmentation, whichever rank
        it lands on.
        """
        indices, copies = self._positions()
        if indices.size == 0:
            return iter(())
        take = np.arange(self.rank, self.total_size, self.num_replicas)[: self.num_selected_samples]
        take %= indices.size
        return zip(indices[take].tolist(), copies[take].tolist())

    def __iter__(self) -> Iterator[int]:
        return (i for i, _ in self.iter_keys())

    def __len__(self) -> int:
        return self.num_selected_samples
