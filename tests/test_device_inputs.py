"""Hostile and unusual inputs on the device path (``create_loader(..., augment_on='device')``): the
dataset's pixel limit, EXIF orientation and ``on_error`` policy hold in the worker steps (DecodeOnly,
ReadBytes), in the encoded batch and in ``decode_batch`` (CPU fallback and the nvJPEG path's bookkeeping).

Everything runs on the CPU; tests marked for CUDA skip without a GPU.
"""

from __future__ import annotations

import io
import pickle
import warnings
from pathlib import Path

import pytest
import torch
from PIL import Image, ImageOps
from torchvision.transforms.functional import pil_to_tensor

import pixelpipe.device.decode as device_decode
import pixelpipe.io.decode as decode_mod
from _bad_inputs import bomb_jpeg, bomb_png, exif_image
from conftest import encode, make_image
from pixelpipe.datasets import ImageDataset
from pixelpipe.device import decode_batch, encoded_collate, exif_orient
from pixelpipe.errors import ImageDecodeError, ImageTooLargeError
from pixelpipe.factories import create_loader
from pixelpipe.factories.device_loader import DecodeOnly, DevicePrefetchLoader, ReadBytes
from pixelpipe.io import USE_DEFAULT, EncodedImage, decode_tensor, read_header
from pixelpipe.transforms import functional as F

CUDA = pytest.mark.cuda  # skipped without a GPU (conftest)


def _one(data: bytes, name: str = "a.jpg", index: int = 0, **opts) -> EncodedImage:
    return EncodedImage(data, "RGB", name, index, **opts)


def _first(batch) -> torch.Tensor:
    h, w = batch.sizes[0].tolist()
    return batch.images[0, :, :h, :w]


# --- the encoded batch carries the dataset's settings ---------------------------------------------------


def test_encoded_collate_carries_limit_and_exif_transpose(monkeypatch) -> None:
    data = encode(make_image(0, (20, 10)))
    monkeypatch.setattr(decode_mod, "_max_image_pixels", 5000)  # the process-wide default, at collation
    enc, _ = encoded_collate(
        [
            (_one(data, max_image_pixels=1000, exif_transpose=True), 0),
            (_one(data, max_image_pixels=None), 1),
            (_one(data), 2),  # USE_DEFAULT: resolved here (the sentinel does not survive pickling)
            (data, 3),
        ]
    )
    assert enc.max_image_pixels == (1000, None, 5000, 5000)
    assert enc.exif_transpose == (True, False, False, False)
    back = pickle.loads(pickle.dumps(enc))  # what a DataLoader worker sends
    assert back.max_image_pixels == enc.max_image_pixels and back.exif_transpose == enc.exif_transpose


# --- decode_batch: header check before decoding, the dataset's limit, EXIF ------------------------------


def test_decode_batch_refuses_bombs_before_decoding_anything(monkeypatch) -> None:
    calls = []
    real = device_decode.decode_tensor
    monkeypatch.setattr(device_decode, "decode_tensor", lambda *a, **k: calls.append(1) or real(*a, **k))
    ok = encode(make_image(0, (20, 10)))
    for name, bomb in (("bomb.jpg", bomb_jpeg()), ("bomb.png", bomb_png())):
        enc, _ = encoded_collate([(_one(ok, "ok.jpg", 0), 0), (_one(bomb, name, 5), 1)])
        with pytest.raises(ImageTooLargeError, match=rf"'{name}', index 5\) declares 60000 x 60000"):
            decode_batch(enc, "cpu")
    assert calls == []  # the good image before the bomb was not decoded either
    with pytest.raises(ImageTooLargeError):  # bytes handed over without a dataset: the default limit
        decode_batch([bomb_jpeg()], "cpu")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_decode_batch_uses_the_datasets_limit_not_the_process_default(monkeypatch, fmt) -> None:
    data = encode(make_image(1, (40, 30)), fmt)  # 1,200 pixels
    enc, _ = encoded_collate([(_one(data, "small.img", 3, max_image_pixels=1000), 0)])
    with pytest.raises(ImageTooLargeError, match=r"'small\.img', index 3\) declares 40 x 30"):
        decode_batch(enc, "cpu")
    monkeypatch.setattr(decode_mod, "_max_image_pixels", 100)  # lower than the dataset's own limit
    enc, _ = encoded_collate([(_one(data, max_image_pixels=2000), 0), (_one(data, max_image_pixels=None), 1)])
    out = decode_batch(enc, "cpu")
    assert out.sizes.tolist() == [[30, 40], [30, 40]]


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_decode_batch_applies_exif_orientation_on_the_cpu(orientation) -> None:
    data = exif_image(orientation, size=(40, 24))
    enc, _ = encoded_collate([(_one(data, exif_transpose=True), 0), (_one(data), 1)])
    out = decode_batch(enc, "cpu")
    assert torch.equal(_first(out), decode_tensor(data, exif_transpose=True))
    assert out.sizes[1].tolist() == [24, 40]  # not asked for: as stored


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orient_matches_pillow(orientation) -> None:
    pil = Image.open(io.BytesIO(exif_image(orientation, "PNG", size=(7, 4))))
    want = pil_to_tensor(ImageOps.exif_transpose(pil).convert("RGB"))
    assert torch.equal(exif_orient(pil_to_tensor(pil.convert("RGB")), orientation), want)


def _unknown_size_jpeg() -> bytes:
    """A JPEG whose frame header declares height 0 (set later by a DNL marker): the size is unknown."""
    data = bytearray(encode(make_image(2, (16, 16))))
    i = data.index(b"\xff\xc0")
    data[i + 5 : i + 7] = b"\x00\x00"
    return bytes(data)


def test_gpu_path_bookkeeping_with_the_cpu_decoder() -> None:
    """The nvJPEG path's choices (which images, orientation after decoding), run with torchvision's CPU
    decoder: only JPEGs whose header size was read go to it, and the EXIF rotation nvJPEG ignores is
    applied afterwards, as the CPU decoder applies it."""
    rotated = exif_image(6, size=(40, 24))
    datas = [rotated, rotated, encode(make_image(3), "PNG"), _unknown_size_jpeg()]
    assert read_header(datas[3]).pixels is None
    samples = [(_one(d, exif_transpose=i == 0), i) for i, d in enumerate(datas)]
    items, meta = device_decode._as_items(encoded_collate(samples)[0])
    headers = [read_header(bytes(t.numpy())) for t in items]
    out = device_decode._gpu_decode(items, meta, headers, torch.device("cpu"))
    assert out[2] is None and out[3] is None  # PNG and unknown size: the CPU decoder (with its checks)
    assert torch.equal(out[0], decode_tensor(rotated, exif_transpose=True))
    assert torch.equal(out[1], decode_tensor(rotated))


# --- worker steps -----------------------------------------------------------------------------------


def test_decode_only_reduced_jpeg_applies_limit_and_exif() -> None:
    data = encode(make_image(0, (700, 300)), quality=90)
    with pytest.raises(ImageTooLargeError, match=r"'big\.jpg', index 4\) declares 700 x 300"):
        DecodeOnly(max_side=300)(_one(data, "big.jpg", 4, max_image_pixels=100_000))
    assert DecodeOnly(max_side=300)(_one(data, max_image_pixels=None)).shape == (3, 129, 300)

    rotated = exif_image(6, size=(700, 300))
    out = DecodeOnly(max_side=300)(_one(rotated, exif_transpose=True))  # 1/2 DCT scale, rotated, resized
    full = F.resize(decode_tensor(rotated, exif_transpose=True), (300, 129), "bilinear")
    assert out.shape == (3, 300, 129) and (out.float() - full.float()).abs().mean() < 4
    assert DecodeOnly(max_side=300)(_one(rotated)).shape == (3, 129, 300)


def test_worker_steps_keep_pillows_bomb_warning_quiet_for_allowed_images(monkeypatch) -> None:
    data = encode(make_image(0, (700, 300)), quality=90)  # 210,000 pixels
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 150_000)  # Pillow warns above 150,000
    with pytest.warns(Image.DecompressionBombWarning):  # what Pillow does on its own
        Image.open(io.BytesIO(data))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = DecodeOnly(max_side=300)(_one(data))
        assert ReadBytes()(_one(data)).data is data
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]
    assert out.shape == (3, 129, 300)


def test_read_bytes_checks_the_declared_size() -> None:
    with pytest.raises(ImageTooLargeError, match=r"'bomb\.png', index 2\)"):
        ReadBytes()(_one(bomb_png(), "bomb.png", 2))
    small = encode(make_image(0, (40, 30)))
    with pytest.raises(ImageTooLargeError, match=r"'s\.jpg'"):
        ReadBytes()(_one(small, "s.jpg", max_image_pixels=1000))
    assert ReadBytes()(_one(small, max_image_pixels=USE_DEFAULT)).data is small
    with pytest.raises(ImageDecodeError, match=r"'empty\.jpg', index 1\)"):
        ReadBytes()(_one(b"", "empty.jpg", 1))


# --- create_loader(augment_on='device'): the dataset's on_error policy in the workers -----------------


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("device_hostile")
    (root / "a").mkdir()
    for i in range(6):
        make_image(i, (40 + 8 * i, 36)).save(root / "a" / f"{i}.jpg", quality=90)
    (root / "a" / "bomb.jpg").write_bytes(bomb_jpeg())
    (root / "a" / "empty.jpg").write_bytes(b"")
    (root / "a" / "text.jpg").write_bytes(b"a text file, not an image\n" * 10)
    return root


EVAL = dict(batch_size=3, device="cpu", seed=0, augment_on="device")
SITES = [("worker", 0), ("device", 0), ("device", 1)]


@pytest.mark.parametrize("decode_on, workers", SITES)
def test_device_path_skips_bad_samples_as_the_dataset_says(hostile, decode_on, workers) -> None:
    ds = ImageDataset(hostile, on_error="skip")
    loader = create_loader(ds, (3, 24, 24), num_workers=workers, decode_on=decode_on, **EVAL)
    assert isinstance(loader, DevicePrefetchLoader)
    batches = [x for x, _ in loader]
    assert sum(x.shape[0] for x in batches) == len(ds) == 9
    report = loader.skip_report()
    assert report.num_skipped == 3
    assert sorted(Path(r.filename).name for r in report.records) == ["bomb.jpg", "empty.jpg", "text.jpg"]
    assert report.by_error() == {"ImageDecodeError": 2, "ImageTooLargeError": 1}


@pytest.mark.parametrize("decode_on", ["worker", "device"])
def test_device_path_raises_naming_the_bomb(hostile, decode_on) -> None:
    loader = create_loader(ImageDataset(hostile), (3, 24, 24), num_workers=0, decode_on=decode_on, **EVAL)
    with pytest.raises(ImageTooLargeError, match=r"bomb\.jpg.*declares 60000 x 60000"):
        list(loader)


@pytest.mark.parametrize("decode_on", ["worker", "device"])
def test_device_path_applies_the_datasets_pixel_limit(hostile, decode_on) -> None:
    # images 40..80 px wide by 36 high: over 2,000 pixels from 56 x 36 on
    ds = ImageDataset(hostile, on_error="skip", max_image_pixels=2000)
    loader = create_loader(ds, (3, 24, 24), num_workers=0, decode_on=decode_on, **EVAL)
    assert sum(x.shape[0] for x, _ in loader) == 9
    names = sorted(Path(r.filename).name for r in loader.skip_report().records)
    assert names == ["2.jpg", "3.jpg", "4.jpg", "5.jpg", "bomb.jpg", "empty.jpg", "text.jpg"]


def test_device_path_applies_exif_orientation_at_both_decode_sites(tmp_path) -> None:
    (tmp_path / "a").mkdir()
    for o in (1, 6, 8, 3):
        (tmp_path / "a" / f"o{o}.jpg").write_bytes(exif_image(o, size=(48, 24)))
    kw = dict(batch_size=4, num_workers=0, device="cpu", seed=0, augment_on="device", crop_pct=1.0)

    def epoch(exif: bool, decode_on: str) -> torch.Tensor:
        ds = ImageDataset(tmp_path, exif_transpose=exif)
        return torch.cat([x for x, _ in create_loader(ds, (3, 24, 24), decode_on=decode_on, **kw)])

    worker, device = epoch(True, "worker"), epoch(True, "device")
    assert torch.equal(worker, device)
    assert not torch.equal(worker, epoch(False, "worker"))
    assert torch.equal(epoch(False, "worker"), epoch(False, "device"))


# --- on a GPU -------------------------------------------------------------------------------------------


@CUDA
def test_decode_batch_on_cuda_checks_sizes_and_applies_exif() -> None:
    rotated = exif_image(6, size=(40, 24))
    enc, _ = encoded_collate([(_one(rotated, exif_transpose=True), 0), (_one(rotated), 1)])
    out = decode_batch(enc, "cuda")
    for i, want in enumerate((decode_tensor(rotated, exif_transpose=True), decode_tensor(rotated))):
        h, w = want.shape[-2:]
        assert out.sizes[i].tolist() == [h, w]
        assert (out.images[i, :, :h, :w].cpu().int() - want.int()).abs().float().mean() < 1.0
    enc, _ = encoded_collate([(_one(bomb_jpeg(), "bomb.jpg", 1), 0)])
    with pytest.raises(ImageTooLargeError, match=r"bomb\.jpg"):
        decode_batch(enc, "cuda")
    small = encode(make_image(0, (40, 30)))
    enc, _ = encoded_collate([(_one(small, "s.jpg", max_image_pixels=1000), 0)])
    with pytest.raises(ImageTooLargeError, match=r"s\.jpg"):
        decode_batch(enc, "cuda")
