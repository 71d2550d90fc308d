"""Per-sample seeding: one seed gives the same batches whatever the number of workers."""

from __future__ import annotations

import pickle
from functools import partial

import pytest
import torch
from torch.utils.data import DataLoader

import pixelpipe
from pixelpipe.errors import ConfigError
from pixelpipe.loader import (
    MultiEpochsDataLoader,
    RepeatAugSampler,
    SampleKey,
    SeededCollate,
    SeededDataset,
    SeededSampler,
    fast_collate,
    worker_init,
)
from pixelpipe.rng import get_rng, manual_seed


class NoiseDataset(torch.utils.data.Dataset):
    """Each sample is random noise drawn from pixelpipe's current generator."""

    transform = None

    def __init__(self, n: int = 10) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        arr = get_rng().integers(0, 256, size=(3, 2, 2), dtype="uint8")
        return torch.from_numpy(arr), i


def noisy_collate(samples):
    """A collate function with a batch-level random draw (like Mixup in FastCollateMixup)."""
    x, y = fast_collate(samples)
    return x, y, torch.tensor(int(get_rng().integers(0, 1 << 30)))


def _loader(seed, num_workers=0, shuffle=True, n=10, cls=DataLoader, **kw):
    ds = NoiseDataset(n)
    return cls(
        SeededDataset(ds),
        batch_size=4,
        sampler=SeededSampler(ds, shuffle=shuffle, seed=seed),
        collate_fn=SeededCollate(noisy_collate),
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
        worker_init_fn=partial(worker_init, worker_seeding="all"),
        **kw,
    )


def _epochs(loader, n=2):
    return [[tuple(t.clone() for t in b) for b in loader] for _ in range(n)]


def _equal(a, b) -> bool:
    return len(a) == len(b) and all(
        len(ea) == len(eb) and all(all(torch.equal(x, y) for x, y in zip(ba, bb)) for ba, bb in zip(ea, eb))
        for ea, eb in zip(a, b)
    )


def test_same_seed_same_batches_for_0_and_2_workers_and_new_epochs_differ() -> None:
    single = _epochs(_loader(7, num_workers=0))
    multi = _epochs(_loader(7, num_workers=2))  # persistent workers: epoch 1 must reach them
    assert _equal(single, multi)
    assert not _equal(single[:1], single[1:])  # a new epoch: new order and new augmentation
    # every epoch is a permutation of the dataset
    for epoch in single:
        assert sorted(torch.cat([b[1] for b in epoch]).tolist()) == list(range(10))


def test_seeds_change_results_and_set_epoch_replays() -> None:
    a = _loader(1)
    first = _epochs(a, 1)
    assert not _equal(first, _epochs(_loader(2), 1))
    a.sampler.set_epoch(0)
    assert _equal(first, _epochs(a, 1))
    a.sampler.set_epoch(3)
    third = _epochs(a, 1)
    b = _loader(1)
    b.sampler.set_epoch(3)
    assert _equal(third, _epochs(b, 1))


def test_sample_randomness_does_not_depend_on_order() -> None:
    ordered = {i: x for b in _epochs(_loader(3, shuffle=False), 1)[0] for x, i in zip(b[0], b[1].tolist())}
    shuffled = _epochs(_loader(3, shuffle=True), 1)[0]
    # the shuffled epoch differs in order, but the keys (seed, epoch, index) do not depend on position
    for b in shuffled:
        for x, i in zip(b[0], b[1].tolist()):
            assert torch.equal(x, ordered[i])


def test_seed_none_follows_manual_seed() -> None:
    manual_seed(123)
    a = _epochs(_loader(None), 1)
    manual_seed(123)
    b = _epochs(_loader(None), 1)
    assert _equal(a, b)


def test_wrapped_distributed_sampler_gets_the_epoch() -> None:
    ds = NoiseDataset(8)
    inner = torch.utils.data.DistributedSampler(ds, num_replicas=2, rank=0, seed=0)
    s = SeededSampler(ds, inner, seed=0)
    e0, e1 = [k.index for k in s], [k.index for k in s]
    assert inner.epoch == 1 and e0 != e1  # auto-advanced even without set_epoch
    s.set_epoch(0)
    assert [k.index for k in s] == e0


def test_repeat_aug_copies_get_different_seeds() -> None:
    ds = NoiseDataset(4)
    s = SeededSampler(ds, RepeatAugSampler(ds, num_replicas=1, rank=0, num_repeats=2), seed=0)
    keys = list(s)
    assert len({k.seed for k in keys}) == len(keys) == 4  # selected count: ceil(4 / 1) = 4


def test_multi_epochs_loader_matches_plain_loader() -> None:
    plain = _epochs(_loader(5, num_workers=0), 3)
    multi = _epochs(_loader(5, num_workers=0, cls=MultiEpochsDataLoader), 3)
    assert _equal(plain, multi)
    ml = _loader(5, cls=MultiEpochsDataLoader)
    assert len(ml) == 3 and isinstance(ml.sampler, SeededSampler)


def test_seeded_dataset_forwards_and_pickles() -> None:
    ds = NoiseDataset(3)
    wrapped = SeededDataset(ds)
    wrapped.transform = "t"
    assert ds.transform == "t" and wrapped.n == 3 and len(wrapped) == 3
    back = pickle.loads(pickle.dumps(wrapped))
    assert torch.equal(back[SampleKey(1, 9)][0], wrapped[SampleKey(1, 9)][0])
    with pytest.raises(AttributeError):
        _ = wrapped.missing
    assert wrapped.wrapped is ds and back.wrapped.n == 3


def test_loader_dataset_dataset_is_the_wrapped_datasets_own() -> None:
    """``loader.dataset.dataset`` reads the user's dataset's ``dataset`` attribute (an AugMixDataset's base),
    as it does for a loader without the seeding wrapper."""
    from pixelpipe.datasets import AugMixDataset

    base = NoiseDataset(4)
    mixed = AugMixDataset(base, num_splits=2)
    loader = pixelpipe.create_loader(
        mixed, input_size=(3, 8, 8), batch_size=2, is_training=True, num_aug_splits=2, device="cpu"
    )
    assert loader.dataset.wrapped is mixed
    assert loader.dataset.dataset is base
    with pytest.raises(AttributeError):
        _ = SeededDataset(base).dataset  # the wrapped dataset has none


def test_worker_seeding_arguments() -> None:
    worker_init(0, worker_seeding=lambda info: 3)  # outside a worker: no effect, no error
    loader = _loader(0, num_workers=2)
    loader.worker_init_fn = partial(worker_init, worker_seeding=lambda info: 100 + info.id)
    assert _equal(_epochs(loader, 1), _epochs(_loader(0), 1))  # keyed samples ignore worker seeds
    with pytest.raises(ConfigError, match="worker_seeding"):
        from pixelpipe.loader.seeding import check_worker_seeding

        check_worker_seeding("some")
    with pytest.raises(ConfigError, match="seed"):
        SeededSampler(range(3), seed="1")
    with pytest.raises(ConfigError, match="epoch"):
        SeededSampler(range(3), seed=1).set_epoch(-1)


def test_seeded_sampler_length_needs_a_sized_sampler():
    unsized = SeededSampler(range(5), sampler=(i for i in (3, 1)), seed=0)
    assert [k.index for k in unsized] == [3, 1]  # iterating needs no length
    with pytest.raises(TypeError, match="wrapped generator sampler has no length"):
        len(unsized)
