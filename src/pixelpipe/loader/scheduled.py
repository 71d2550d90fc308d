"""Scheduled resolution: every batch draws one of several input sizes (and its batch size).

Follows the reference's scheduled sampling (``timm.data.scheduled_sampler``, REFERENCE §9.8), which
``create_loader(input_size_choices=...)`` and timm's ``train.py --train-img-sizes`` use:

* :class:`ScheduledBatchSampler` wraps an index sampler and yields batches of ``(sample, choice)`` pairs:
  all samples of a batch share one choice, i.e. one input size and its batch size.
* :class:`ScheduledTransformDataset` applies ``transforms[choice]`` to the image of ``dataset[sample]``.

The shape schedule (which choice each batch gets, and the batch order) is a pure function of
``(seed, epoch, len(sampler))``, drawn from ``torch.Generator`` s seeded as the reference seeds them, so
the same ``seed`` gives the same sequence of batch shapes as timm on every rank:

* sample-budget mode (``num_batches=None``, constant schedule): one canonical schedule drawn once from
  ``seed`` spends the epoch's samples (a choice is drawn among those whose batch still fits); each epoch
  plays it in the order of ``randperm`` seeded ``seed + 2 * epoch + 1``;
* fixed-batch mode (``num_batches`` given, or a progressive schedule): each epoch draws ``num_batches``
  choices from ``choice_weights_for_epoch(epoch)`` with seed ``seed + 2 * epoch``, cycling the sampler
  when the batches need more samples than one pass holds;
* progressive schedule: a Gaussian window over the choices (width ``schedule_spread`` choices) moves from
  the first choice to the last over ``schedule_epochs`` epochs, mixed with ``schedule_random_mix`` of
  uniform exploration.

Difference from the reference, as everywhere in pixelpipe: the epoch advances by one on every pass (the
reference repeats epoch 0 until ``set_epoch`` is called); ``set_epoch(e)`` chooses it and reaches the
wrapped sampler. With pixelpipe's :class:`~pixelpipe.loader.SeededSampler` inside (as
:func:`~pixelpipe.create_loader` builds it), a second pass over the samples within one epoch gets
its own order and per-sample seeds. Argument errors are :class:`~pixelpipe.errors.ConfigError`.

Example:
    >>> s = ScheduledBatchSampler(range(10), batch_sizes=[4, 2], seed=0, shuffle_schedule=False)
    >>> batches = list(s)
    >>> [len(b) for b in batches] == [s.batch_sizes[c] for c, _ in s.schedule_for_epoch(0)]
    True
    >>> sorted(i for b in batches for i, _ in b) == list(range(sum(len(b) for b in batches)))
    True
    >>> all(len({c for _, c in b}) == 1 for b in batches)  # one choice per batch
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from itertools import islice
from typing import Any

import torch
from torch.utils.data import Dataset, Sampler

from ..errors import ConfigError

__all__ = ["ScheduledBatchSampler", "ScheduledTransformDataset"]

_SCHEDULES = ("constant", "progressive")


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    try:
        return int(value) == value
    except (TypeError, ValueError, OverflowError):
        return False


def _is_real(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


class ScheduledBatchSampler(Sampler[list[tuple[Any, int]]]):
    """Batches of ``(sample, choice)`` pairs, one choice (input size and batch size) per batch.

    Args:
        sampler: the sample sampler (with a length); its items are passed through as the first element of
            each pair.
        batch_sizes: the batch size of each choice.
        choice_weights: base sampling weight of each choice (``None``: uniform); a zero weight never draws
            that choice.
        seed: seed of the shape schedule (shared by every rank).
        drop_last: drop a last partial batch (sample-budget mode) or an incomplete batch.
        shuffle_schedule: play each epoch's schedule in a seeded random order.
        num_batches: a fixed number of batches per epoch (fixed-batch mode); a progressive schedule infers
            it from the expected batch size when ``None``.
        choice_schedule: ``'constant'`` or ``'progressive'``.
        schedule_epochs: epochs over which a progressive schedule moves from the first to the last choice.
        schedule_spread: width (standard deviation, in choices) of the progressive window; ``0`` keeps the
            nearest choice only.
        schedule_random_mix: share of uniform exploration mixed into the progressive weights, in
            ``[0, 1]``.

    Attributes:
        batch_sizes: the batch sizes, as ints.
        choice_weights: the normalised base weights (``float64`` tensor).
        average_batch_size: the expected batch size (averaged over ``schedule_epochs`` when progressive),
            what timm's ``train.py`` scales the learning rate with.
        num_batches: the fixed number of batches per epoch, or ``None`` (sample-budget mode).
        epoch: the epoch of the latest pass (``-1`` before the first).

    Raises:
        ConfigError: an invalid argument, or no full batch fits the sampler.

    Example:
        >>> s = ScheduledBatchSampler(range(20), batch_sizes=[16, 8], num_batches=5, seed=1)
        >>> len(s), s.average_batch_size
        (5, 12.0)
        >>> sorted(len(b) for b in s) == sorted(size for _, size in s.schedule_for_epoch(0))
        True
        >>> sum(len(b) for b in s) > 20  # the second pass (epoch 1) cycles the sampler
        True
        >>> s.epoch
        1
    """

    def __init__(
        self,
        sampler: Sized | Iterable[Any],
        batch_sizes: Sequence[int],
        choice_weights: Sequence[float] | None = None,
        seed: int = 0,
        drop_last: bool = True,
        shuffle_schedule: bool = True,
        num_batches: int | None = None,
        choice_schedule: str = "constant",
        schedule_epochs: int | None = None,
        schedule_spread: float = 0.65,
        schedule_random_mix: float = 0.1,
    ) -> None:
        owner = "ScheduledBatchSampler"
        if not isinstance(sampler, Sized):
            raise ConfigError(f"{owner}: the sampler must have a length, got {type(sampler).__name__}.")
        if len(sampler) <= 0:
            raise ConfigError(f"{owner}: the sampler is empty.")
        if isinstance(batch_sizes, (str, bytes)) or not isinstance(batch_sizes, Sequence) or not batch_sizes:
            raise ConfigError(f"{owner}: batch_sizes must be a non-empty sequence, got {batch_sizes!r}.")
        if not all(_is_int(b) and b > 0 for b in batch_sizes):
            raise ConfigError(f"{owner}: every batch size must be a positive int, got {list(batch_sizes)!r}.")
        if num_batches is not None and not (_is_int(num_batches) and num_batches > 0):
            raise ConfigError(f"{owner}: num_batches must be a positive int or None, got {num_batches!r}.")
        if not _is_int(seed):
            raise ConfigError(f"{owner}: seed must be an int, got {seed!r}.")
        if choice_schedule not in _SCHEDULES:
            raise ConfigError(f"{owner}: choice_schedule must be in {_SCHEDULES}, got {choice_schedule!r}.")
        if choice_schedule == "progressive":
            if len(batch_sizes) < 2:
                raise ConfigError(f"{owner}: a progressive schedule needs at least two choices.")
            if schedule_epochs is None or not (_is_int(schedule_epochs) and schedule_epochs > 0):
                raise ConfigError(
                    f"{owner}: a progressive schedule needs schedule_epochs, a positive int; "
                    f"got {schedule_epochs!r}."
                )
            if not (_is_real(schedule_spread) and schedule_spread >= 0):
                raise ConfigError(f"{owner}: schedule_spread must be a number >= 0, got {schedule_spread!r}.")
            if not (_is_real(schedule_random_mix) and 0 <= schedule_random_mix <= 1):
                raise ConfigError(
                    f"{owner}: schedule_random_mix must be a number in [0, 1], got {schedule_random_mix!r}."
                )
        self.sampler = sampler
        self.batch_sizes = tuple(int(b) for b in batch_sizes)
        self.choice_weights = self._normalize(choice_weights)
        self._active = tuple(i for i, w in enumerate(self.choice_weights.tolist()) if w > 0)
        self.seed = int(seed)
        self.drop_last = bool(drop_last)
        self.shuffle_schedule = bool(shuffle_schedule)
        self.choice_schedule = choice_schedule
        self.schedule_epochs = int(schedule_epochs) if schedule_epochs is not None else None
        self.schedule_spread = float(schedule_spread)
        self.schedule_random_mix = float(schedule_random_mix)
        self.epoch = -1
        self._next_epoch = 0
        self.average_batch_size = self._average_batch_size()
        if num_batches is None and choice_schedule == "progressive":
            num_batches = self._infer_num_batches()
        self.num_batches = int(num_batches) if num_batches is not None else None
        self._budget: tuple[tuple[int, int], ...] = ()
        if self.num_batches is None:
            self._budget = self._sample_budget_schedule()
            if not self._budget:
                raise ConfigError(
                    f"{owner}: no full batch fits the sampler's {len(sampler)} samples "
                    f"(batch sizes {self.batch_sizes}); reduce the batch sizes."
                )

    # -- weights ----------------------------------------------------------------------------------------
    def _normalize(self, weights: Sequence[float] | None) -> torch.Tensor:
        n = len(self.batch_sizes)
        if weights is None:
            return torch.full((n,), 1.0 / n, dtype=torch.float64)
        if isinstance(weights, (str, bytes)) or not isinstance(weights, Sequence) or len(weights) != n:
            raise ConfigError(
                f"ScheduledBatchSampler: choice_weights needs one weight per choice ({n}), got {weights!r}."
            )
        if not all(_is_real(w) and w >= 0 for w in weights) or sum(weights) <= 0:
            raise ConfigError(
                "ScheduledBatchSampler: choice_weights must be finite, non-negative numbers with a positive "
                f"sum, got {list(weights)!r}."
            )
        t = torch.tensor([float(w) for w in weights], dtype=torch.float64)
        return t / t.sum()

    def choice_weights_for_epoch(self, epoch: int) -> torch.Tensor:
        """The normalised choice probabilities of ``epoch`` (the base weights unless progressive).

        Example:
            >>> s = ScheduledBatchSampler(range(8), [2, 2, 2], num_batches=1, choice_schedule='progressive',
            ...                           schedule_epochs=3, schedule_spread=0.0, schedule_random_mix=0.0)
            >>> [s.choice_weights_for_epoch(e).argmax().item() for e in range(3)]
            [0, 1, 2]
        """
        if self.choice_schedule == "constant" or len(self.batch_sizes) == 1:
            return self.choice_weights
        epochs = self.schedule_epochs or 1  # set for progressive schedules (checked in __init__)
        progress = 1.0 if epochs == 1 else min(max(epoch / (epochs - 1), 0.0), 1.0)
        n = len(self.batch_sizes)
        positions = torch.arange(n, dtype=torch.float64)
        centre = progress * (n - 1)
        if self.schedule_spread == 0:
            dist = (positions - centre).abs()
            window = (dist == dist.min()).to(torch.float64)
        else:
            window = torch.exp(-0.5 * ((positions - centre) / self.schedule_spread) ** 2)
        window = window * self.choice_weights
        if window.sum() <= 0:  # the window sits on zero-weight choices only: the nearest active one
            nearest = min(self._active, key=lambda i: abs(i - centre))
            window = torch.zeros_like(self.choice_weights)
            window[nearest] = 1.0
        else:
            window = window / window.sum()
        if self.schedule_random_mix:
            uniform = (self.choice_weights > 0).to(torch.float64)
            uniform = uniform / uniform.sum()
            window = (1.0 - self.schedule_random_mix) * window + self.schedule_random_mix * uniform
        return window / window.sum()

    def _average_batch_size(self) -> float:
        sizes = torch.tensor(self.batch_sizes, dtype=torch.float64)
        if self.choice_schedule == "progressive":
            epochs = range(self.schedule_epochs or 1)
            per_epoch = [torch.dot(self.choice_weights_for_epoch(e), sizes) for e in epochs]
            return float(torch.stack(per_epoch).mean())
        return float(torch.dot(self.choice_weights, sizes))

    def _infer_num_batches(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        if len(set(self.batch_sizes)) == 1:
            size = self.batch_sizes[0]
            num = n // size if self.drop_last else math.ceil(n / size)
        else:
            avg = self.average_batch_size
            num = int(n / avg) if self.drop_last else math.ceil(n / avg)
        if num < 1:
            raise ConfigError(
                f"ScheduledBatchSampler: no full batch fits the sampler's {n} samples "
                f"(average batch size {self.average_batch_size:g}); reduce the batch sizes."
            )
        return num

    # -- schedules --------------------------------------------------------------------------------------
    @staticmethod
    def _draw(gen: torch.Generator, weights: torch.Tensor, among: Sequence[int] | None = None) -> int:
        if among is None:
            return int(torch.multinomial(weights, 1, generator=gen))
        picked = int(torch.multinomial(weights[list(among)], 1, generator=gen))
        return among[picked]

    def _sample_budget_schedule(self) -> tuple[tuple[int, int], ...]:
        gen = torch.Generator().manual_seed(self.seed)
        remaining = len(self.sampler)  # type: ignore[arg-type]
        smallest = min(self.batch_sizes[i] for i in self._active)
        out = []
        while remaining >= smallest:
            fits = [i for i in self._active if self.batch_sizes[i] <= remaining]
            choice = self._draw(gen, self.choice_weights, fits)
            out.append((choice, self.batch_sizes[choice]))
            remaining -= self.batch_sizes[choice]
        if remaining and not self.drop_last:
            out.append((self._draw(gen, self.choice_weights), remaining))
        return tuple(out)

    def schedule_for_epoch(self, epoch: int) -> tuple[tuple[int, int], ...]:
        """``(choice, batch size)`` of every batch of ``epoch``, before the order is shuffled."""
        if self.num_batches is None:
            return self._budget
        gen = torch.Generator().manual_seed(self.seed + 2 * epoch)
        weights = self.choice_weights_for_epoch(epoch)
        choices = [self._draw(gen, weights) for _ in range(self.num_batches)]
        return tuple((c, self.batch_sizes[c]) for c in choices)

    @property
    def schedule(self) -> tuple[tuple[int, int], ...]:
        """The unshuffled schedule of the next pass."""
        return self.schedule_for_epoch(self._next_epoch)

    # -- iteration ----------------------------------------------------------------------------------------
    def set_epoch(self, epoch: int) -> None:
        """Make the next pass epoch ``epoch`` (later passes count on from it); forwarded to the sampler."""
        if not _is_int(epoch) or epoch < 0:
            raise ConfigError(f"ScheduledBatchSampler.set_epoch: epoch must be an int >= 0, got {epoch!r}.")
        self._next_epoch = int(epoch)
        setter = getattr(self.sampler, "set_epoch", None)
        if callable(setter):
            setter(int(epoch))

    def _samples(self) -> Iterator[Any]:
        yield from self.sampler  # type: ignore[misc]
        if self.num_batches is None:
            return
        # fixed-batch mode: cycle the sampler for as long as the batches need samples; a sampler with
        # ``iter_repeat(cycle)`` (SeededSampler) gives each extra pass of the epoch its own order and seeds
        again = getattr(self.sampler, "iter_repeat", None)
        cycle = 1
        while True:
            empty = True
            for s in again(cycle) if callable(again) else self.sampler:  # type: ignore[union-attr]
                empty = False
                yield s
            if empty:
                return
            cycle += 1

    def __iter__(self) -> Iterator[list[tuple[Any, int]]]:
        epoch = self._next_epoch
        self.epoch, self._next_epoch = epoch, epoch + 1
        setter = getattr(self.sampler, "set_epoch", None)
        if callable(setter):
            setter(epoch)
        schedule = self.schedule_for_epoch(epoch)
        if self.shuffle_schedule and len(schedule) > 1:
            gen = torch.Generator().manual_seed(self.seed + 2 * epoch + 1)
            schedule = tuple(schedule[i] for i in torch.randperm(len(schedule), generator=gen).tolist())
        samples = self._samples()
        for choice, size in schedule:
            batch = list(islice(samples, size))
            if len(batch) < size and (self.drop_last or not batch):
                return
            yield [(s, choice) for s in batch]

    def __len__(self) -> int:
        return self.num_batches if self.num_batches is not None else len(self._budget)

    def __repr__(self) -> str:
        mode = f"num_batches={self.num_batches}" if self.num_batches is not None else "sample_budget"
        return (
            f"{type(self).__name__}(batch_sizes={list(self.batch_sizes)}, seed={self.seed}, "
            f"choice_schedule={self.choice_schedule!r}, {mode})"
        )


class ScheduledTransformDataset(Dataset):
    """Apply ``transforms[choice]`` to the image of ``dataset[index]`` for a ``(index, choice)`` key.

    Args:
        dataset: a map-style dataset returning tuples or lists whose first element is the image (its own
            ``transform`` should be ``None``).
        transforms: one transform per choice.

    Raises:
        ConfigError: no transforms.

    Example:
        >>> ds = ScheduledTransformDataset([(1, 'a'), (2, 'b')], [lambda x: x * 10, lambda x: -x])
        >>> ds[(0, 0)], ds[(1, 1)], len(ds)
        ((10, 'a'), (-2, 'b'), 2)
    """

    def __init__(self, dataset: Any, transforms: Sequence[Callable[[Any], Any]]) -> None:
        if isinstance(transforms, (str, bytes)) or not isinstance(transforms, Sequence) or not transforms:
            raise ConfigError(
                f"ScheduledTransformDataset: transforms must be a non-empty sequence, got {transforms!r}."
            )
        self.dataset = dataset
        self.transforms = tuple(transforms)

    def __getitem__(self, key: tuple[Any, int]) -> tuple[Any, ...] | list[Any]:
        index, choice = key
        if not 0 <= choice < len(self.transforms):
            raise IndexError(f"transform choice {choice} out of range for {len(self.transforms)} transforms")
        sample = self.dataset[index]
        if not isinstance(sample, (tuple, list)) or not sample:
            raise TypeError(
                f"ScheduledTransformDataset needs tuple or list samples, got {type(sample).__name__}"
            )
        image = self.transforms[choice](sample[0])
        return (image, *sample[1:]) if isinstance(sample, tuple) else [image, *sample[1:]]

    def __len__(self) -> int:
        return len(self.dataset)

    def set_epoch(self, epoch: int) -> None:
        """Forward to the dataset's ``set_epoch`` when it has one."""
        setter = getattr(self.dataset, "set_epoch", None)
        if callable(setter):
            setter(epoch)

    def filename(self, index: int, basename: bool = False, absolute: bool = False) -> Any:
        """The dataset's name of sample ``index``."""
        return self.dataset.filename(index, basename=basename, absolute=absolute)

    def filenames(self, basename: bool = False, absolute: bool = False) -> Any:
        """The dataset's names of all samples."""
        return self.dataset.filenames(basename=basename, absolute=absolute)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.dataset!r}, {len(self.transforms)} transforms)"
