"""Scheduled resolution: the batch sampler, the transform dataset and create_loader(input_size_choices)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.utils.data import SequentialSampler

from conftest import encode, make_image
from pixelpipe import ImageDataset, create_loader
from pixelpipe.errors import ConfigError
from pixelpipe.loader import ScheduledBatchSampler, ScheduledTransformDataset, SeededSampler

N = 23
SAMPLER_CASES = [
    dict(batch_sizes=[4, 2, 3]),
    dict(batch_sizes=[4, 2, 3], drop_last=False),
    dict(batch_sizes=[4, 2], choice_weights=[0.2, 0.8]),
    dict(batch_sizes=[5, 3], choice_weights=[0.0, 1.0]),
    dict(batch_sizes=[4, 2], num_batches=9),
    dict(batch_sizes=[4, 2], num_batches=4, shuffle_schedule=False),
    dict(batch_sizes=[4, 2, 8], choice_schedule="progressive", schedule_epochs=3),
    dict(batch_sizes=[4, 2, 8], choice_schedule="progressive", schedule_epochs=4, schedule_spread=0.0),
    dict(
        batch_sizes=[2, 2, 2],
        choice_weights=[1.0, 0.0, 1.0],
        choice_schedule="progressive",
        schedule_epochs=1,
        schedule_random_mix=0.0,
        drop_last=False,
    ),
]


@pytest.mark.parametrize("kwargs", SAMPLER_CASES)
def test_sampler_matches_reference(kwargs) -> None:
    ref_mod = pytest.importorskip("timm.data.scheduled_sampler")
    ours = ScheduledBatchSampler(SequentialSampler(range(N)), seed=42, **kwargs)
    ref = ref_mod.ScheduledBatchSampler(SequentialSampler(range(N)), seed=42, **kwargs)
    assert len(ours) == len(ref) and ours.average_batch_size == pytest.approx(ref.average_batch_size)
    for epoch in range(4):
        ours.set_epoch(epoch)
        ref.set_epoch(epoch)
        assert torch.allclose(ours.choice_weights_for_epoch(epoch), ref.choice_weights_for_epoch(epoch))
        assert list(ours) == list(ref), epoch


@pytest.mark.parametrize("kwargs", SAMPLER_CASES)
def test_sampler_invariants(kwargs) -> None:
    s = ScheduledBatchSampler(range(N), seed=7, **kwargs)
    for _ in range(3):
        batches = list(s)
        assert len(batches) == len(s)
        for batch in batches:
            choices = {c for _, c in batch}
            assert len(choices) == 1  # one input size per batch
            (choice,) = choices
            assert len(batch) == s.batch_sizes[choice] or (not s.drop_last and batch is batches[-1])
        if s.num_batches is None:  # sample-budget mode: every sample at most once
            flat = [i for b in batches for i, _ in b]
            assert len(flat) == len(set(flat))


def test_epoch_advances_and_set_epoch_replays() -> None:
    s = ScheduledBatchSampler(range(N), [4, 2, 3], seed=1)
    first, second = list(s), list(s)
    assert s.epoch == 1 and first != second
    s.set_epoch(0)
    assert list(s) == first


def test_num_batches_cycles_with_fresh_keys() -> None:
    """Fixed-batch mode needs more samples than a pass: the SeededSampler's extra pass of the same
    epoch has its own order and per-sample seeds, and the epoch counter is not moved."""
    seeded = SeededSampler(range(6), shuffle=True, seed=0)
    s = ScheduledBatchSampler(seeded, [4], num_batches=5, seed=0)
    batches = list(s)
    keys = [k for b in batches for k, _ in b]
    assert len(keys) == 20 and len(set(keys)) == 20  # no (index, seed) repeats
    assert seeded.epoch == 0 and s.epoch == 0
    assert len(list(s)) == 5 and seeded.epoch == 1


PROGRESSIVE = dict(choice_schedule="progressive", schedule_epochs=2)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(batch_sizes=[]), "batch_sizes"),
        (dict(batch_sizes=[4, 0]), "positive int"),
        (dict(batch_sizes=[4], num_batches=0), "num_batches"),
        (dict(batch_sizes=[4], choice_schedule="linear"), "choice_schedule"),
        (dict(batch_sizes=[4], choice_schedule="progressive", schedule_epochs=3), "two choices"),
        (dict(batch_sizes=[4, 2], choice_schedule="progressive"), "schedule_epochs"),
        (
            dict(batch_sizes=[4, 2], choice_schedule="progressive", schedule_epochs=2, schedule_spread=-1),
            "spread",
        ),
        (
            dict(batch_sizes=[4, 2], choice_schedule="progressive", schedule_epochs=2, schedule_random_mix=2),
            "mix",
        ),
        (dict(batch_sizes=[4, 2], choice_weights=[1.0]), "choice_weights"),
        (dict(batch_sizes=[4, 2], choice_weights=[0.0, 0.0]), "choice_weights"),
        (dict(batch_sizes=[4, 2], choice_weights=[float("nan"), 1.0]), "choice_weights"),
        (dict(batch_sizes=[50]), "no full batch"),
        (dict(batch_sizes=[4], seed=1.5), "seed"),
    ],
)
def test_sampler_argument_errors(kwargs, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        ScheduledBatchSampler(range(N), **kwargs)
    with pytest.raises(ConfigError, match="empty"):
        ScheduledBatchSampler([], [2])


def test_transform_dataset() -> None:
    ds = ScheduledTransformDataset([(1, "a"), [2, "b"]], [str, lambda x: x * 10])
    assert ds[(0, 0)] == ("1", "a") and ds[(1, 1)] == [20, "b"] and len(ds) == 2
    with pytest.raises(IndexError):
        ds[(0, 2)]
    with pytest.raises(ConfigError):
        ScheduledTransformDataset([], [])
    with pytest.raises(TypeError, match="tuple or list"):
        ScheduledTransformDataset([1], [str])[(0, 0)]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("scheduled")
    for c in range(2):
        (root / f"c{c}").mkdir()
        for i in range(9):
            (root / f"c{c}" / f"{i}.jpg").write_bytes(encode(make_image(20 * c + i, size=(40, 36))))
    return root


def _load(loader) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(x.clone(), y.clone()) for x, y in loader]


SCHEDULED = dict(
    is_training=True,
    device="cpu",
    input_size_choices=[16, (24, 20), (3, 32, 32)],
    batch_size_choices=[6, 4, 2],
    batch_choice_seed=42,
    seed=0,
)


@pytest.mark.parametrize("use_prefetcher", [True, False])
def test_loader_same_batches_for_any_workers(folder: Path, use_prefetcher: bool) -> None:
    runs = []
    for workers in (0, 2):
        loader = create_loader(
            ImageDataset(folder),
            (3, 32, 32),
            4,
            num_workers=workers,
            use_prefetcher=use_prefetcher,
            **SCHEDULED,
        )
        runs.append([_load(loader), _load(loader)])
    for (xa, ya), (xb, yb) in zip(runs[0][0] + runs[0][1], runs[1][0] + runs[1][1]):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    shapes = {(x.shape[0], *x.shape[2:]) for x, _ in runs[0][0] + runs[0][1]}
    assert shapes <= {(6, 16, 16), (4, 24, 20), (2, 32, 32)}


def test_loader_schedule_and_set_epoch(folder: Path) -> None:
    loader = create_loader(ImageDataset(folder), (3, 32, 32), 4, num_workers=0, re_prob=0.5, **SCHEDULED)
    sampler = loader.batch_sampler
    assert isinstance(sampler, ScheduledBatchSampler) and sampler.batch_sizes == (6, 4, 2)
    assert sampler.average_batch_size == pytest.approx(4.0) and len(loader) == len(sampler)
    first = _load(loader)
    assert [x.shape[0] for x, _ in first] == [sampler.batch_sizes[c] for c, _ in _shuffled(sampler, 0)]
    loader.set_epoch(0)  # PrefetchLoader.set_epoch reaches the scheduled sampler
    again = _load(loader)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(first, again))


def _shuffled(sampler: ScheduledBatchSampler, epoch: int) -> list[tuple[int, int]]:
    schedule = sampler.schedule_for_epoch(epoch)
    gen = torch.Generator().manual_seed(sampler.seed + 2 * epoch + 1)
    return [schedule[i] for i in torch.randperm(len(schedule), generator=gen).tolist()]


def test_loader_num_batches(folder: Path) -> None:
    loader = create_loader(ImageDataset(folder), (3, 32, 32), 4, num_workers=0, num_batches=11, **SCHEDULED)
    batches = _load(loader)
    assert len(loader) == 11 and len(batches) == 11  # 11 batches need more than the 18 samples


def test_schedule_arguments_ignored_without_choices(folder: Path) -> None:
    loader = create_loader(
        ImageDataset(folder),
        (3, 16, 16),
        4,
        is_training=True,
        num_workers=0,
        device="cpu",
        batch_size_choices=[8],
        batch_choice_weights=[1.0],
        batch_choice_seed=42,
        batch_choice_schedule="progressive",
        batch_schedule_epochs=3,
        batch_schedule_spread=0.2,
        batch_schedule_random_mix=0.5,
        num_batches=2,
        grayscale_prob=None,
        gaussian_blur_prob=None,
    )
    assert len(loader) == 4 and {tuple(x.shape) for x, _ in loader} == {(4, 3, 16, 16)}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(is_training=False), "is_training"),
        (dict(use_multi_epochs_loader=True), "use_multi_epochs_loader"),
        (dict(num_aug_splits=2), "num_aug_splits"),
        (dict(augment_on="device"), "augment_on"),
        (dict(input_size_choices=[]), "non-empty"),
        (dict(input_size_choices=[(1, 16, 16)]), "channels"),
        (dict(input_size_choices=[(16, 0)]), "positive"),
        (dict(input_size_choices=["big"]), "int"),
        (dict(batch_size_choices=[1]), "batch_size_choices"),
        (dict(batch_choice_weights=[1.0]), "batch_choice_weights"),
        (dict(batch_choice_schedule="nope"), "choice_schedule"),
        (dict(tf_preprocessing=True), "TensorFlow"),
    ],
)
def test_loader_argument_errors(folder: Path, kwargs, match: str) -> None:
    args = dict(SCHEDULED, num_workers=0)
    args.update(kwargs)
    with pytest.raises(ConfigError, match=match):
        create_loader(ImageDataset(folder), (3, 32, 32), 4, **args)


def test_loader_needs_map_style(folder: Path) -> None:
    class Stream(torch.utils.data.IterableDataset):
        transform = None

        def __iter__(self):
            yield from ()

    with pytest.raises(ConfigError, match="map-style"):
        create_loader(Stream(), (3, 32, 32), 4, num_workers=0, **SCHEDULED)
