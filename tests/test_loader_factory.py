"""create_loader end to end on a small generated JPEG folder (CPU; CUDA tests skip without a GPU)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from conftest import make_image
from pixelpipe.batch import FastCollateMixup
from pixelpipe.datasets import AugMixDataset, ImageDataset
from pixelpipe.errors import ConfigError
from pixelpipe.factories import create_loader, create_transform
from pixelpipe.loader import PrefetchLoader, SeededSampler
from pixelpipe.rng import manual_seed

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
SIZE = (3, 32, 32)
TRAIN = dict(is_training=True, auto_augment="rand-m9-mstd0.5-inc1", re_prob=0.5, device="cpu")


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("jpegs")
    for c in range(2):
        (root / f"class{c}").mkdir()
        for i in range(8):
            make_image(100 * c + i, size=(48 + 4 * i, 40)).save(root / f"class{c}" / f"{i}.jpg", quality=90)
    return root


def _batches(loader, epochs: int = 1) -> list[list[tuple[torch.Tensor, torch.Tensor]]]:
    return [[(x.clone(), y.clone()) for x, y in loader] for _ in range(epochs)]


def _same(a, b) -> bool:
    return all(
        len(ea) == len(eb)
        and all(torch.equal(xa, xb) and torch.equal(ya, yb) for (xa, ya), (xb, yb) in zip(ea, eb))
        for ea, eb in zip(a, b)
    ) and len(a) == len(b)


def test_eval_batches_are_normalised_by_the_prefetcher(folder: Path) -> None:
    pf = create_loader(ImageDataset(folder), SIZE, batch_size=5, num_workers=0, device="cpu", seed=0)
    assert isinstance(pf, PrefetchLoader) and len(pf) == 4  # eval keeps the last partial batch
    cpu = create_loader(ImageDataset(folder), SIZE, 5, num_workers=0, use_prefetcher=False, seed=0)
    assert not isinstance(cpu, PrefetchLoader)
    got, ref = _batches(pf)[0], _batches(cpu)[0]
    assert [x.shape[0] for x, _ in got] == [5, 5, 5, 1]
    for (x, y), (xr, yr) in zip(got, ref):
        assert x.dtype == torch.float32 and x.shape[1:] == SIZE and y.dtype == torch.int64
        torch.testing.assert_close(x, xr, atol=1e-5, rtol=0)  # same as normalising on the CPU per image
        assert torch.equal(y, yr)
    assert sorted(torch.cat([y for _, y in got]).tolist()) == [0] * 8 + [1] * 8


def test_training_batches_dtype_layout_and_drop_last(folder: Path) -> None:
    loader = create_loader(
        ImageDataset(folder),
        SIZE,
        batch_size=6,
        num_workers=0,
        img_dtype=torch.float16,
        channels_last=True,
        **TRAIN,
    )
    batches = _batches(loader)[0]
    assert len(loader) == len(batches) == 2  # 16 // 6, last partial batch dropped
    for x, y in batches:
        assert x.shape == (6, *SIZE) and x.dtype == torch.float16 and y.dtype == torch.int64
        assert x.is_contiguous(memory_format=torch.channels_last)


def _erased_fraction(x: torch.Tensor) -> float:
    return (x == 0).all(dim=-3).float().mean().item()


def test_erasing_happens_only_in_training(folder: Path) -> None:
    kw = dict(batch_size=8, num_workers=0, device="cpu", re_prob=1.0, seed=3)
    train = create_loader(ImageDataset(folder), SIZE, is_training=True, **kw)
    assert train.random_erasing is not None
    assert all(_erased_fraction(x[i]) > 0 for x, _ in train for i in range(x.shape[0]))
    for loader in (
        create_loader(ImageDataset(folder), SIZE, is_training=False, **kw),
        create_loader(ImageDataset(folder), SIZE, is_training=True, no_aug=True, **kw),
    ):
        assert loader.random_erasing is None
        assert all(_erased_fraction(x) == 0 for x, _ in loader)


def test_same_seed_same_batches_with_0_and_2_workers_and_new_epochs(folder: Path) -> None:
    single = _batches(create_loader(ImageDataset(folder), SIZE, 4, num_workers=0, seed=11, **TRAIN), epochs=2)
    multi = _batches(create_loader(ImageDataset(folder), SIZE, 4, num_workers=2, seed=11, **TRAIN), epochs=2)
    assert _same(single, multi)  # persistent workers saw epoch 1 too
    assert not _same(single[:1], single[1:])
    other = _batches(create_loader(ImageDataset(folder), SIZE, 4, num_workers=0, seed=12, **TRAIN))
    assert not _same(single[:1], other)


def test_seed_none_is_reproducible_from_manual_seed(folder: Path) -> None:
    manual_seed(5)
    a = _batches(create_loader(ImageDataset(folder), SIZE, 8, num_workers=0, **TRAIN))
    manual_seed(5)
    b = _batches(create_loader(ImageDataset(folder), SIZE, 8, num_workers=0, **TRAIN))
    assert _same(a, b)


def test_augmix_splits_are_split_major_and_clean_split_is_not_erased(folder: Path) -> None:
    base = ImageDataset(folder, transform=create_transform(SIZE, is_training=True, separate=True))
    ds = AugMixDataset(base, num_splits=3)
    loader = create_loader(
        ds,
        SIZE,
        4,
        is_training=True,
        auto_augment="augmix-m3",
        num_aug_splits=3,
        re_prob=1.0,
        re_split=True,
        num_workers=0,
        device="cpu",
        seed=0,
    )
    x, y = next(iter(loader))
    assert x.shape == (12, *SIZE) and y.tolist() == y[:4].tolist() * 3
    clean, *augmented = torch.split(x, 4)
    assert _erased_fraction(clean) == 0  # re_split: the clean split is never erased
    assert all(_erased_fraction(a[i]) > 0 for a in augmented for i in range(4))
    assert not torch.equal(augmented[0], augmented[1])


def test_fast_collate_mixup_is_seeded_and_exposed(folder: Path) -> None:
    def make(workers: int):
        mix = FastCollateMixup(mixup_alpha=0.8, cutmix_alpha=1.0, mode="elem", num_classes=2)
        return create_loader(
            ImageDataset(folder), SIZE, 4, num_workers=workers, collate_fn=mix, seed=2, **TRAIN
        )

    loader = make(0)
    assert loader.mixup_enabled is True
    a = _batches(loader)
    assert a[0][0][1].dtype == torch.float32 and a[0][0][1].shape == (4, 2)
    assert _same(a, _batches(make(2)))
    loader.mixup_enabled = False
    assert loader.mixup_enabled is False


def test_prefetch_loader_passes_through(folder: Path) -> None:
    loader = create_loader(ImageDataset(folder), SIZE, 4, num_workers=0, device="cpu", seed=0)
    assert isinstance(loader.sampler, SeededSampler)
    assert len(loader.dataset) == 16 and loader.dataset.filenames() == ImageDataset(folder).filenames()
    assert loader.batch_sampler.batch_size == 4 and loader.mixup_enabled is False
    loader.set_epoch(4)
    list(loader)
    assert loader.sampler.epoch == 4


def test_num_workers_0_with_default_persistent_workers(folder: Path) -> None:
    loader = create_loader(ImageDataset(folder), SIZE, 8, num_workers=0, device="cpu")
    assert loader.loader.persistent_workers is False and len(list(loader)) == 2


def test_multi_epochs_loader(folder: Path) -> None:
    a = create_loader(
        ImageDataset(folder), SIZE, 8, num_workers=0, seed=1, use_multi_epochs_loader=True, **TRAIN
    )
    b = create_loader(ImageDataset(folder), SIZE, 8, num_workers=0, seed=1, **TRAIN)
    assert _same(_batches(a, 2), _batches(b, 2))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(tf_preprocessing=True), "tf_preprocessing"),
        (dict(input_size_choices=[32]), "scheduled"),
        (dict(not_an_argument=1), "unexpected"),
        (dict(num_aug_repeats=3), "distributed"),
        (dict(worker_seeding="none"), "worker_seeding"),
        (dict(batch_size=0), "batch_size"),
        (dict(num_workers=-1), "num_workers"),
        (dict(seed=1.5), "seed"),
        (dict(device="nonsense"), "device"),
    ],
)
def test_argument_errors(folder: Path, kwargs, match: str) -> None:
    args = dict(batch_size=4, num_workers=0)
    args.update(kwargs)
    with pytest.raises(ConfigError, match=match):
        create_loader(ImageDataset(folder), SIZE, **args)


def test_reference_only_arguments_accepted_at_defaults(folder: Path) -> None:
    loader = create_loader(
        ImageDataset(folder), SIZE, 4, num_workers=0, device="cpu", tf_preprocessing=False, num_batches=None
    )
    assert len(loader) == 4


def test_channel_mismatch_warns_and_averages() -> None:
    with pytest.warns(UserWarning, match="channels"):
        pf = PrefetchLoader([], mean=MEAN, std=STD, channels=1, device="cpu")
    assert pf.mean.shape == (1, 1, 1, 1) and list(pf) == []


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu_and_keeps_one_stream(folder: Path) -> None:
    cpu = create_loader(ImageDataset(folder), SIZE, 4, num_workers=0, seed=9, **TRAIN)
    gpu_kw = dict(TRAIN, device="cuda")
    gpu = create_loader(ImageDataset(folder), SIZE, 4, num_workers=0, seed=9, pin_memory=True, **gpu_kw)
    ref = _batches(cpu, 2)
    got = [[(x.cpu(), y.cpu()) for x, y in gpu]]
    stream = gpu.stream
    got.append([(x.cpu(), y.cpu()) for x, y in gpu])
    assert gpu.stream is stream and stream is not None
    for ea, eb in zip(ref, got):
        for (xa, ya), (xb, yb) in zip(ea, eb):
            assert torch.equal(ya, yb)
            torch.testing.assert_close(xa, xb, atol=1e-5, rtol=0)


@pytest.fixture
def one_rank_group(tmp_path):
    import torch.distributed as dist

    if not dist.is_available():
        pytest.skip("torch.distributed is not available")
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'pg'}", rank=0, world_size=1)
    try:
        yield
    finally:
        dist.destroy_process_group()


def test_distributed_sampler_wiring(folder: Path, one_rank_group) -> None:
    from torch.utils.data import DistributedSampler

    from pixelpipe.loader import OrderedDistributedSampler, RepeatAugSampler

    kw = dict(num_workers=0, device="cpu", distributed=True, seed=4)
    train = create_loader(ImageDataset(folder), SIZE, 4, is_training=True, **kw)
    assert isinstance(train.sampler.sampler, DistributedSampler) and train.sampler.sampler.seed == 4
    train.set_epoch(2)
    list(train)
    assert train.sampler.sampler.epoch == 2
    evaluation = create_loader(ImageDataset(folder), SIZE, 4, **kw)
    assert isinstance(evaluation.sampler.sampler, OrderedDistributedSampler)
    assert torch.cat([y for _, y in evaluation]).tolist() == [0] * 8 + [1] * 8
    repeats = create_loader(ImageDataset(folder), SIZE, 4, is_training=True, num_aug_repeats=3, **kw)
    assert isinstance(repeats.sampler.sampler, RepeatAugSampler) and len(repeats) == 4


def test_cpu_prefetch_restores_thread_count(folder: Path) -> None:
    threads = torch.get_num_threads()
    loader = create_loader(ImageDataset(folder), SIZE, 8, num_workers=0, **TRAIN)
    for _ in loader:
        assert torch.get_num_threads() == threads  # the batch work ran on one thread and restored it
    assert torch.get_num_threads() == threads


@pytest.mark.parametrize("channels_last", [False, True])
def test_cpu_prefetcher_reuses_batch_memory_only_when_nothing_holds_it(channels_last: bool) -> None:
    """Large CPU batches are normalised into reused memory, but a batch the caller keeps (or a view of it)
    is never overwritten: every kept batch still holds its own normalised images."""
    gen = torch.Generator().manual_seed(0)
    inputs = [torch.randint(0, 256, (16, 3, 256, 256), dtype=torch.uint8, generator=gen) for _ in range(5)]
    pairs = [(x, torch.zeros(16, dtype=torch.long)) for x in inputs]
    loader = PrefetchLoader(pairs, device="cpu", channels_last=channels_last)
    kept = [x for x, _ in loader]  # every batch held at once
    assert len({x.data_ptr() for x in kept}) == len(kept)
    views = [x[3] for x, _ in loader]  # only a view of each batch held
    assert len({v.data_ptr() for v in views}) == len(views)
    for x, v, raw in zip(kept, views, inputs):
        expected = raw.float().sub_(loader.mean).div_(loader.std)
        assert torch.equal(x, expected) and torch.equal(v, expected[3])
        assert x.is_contiguous(
            memory_format=torch.channels_last if channels_last else torch.contiguous_format
        )

    pooled = {kept[0].data_ptr(), kept[1].data_ptr()}  # the two kept buffers (later ones were extra)
    del kept, views, x, v
    ptrs = [x.data_ptr() for x, _ in loader]  # nothing held any more: the two buffers take turns
    assert set(ptrs) == pooled
