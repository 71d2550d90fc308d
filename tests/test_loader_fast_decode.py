"""create_loader's fast decode path: the ImageDataset hands encoded images to a DecodePipeline.

Checks that the path is taken, that it gives the tensor path's values (train: exactly, same draws; eval:
within the tensor-path tolerance of the PIL path), that seeds still reproduce across worker counts, and that
decode errors inside the transform follow the dataset's ``on_error`` policy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import encode, make_image
from pixelpipe.datasets import AugMixDataset, ImageDataset
from pixelpipe.errors import ImageDecodeError, SampleError
from pixelpipe.factories import create_loader, create_transform
from pixelpipe.io import EncodedImage
from pixelpipe.rng import use_rng
from pixelpipe.transforms import DecodeRandomResizedCrop
from pixelpipe.transforms.decode_crop import DecodePipeline, fuse_decode

SIZE = (3, 32, 32)
TRAIN = dict(is_training=True, auto_augment="rand-m9-mstd0.5-inc1", re_prob=0.5, device="cpu")
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fast_jpegs")
    for c in range(2):
        (root / f"class{c}").mkdir()
        for i in range(8):
            make_image(50 * c + i, size=(52 + 6 * i, 44)).save(root / f"class{c}" / f"{i}.jpg", quality=90)
    return root


@pytest.fixture
def corrupt_folder(tmp_path) -> Path:
    root = tmp_path / "corrupt"
    (root / "a").mkdir(parents=True)
    for i in range(6):
        make_image(i, size=(50, 42)).save(root / "a" / f"{i}.jpg", quality=90)
    # a readable JPEG header, then garbage: the fused crop draws its window, then the decode fails
    good = encode(make_image(9, (64, 64)), "JPEG")
    (root / "a" / "2.jpg").write_bytes(good[:300] + b"\x00" * 40)
    (root / "a" / "4.jpg").write_bytes(b"")
    return root


def _batches(loader) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(x.clone(), y.clone()) for x, y in loader]


def test_create_loader_takes_the_fast_path(folder: Path, monkeypatch) -> None:
    calls = []
    apply = DecodeRandomResizedCrop.apply
    monkeypatch.setattr(DecodeRandomResizedCrop, "apply", lambda self, *a: calls.append(1) or apply(self, *a))
    ds = ImageDataset(folder)  # image_backend='pil' (default): the loader's transform decodes anyway
    loader = create_loader(ds, SIZE, batch_size=4, num_workers=0, seed=0, **TRAIN)
    assert isinstance(ds.transform, DecodePipeline) and ds.transform.decode_crop is not None
    assert ds.decodes_in_transform and loader.dataset.decodes_in_transform
    n = sum(x.shape[0] for x, _ in loader)
    assert n == 16 and len(calls) == 16  # every sample decoded by the fused crop

    eval_ds = ImageDataset(folder)
    create_loader(eval_ds, SIZE, batch_size=4, num_workers=0, device="cpu")
    assert isinstance(eval_ds.transform, DecodePipeline) and eval_ds.transform.decode_crop is None
    assert eval_ds.decodes_in_transform


def test_user_transform_set_afterwards_is_used_as_is(folder: Path) -> None:
    ds = ImageDataset(folder)
    create_loader(ds, SIZE, batch_size=4, num_workers=0, device="cpu")
    ds.transform = lambda img: img.size  # a PIL-only transform: gets a PIL image again
    assert not ds.decodes_in_transform
    assert ds[0][0] == (52, 44)


def test_load_bytes_keeps_bytes(folder: Path) -> None:
    ds = ImageDataset(folder, load_bytes=True)
    ds.transform = fuse_decode(create_transform(32, use_prefetcher=True))
    assert not ds.decodes_in_transform


def test_train_fast_path_equals_tensor_path_draw_for_draw(folder: Path) -> None:
    cfg = dict(is_training=True, auto_augment="rand-m9-mstd0.5-inc1", use_prefetcher=True)
    fast = ImageDataset(folder, transform=fuse_decode(create_transform(32, **cfg)))
    plain = ImageDataset(folder, image_backend="tensor", transform=create_transform(32, **cfg, backend="pil"))
    assert fast.decodes_in_transform and not plain.decodes_in_transform
    for i in range(len(fast)):
        with use_rng(i):
            a = fast[i][0]
        with use_rng(i):
            b = plain[i][0]
        assert torch.equal(a, b)


def test_eval_fast_path_close_to_pil_path(folder: Path) -> None:
    tf = create_transform(32, use_prefetcher=True, backend="pil")
    fast = ImageDataset(folder, transform=fuse_decode(tf))
    pil = ImageDataset(folder, transform=tf)
    assert fast.decodes_in_transform and not pil.decodes_in_transform
    for i in range(len(fast)):
        a, b = fast[i][0], pil[i][0]
        assert a.dtype == b.dtype == torch.uint8 and a.shape == b.shape == (3, 32, 32)
        assert (a.float() - b.float()).abs().mean() <= 1.0


def test_eval_loader_close_to_pil_path(folder: Path) -> None:
    kw = dict(batch_size=8, num_workers=0, device="cpu", mean=MEAN, std=STD)
    fast_ds, pil_ds = ImageDataset(folder), ImageDataset(folder)
    fast = _batches(create_loader(fast_ds, SIZE, **kw))
    pil_loader = create_loader(pil_ds, SIZE, **kw)
    pil_ds.transform = create_transform(SIZE, use_prefetcher=True, backend="pil")  # the dataset decodes (PIL)
    assert not pil_ds.decodes_in_transform
    pil = _batches(pil_loader)
    for (xa, ya), (xb, yb) in zip(fast, pil, strict=True):
        assert torch.equal(ya, yb)
        assert (xa - xb).abs().mean() < 0.02  # about 1 grey level in normalised units


@pytest.mark.parametrize("augmix", [False, True])
def test_same_seed_same_batches_with_0_and_2_workers(folder: Path, augmix: bool) -> None:
    def run(workers: int):
        ds = ImageDataset(folder)
        extra = {}
        if augmix:
            ds.transform = create_transform(SIZE, is_training=True, separate=True)
            ds = AugMixDataset(ds, num_splits=2)
            extra = dict(num_aug_splits=2, auto_augment="augmix-m3-w3-d2")
        loader = create_loader(ds, SIZE, batch_size=4, num_workers=workers, seed=5, **{**TRAIN, **extra})
        assert ds.decodes_in_transform if not augmix else ds.dataset.decodes_in_transform
        return _batches(loader)

    a, b = run(0), run(2)
    assert len(a) == len(b) == 4
    for (xa, ya), (xb, yb) in zip(a, b):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
        assert xa.shape == ((8 if augmix else 4), 3, 32, 32)


def test_corrupt_jpeg_raises_naming_file_and_index(corrupt_folder: Path) -> None:
    ds = ImageDataset(corrupt_folder)
    ds.transform = fuse_decode(create_transform(32, is_training=True, use_prefetcher=True))
    assert ds.decodes_in_transform
    for i, name in ((2, "2.jpg"), (4, "4.jpg")):
        with pytest.raises(ImageDecodeError) as err:
            ds[i]
        assert err.value.index == i and err.value.filename.endswith(name)
        assert name in str(err.value) and f"index {i}" in str(err.value)


@pytest.mark.parametrize("workers", [0, 2])
def test_corrupt_jpeg_in_loader_raise_and_skip(corrupt_folder: Path, workers: int) -> None:
    ds = ImageDataset(corrupt_folder)
    loader = create_loader(ds, SIZE, batch_size=2, num_workers=workers, seed=0, device="cpu")
    with pytest.raises(SampleError, match=r"2\.jpg.*index 2"):
        _batches(loader)

    ds = ImageDataset(corrupt_folder, on_error="skip")
    loader = create_loader(ds, SIZE, batch_size=2, num_workers=workers, seed=0, device="cpu")
    assert ds.decodes_in_transform
    labels = [y for _, ys in _batches(loader) for y in ys.tolist()]
    assert len(labels) == 6 and ds.num_skipped == 2


def test_decode_pipeline_other_inputs_and_modes() -> None:
    cfg = dict(is_training=True, use_prefetcher=True)
    img = make_image(4, (60, 50))
    pipe = fuse_decode(create_transform(24, **cfg))
    plain = create_transform(24, **cfg)
    # PIL images and tensors: the plain pipeline's behaviour, draw for draw
    with use_rng(1):
        a = pipe(img)
    with use_rng(1):
        b = plain(img)
    assert torch.equal(a, b)
    # PNG and 'L' go through decode_tensor, then the whole pipeline
    from pixelpipe.io import decode_tensor

    for data, mode in ((encode(img, "PNG"), "RGB"), (encode(img, "JPEG"), "L")):
        with use_rng(2):
            a = pipe(EncodedImage(data, mode))
        with use_rng(2):
            b = plain(decode_tensor(data, mode))
        assert torch.equal(a, b)


def test_decode_pipeline_reduced_decode_on_large_jpeg() -> None:
    from PIL import Image

    big = Image.fromarray(np.asarray(make_image(7, (120, 100)).resize((1600, 1200), Image.BILINEAR)))
    data = encode(big, "JPEG", quality=92)
    cfg = dict(is_training=True, scale=(0.9, 1.0), hflip=0.0, color_jitter=None, use_prefetcher=True)
    pipe = fuse_decode(create_transform(64, **cfg))
    plain = fuse_decode(create_transform(64, **cfg), reduced_decode=False)
    with use_rng(3):
        a = pipe(EncodedImage(data))
    with use_rng(3):
        b = plain(EncodedImage(data))
    mse = float(((a.float() - b.float()) ** 2).mean())
    assert a.shape == (3, 64, 64) and 10 * np.log10(255**2 / max(mse, 1e-9)) >= 35
