"""Samplers: the same indices as the reference, invariants, argument errors."""

from __future__ import annotations

import pytest

from pixelpipe.errors import ConfigError
from pixelpipe.loader import OrderedDistributedSampler, RepeatAugSampler

ref = pytest.importorskip("timm.data.distributed_sampler")


@pytest.mark.parametrize("n", [1, 3, 5, 10, 17])
@pytest.mark.parametrize("replicas", [1, 2, 3, 4, 8])
def test_ordered_matches_reference(n: int, replicas: int) -> None:
    data = range(n)
    seen = []
    for rank in range(replicas):
        ours = OrderedDistributedSampler(data, num_replicas=replicas, rank=rank)
        theirs = ref.OrderedDistributedSampler(data, num_replicas=replicas, rank=rank)
        assert list(ours) == list(theirs)
        assert len(ours) == len(theirs) == len(list(ours))
        assert ours.num_valid_samples == theirs.num_valid_samples
        seen += list(ours)
    assert set(seen) == set(range(n))


@pytest.mark.parametrize("n", [5, 10, 300])
@pytest.mark.parametrize("replicas", [1, 2, 4])
@pytest.mark.parametrize("repeats", [1, 2, 3, 1.5, 2.5])
@pytest.mark.parametrize("shuffle", [True, False])
def test_repeat_aug_matches_reference(n: int, replicas: int, repeats: float, shuffle: bool) -> None:
    data = range(n)
    for selected_round in (256, 0):
        for rank in range(replicas):
            kw = dict(num_replicas=replicas, rank=rank, shuffle=shuffle, num_repeats=repeats)
            ours = RepeatAugSampler(data, selected_round=selected_round, **kw)
            theirs = ref.RepeatAugSampler(data, selected_round=selected_round, **kw)
            assert len(ours) == len(theirs)
            for epoch in (0, 1, 3):
                ours.set_epoch(epoch)
                theirs.set_epoch(epoch)
                assert list(ours) == list(theirs), (selected_round, rank, epoch)


def test_repeat_aug_seed_shifts_epoch_and_copies_are_numbered() -> None:
    a = RepeatAugSampler(range(20), num_replicas=1, rank=0, num_repeats=3, seed=5)
    b = RepeatAugSampler(range(20), num_replicas=1, rank=0, num_repeats=3, seed=0)
    b.set_epoch(5)
    assert list(a) == list(b)
    keys = list(a.iter_keys())
    assert [i for i, _ in keys] == list(a)
    for i in set(i for i, _ in keys):
        assert sorted(c for j, c in keys if j == i) == list(range(len([j for j, _ in keys if j == i])))


def test_repeat_aug_copies_go_to_different_ranks() -> None:
    n, r = 12, 3
    kw = dict(selected_round=0, selected_ratio=1)
    per_rank = [list(RepeatAugSampler(range(n), r, k, **kw).iter_keys()) for k in range(r)]
    for k in range(r):  # every rank sees each sample as a single, distinct copy
        assert sorted(i for i, _ in per_rank[k]) == list(range(n)) and {c for _, c in per_rank[k]} == {k}


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(num_replicas=0, rank=0),
        dict(num_replicas=2, rank=2),
        dict(num_replicas=2, rank=-1),
        dict(num_replicas=1, rank=0, num_repeats=0),
        dict(num_replicas=1, rank=0, selected_round=-1),
    ],
)
def test_bad_arguments(kwargs) -> None:
    with pytest.raises(ConfigError):
        RepeatAugSampler(range(4), **kwargs)


def test_needs_world_when_not_distributed() -> None:
    with pytest.raises(ConfigError, match=r"torch\.distributed"):
        OrderedDistributedSampler(range(4))
    with pytest.raises(ConfigError, match="length"):
        OrderedDistributedSampler(iter(range(4)), num_replicas=1, rank=0)
