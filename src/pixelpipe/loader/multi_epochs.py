"""A DataLoader that keeps one iterator (and its workers) alive across epochs.

Follows the reference's ``MultiEpochsDataLoader`` (REFERENCE §9.5, from timm issues #140/#212): the
sampler is wrapped in an endless repeat, one iterator is created on the first pass, and every pass takes
``len(loader)`` batches from it. Batches of the next epoch are prefetched while the current one ends, so
an epoch that is not consumed to the end carries its remainder into the next, and ``set_epoch`` takes
effect only after the batches already prefetched (as in the reference). With per-sample seeding
(:class:`~pixelpipe.loader.SeededSampler`) every repeat of the sampler is a new epoch. Where the
reference replaces the sampler by resetting a private DataLoader flag, this class builds the repeating
batch sampler before handing it to ``DataLoader``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler

from ..errors import ConfigError

__all__ = ["MultiEpochsDataLoader", "RepeatSampler"]


class RepeatSampler:
    """Iterate ``sampler`` again and again, forever; ``set_epoch`` is forwarded to it."""

    def __init__(self, sampler: Iterable[Any]) -> None:
        self.sampler = sampler

    def set_epoch(self, epoch: int) -> None:
        setter = getattr(self.sampler, "set_epoch", None)
        if setter is not None:
            setter(epoch)

    def __iter__(self) -> Iterator[Any]:
        while True:
            yield from iter(self.sampler)


class MultiEpochsDataLoader(DataLoader):
    """``DataLoader`` whose worker processes and prefetch queue live across epochs.

    Takes ``DataLoader``'s arguments. ``batch_size=None`` (no batching) is not supported.

    Example:
        >>> loader = MultiEpochsDataLoader(list(range(5)), batch_size=2)
        >>> [b.tolist() for b in loader], [b.tolist() for b in loader]
        ([[0, 1], [2, 3], [4]], [[0, 1], [2, 3], [4]])
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Any = None,
        batch_sampler: Any = None,
        drop_last: bool = False,
        **kwargs: Any,
    ) -> None:
        if batch_sampler is None:
            if batch_size is None:
                raise ConfigError("MultiEpochsDataLoader: batch_size=None (no batching) is not supported.")
            if sampler is None:
                sampler = RandomSampler(dataset) if shuffle else SequentialSampler(dataset)
            elif shuffle:
                raise ConfigError("MultiEpochsDataLoader: give either sampler or shuffle=True, not both.")
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self._batches_per_epoch = len(batch_sampler)
        self._epoch_sampler = batch_sampler
        super().__init__(dataset, batch_sampler=RepeatSampler(batch_sampler), **kwargs)
        # DataLoader fills ``sampler`` with a placeholder when given a batch sampler; expose the real one
        # (``loader.sampler.set_epoch(e)`` must reach it). DataLoader forbids the assignment, hence object's.
        object.__setattr__(self, "sampler", getattr(batch_sampler, "sampler", self.sampler))
        self._iterator = None  # DataLoader's own slot: the one iterator kept across epochs

    def __len__(self) -> int:
        return self._batches_per_epoch

    def __iter__(self) -> Iterator[Any]:  # type: ignore[override]  # one epoch of the kept iterator, not a new one
        if self._iterator is None:
            self._iterator = super().__iter__()
        for _ in range(len(self)):
            yield next(self._iterator)
