"""Per-sample seeding: the same seed gives the same batches whatever the number of workers.

The reference seeds each DataLoader worker process (``torch``, Python ``random`` and NumPy from the
worker's seed), so a sample's augmentation depends on which worker happens to load it, and changing
``num_workers`` changes every batch. pixelpipe instead gives every *sample* its own random stream, named by
the sample, and makes the stream travel with the index:

1. :class:`SeededSampler` (main process) wraps the index sampler. Each epoch it derives
   ``epoch_seed = derive_seed(seed, epoch)`` from the loader's one ``seed`` (given, or drawn once from
   :func:`pixelpipe.rng.get_rng` when the loader is built, so ``pixelpipe.rng.manual_seed`` before
   ``create_loader`` reproduces a run), shuffles with it when asked, and yields
   :class:`SampleKey` ``(index, seed)`` with ``seed = derive_seed(epoch_seed, index, copy)``. ``copy``
   numbers the repeats of one sample in an epoch (from :meth:`RepeatAugSampler.iter_keys`), so repeated
   augmentation gives every copy its own augmentation on whichever rank it lands.
2. The keys go through the DataLoader's index queues to whichever worker, so persistent workers see every
   new epoch without any shared state. :class:`SeededDataset` (in the worker) runs
   ``dataset[index]`` inside ``pixelpipe.rng.use_rng(seed)``: every draw of pixelpipe's transforms for that
   sample comes from the sample's own generator.
3. :class:`SeededCollate` runs the collate function (e.g. ``FastCollateMixup``) inside a generator derived
   from all the batch's sample seeds, and :class:`~pixelpipe.loader.PrefetchLoader` runs batched random
   erasing inside ``derive_seed(epoch_seed, batch_index)``.

The epoch advances by one on every pass over the sampler; ``set_epoch(e)`` (on the sampler, or on the
:class:`~pixelpipe.loader.PrefetchLoader`) chooses it explicitly and is forwarded to a wrapped distributed
sampler, whose shuffle then changes every epoch even if ``set_epoch`` is never called.

Ranks: with an explicit ``seed`` a sample's augmentation does not depend on the rank or the world size
either (the copies of repeated augmentation differ by their copy number); with ``seed=None`` each rank
draws its own base seed from its own generator, so ranks seeded differently (as the reference's training
script does, issue #1519) augment differently. The distributed samplers' order uses ``seed`` (or 0) on
every rank, as it must agree across ranks.

Only pixelpipe's draws are keyed: a third-party transform that draws from ``torch``'s, NumPy's or Python's
global generator still depends on the worker. Iterable datasets have no indices and are not keyed.

Example:
    >>> s = SeededSampler(range(4), shuffle=True, seed=0)
    >>> first, second = list(s), list(s)
    >>> sorted(k.index for k in first), first == second
    ([0, 1, 2, 3], False)
    >>> s.set_epoch(0)
    >>> list(s) == first
    True
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from typing import Any, NamedTuple

import torch
from torch.utils.data import Dataset, Sampler, get_worker_info

from ..errors import ConfigError
from ..rng import derive_seed, get_rng, new_rng, use_rng

__all__ = [
    "SampleKey",
    "SeededCollate",
    "SeededDataset",
    "SeededSampler",
    "check_worker_seeding",
    "find_seeded_sampler",
    "worker_init",
]

# Tags that keep the streams derived from one epoch seed apart.
_ORDER_TAG = 0x6F72646572
_BATCH_TAG = 0x6261746368
ERASE_TAG = 0x6572617365
_REPEAT_TAG = 0x726570656174


class SampleKey(NamedTuple):
    """A dataset index and the seed of that sample's random stream for this epoch."""

    index: int  # type: ignore[assignment]  # the field shadows tuple.index on purpose: the dataset index
    seed: int


class SeededSampler(Sampler[SampleKey]):
    """Yield :class:`SampleKey` s: the wrapped sampler's indices, each with its own seed.

    Args:
        data_source: the (sized) dataset; used for the length and order when ``sampler`` is ``None``.
        sampler: the index sampler to wrap (e.g. a ``DistributedSampler``); ``None`` iterates
            ``data_source`` in order, or in a fresh permutation every epoch when ``shuffle``.
        shuffle: shuffle when ``sampler`` is ``None`` (the permutation comes from the epoch seed).
        seed: the loader's base seed; ``None`` draws one from :func:`pixelpipe.rng.get_rng` now.

    Attributes:
        seed: the base seed in use.
        epoch: the epoch of the latest pass (``-1`` before the first).
        epoch_seed: ``derive_seed(seed, epoch)`` of the latest pass (``None`` before the first).
    """

    def __init__(
        self,
        data_source: Sized,
        sampler: Sampler[int] | Iterable[int] | None = None,
        *,
        shuffle: bool = False,
        seed: int | None = None,
    ) -> None:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ConfigError(f"seed must be an int or None, got {seed!r}.")
        if sampler is not None and shuffle:
            raise ConfigError("SeededSampler: shuffle=True needs sampler=None (the wrapped sampler orders).")
        self.data_source = data_source
        self.sampler = sampler
        self.shuffle = bool(shuffle)
        self.seed = int(get_rng().integers(0, 2**63 - 1)) if seed is None else seed
        self.epoch = -1
        self.epoch_seed: int | None = None
        self._next_epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Make the next pass epoch ``epoch`` (later passes count on from it)."""
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ConfigError(f"set_epoch: epoch must be an int >= 0, got {epoch!r}.")
        self._next_epoch = epoch
        setter = getattr(self.sampler, "set_epoch", None)
        if callable(setter):
            setter(epoch)

    def _keys(self, epoch_seed: int) -> Iterator[tuple[int, int]]:
        if self.sampler is None:
            n = len(self.data_source)
            if self.shuffle:
                order = new_rng(epoch_seed, _ORDER_TAG).permutation(n)
                return ((i, 0) for i in order.tolist())
            return ((i, 0) for i in range(n))
        iter_keys = getattr(self.sampler, "iter_keys", None)
        if callable(iter_keys):
            return iter_keys()
        return ((int(i), 0) for i in self.sampler)

    def __iter__(self) -> Iterator[SampleKey]:
        self.epoch = self._next_epoch
        self._next_epoch = self.epoch + 1
        self.epoch_seed = derive_seed(self.seed, self.epoch)
        setter = getattr(self.sampler, "set_epoch", None)
        if callable(setter):
            setter(self.epoch)
        epoch_seed = self.epoch_seed
        for index, copy in self._keys(epoch_seed):
            yield SampleKey(index, derive_seed(epoch_seed, index, copy))

    def iter_repeat(self, cycle: int) -> Iterator[SampleKey]:
        """Another pass over the latest epoch's samples, without advancing the epoch.

        Pass ``cycle`` (``>= 1``) has its own shuffle order (when shuffling) and its own per-sample seeds,
        so samples seen twice in one epoch are augmented differently; a batch sampler that needs more
        samples than one pass holds (:class:`~pixelpipe.loader.ScheduledBatchSampler` with
        ``num_batches``) iterates these.

        Example:
            >>> s = SeededSampler(range(3), shuffle=True, seed=0)
            >>> first = list(s)
            >>> again = list(s.iter_repeat(1))
            >>> sorted(k.index for k in again), again == first, s.epoch
            ([0, 1, 2], False, 0)
        """
        if isinstance(cycle, bool) or not isinstance(cycle, int) or cycle < 1:
            raise ConfigError(f"iter_repeat: cycle must be an int >= 1, got {cycle!r}.")
        if self.epoch_seed is None:
            raise ConfigError("iter_repeat: no epoch has started yet; iterate the sampler first.")
        pass_seed = derive_seed(self.epoch_seed, _REPEAT_TAG, cycle)
        for index, copy in self._keys(pass_seed):
            yield SampleKey(index, derive_seed(pass_seed, index, copy))

    def __len__(self) -> int:
        if self.sampler is None:
            return len(self.data_source)
        if not isinstance(self.sampler, Sized):
            raise TypeError(f"SeededSampler: the wrapped {type(self.sampler).__name__} sampler has no length")
        return len(self.sampler)


class _SeededSamples(list):
    """The samples of one batch, with the seed :class:`SeededCollate` uses for batch-level draws."""

    batch_seed: int | None = None


def _unkey(key: tuple) -> tuple[Any, int]:
    """``(dataset key, seed)`` of a :class:`SampleKey`, or of a ``(SampleKey, extra)`` pair (a scheduled
    batch sampler's ``(sample, choice)``), whose dataset key is then ``(index, extra)``."""
    first, second = key
    if isinstance(first, SampleKey):
        return (first.index, second), first.seed
    return first, second


class SeededDataset(Dataset):
    """Run each sample's loading and transform inside its own generator (see the module docs).

    Indexing with a :class:`SampleKey` installs ``use_rng(key.seed)`` around ``dataset[key.index]`` (a
    ``(SampleKey, choice)`` pair from a :class:`~pixelpipe.loader.ScheduledBatchSampler` reads
    ``dataset[(key.index, choice)]`` in the same way); a plain ``int`` index is passed through (the sample
    then draws from the worker's process generator). Other attributes (``transform``, ``filenames``,
    ``reader``, ``dataset``, ...) are read from and written to the wrapped dataset, which :attr:`wrapped`
    returns.

    Example:
        >>> from pixelpipe.rng import get_rng
        >>> class Noise:
        ...     def __getitem__(self, i):
        ...         return i, float(get_rng().random())
        ...     def __len__(self):
        ...         return 3
        >>> ds = SeededDataset(Noise())
        >>> ds[SampleKey(1, 42)] == ds[SampleKey(1, 42)]
        True
    """

    def __init__(self, dataset: Any) -> None:
        self.__dict__["_wrapped"] = dataset

    @property
    def wrapped(self) -> Any:
        """The dataset this wraps (``loader.dataset.dataset`` is the wrapped dataset's own ``dataset``
        attribute, as with an unwrapped loader: an :class:`~pixelpipe.datasets.AugMixDataset`'s base)."""
        return self.__dict__["_wrapped"]

    def __getitem__(self, key: SampleKey | tuple[SampleKey, Any] | int) -> Any:
        if isinstance(key, tuple):
            index, seed = _unkey(key)
            with use_rng(seed):
                return self.wrapped[index]
        return self.wrapped[key]

    def __getitems__(self, keys: Sequence[SampleKey | tuple[SampleKey, Any] | int]) -> list[Any]:
        out = _SeededSamples(self[k] for k in keys)
        keyed = [k for k in keys if isinstance(k, tuple)]
        if keys and len(keyed) == len(keys):
            out.batch_seed = derive_seed(_BATCH_TAG, *(_unkey(k)[1] for k in keyed))
        return out

    def __len__(self) -> int:
        return len(self.wrapped)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or "_wrapped" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.__dict__["_wrapped"], name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.wrapped, name, value)

    def __repr__(self) -> str:
        return f"SeededDataset({self.wrapped!r})"


class SeededCollate:
    """Call ``collate_fn`` inside a generator derived from the batch's sample seeds.

    Batch-level draws made while collating (Mixup/CutMix in ``FastCollateMixup``) are then reproducible
    whatever the number of workers. Samples that did not come through :class:`SeededDataset` are
    collated as they are.
    """

    def __init__(self, collate_fn: Callable[[list[Any]], Any]) -> None:
        self.collate_fn = collate_fn

    def __call__(self, samples: list[Any]) -> Any:
        seed = getattr(samples, "batch_seed", None)
        if seed is None:
            return self.collate_fn(list(samples))
        with use_rng(seed):
            return self.collate_fn(list(samples))

    def __repr__(self) -> str:
        return f"SeededCollate({self.collate_fn!r})"


def find_seeded_sampler(loader: Any) -> SeededSampler | None:
    """The :class:`SeededSampler` a DataLoader draws from, looking through batch and repeat wrappers."""
    for start in (getattr(loader, "batch_sampler", None), getattr(loader, "sampler", None)):
        obj = start
        for _ in range(4):
            if obj is None:
                break
            if isinstance(obj, SeededSampler):
                return obj
            obj = getattr(obj, "sampler", None)
    return None


_WORKER_SEEDING = ("all", "part")


def check_worker_seeding(worker_seeding: Any) -> None:
    """Raise :class:`~pixelpipe.errors.ConfigError` unless ``worker_seeding`` is valid."""
    if callable(worker_seeding) or worker_seeding in _WORKER_SEEDING:
        return
    raise ConfigError(
        f"worker_seeding must be 'all', 'part' or a callable taking the worker info and returning an int, "
        f"got {worker_seeding!r}."
    )


def worker_init(worker_id: int, worker_seeding: str | Callable[[Any], int] = "all") -> None:
    """DataLoader ``worker_init_fn``: set up a worker's process generator.

    Keyed samples (:class:`SeededDataset`) do not depend on it. It serves draws made outside a sample's
    scope (iterable datasets, a custom collate function given plain samples):

    * ``'all'`` (default) and ``'part'``: nothing to do. torch seeds each worker from the loader's base
      seed, and pixelpipe's process generator is drawn from torch's generator, so workers never share a
      stream. pixelpipe has no separate NumPy stream, so the reference's ``'part'`` (skip re-seeding NumPy,
      to reproduce old results) is accepted and behaves like ``'all'``. Global NumPy / Python ``random``
      state is left alone.
    * a callable: ``worker_seeding(worker_info)`` returns the worker's seed, passed to
      ``torch.manual_seed`` (pixelpipe's process generator is re-derived from it).

    Example:
        >>> worker_init(0)  # outside a worker: nothing happens
    """
    info = get_worker_info()
    if info is None:
        return
    if callable(worker_seeding):
        torch.manual_seed(int(worker_seeding(info)) & ((1 << 64) - 1))
    else:
        check_worker_seeding(worker_seeding)
