"""DecodeRandomResizedCrop: same windows as RandomResizedCropAndInterpolation, full-decode path equal to
decode-then-crop, reduced JPEG decode only where the output resolution is kept, PSNR >= 35 dB against the
full decode."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.io import decode_image

import pixelpipe.transforms as T
from conftest import encode, make_image
from pixelpipe.factories import create_transform
from pixelpipe.transforms.decode_crop import REDUCING_GAP, DecodeCropParams, draft_scale
from pixelpipe.transforms.resize import CropParams


def _large_jpeg(photos_dir) -> bytes:
    if photos_dir is not None and (photos_dir / "retina.jpg").is_file():
        img = (
            Image.open(photos_dir / "retina.jpg")
            .convert("RGB")
            .resize((1800, 1350), Image.Resampling.BICUBIC)
        )
    else:  # a smooth, photo-like generated image
        yy, xx = np.mgrid[0:1350, 0:1800].astype(np.float32)
        arr = np.stack(
            [128 + 90 * np.sin(xx / 70), 128 + 90 * np.cos(yy / 55), 128 + 60 * np.sin((xx + yy) / 90)]
        )
        img = Image.fromarray(arr.transpose(1, 2, 0).astype(np.uint8))
    return encode(img, quality=90)


def test_windows_match_random_resized_crop():
    data = encode(make_image(0, (300, 200)))
    rrc = T.RandomResizedCropAndInterpolation(64, interpolation="random")
    dec = T.DecodeRandomResizedCrop(rrc=rrc)
    pil = Image.open(io.BytesIO(data))
    for seed in range(20):
        a = rrc.make_params(pil, np.random.default_rng(seed))
        b = dec.make_params(data, np.random.default_rng(seed))
        assert a == b.crop


def test_full_decode_path_equals_decode_then_crop():
    data = encode(make_image(1, (300, 200)))
    dec = T.DecodeRandomResizedCrop(48)
    full = decode_image(torch.frombuffer(bytearray(data), dtype=torch.uint8))
    for seed in range(5):
        p = DecodeCropParams(dec.make_params(data, np.random.default_rng(seed)).crop, 1)  # full decode
        assert torch.equal(dec.apply(data, p), dec.rrc.apply(full, p.crop))


def test_png_and_greyscale_inputs():
    png = encode(make_image(2, (90, 70)), fmt="PNG")
    out = T.DecodeRandomResizedCrop(32)(png, rng=np.random.default_rng(0))
    assert out.shape == (3, 32, 32) and out.dtype == torch.uint8
    grey = encode(Image.new("L", (1500, 1200), 77))
    dec = T.DecodeRandomResizedCrop(32, scale=(0.9, 1.0), mode="L")
    p = dec.make_params(grey, np.random.default_rng(0))
    assert p.scale == 8
    out = dec.apply(grey, p)
    assert out.shape == (1, 32, 32) and int((out.int() - 77).abs().max()) <= 1


def test_draft_scale_keeps_output_resolution():
    for win in range(200, 4000, 37):
        s = draft_scale(win, win + 50, 224, 224)
        assert s in (1, 2, 4, 8)
        if s > 1:  # the shrunk window keeps the margin over the output on both axes
            assert win // s >= REDUCING_GAP * 224
        if s < 8:  # and the next scale would not
            assert win // (2 * s) < REDUCING_GAP * 224 or (win + 50) // (2 * s) < REDUCING_GAP * 224


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return 10 * np.log10(255**2 / max(float(((a.double() - b.double()) ** 2).mean()), 1e-12))


def test_reduced_decode_psnr_against_full_decode(photos_dir):
    data = _large_jpeg(photos_dir)
    dec = T.DecodeRandomResizedCrop(224)
    rng = np.random.default_rng(0)
    reduced = 0
    for _ in range(12):
        p = dec.make_params(data, rng)
        if p.scale == 1:
            continue
        reduced += 1
        psnr = _psnr(dec.apply(data, p), dec.apply(data, DecodeCropParams(p.crop, 1)))
        assert psnr >= 35.0, f"scale {p.scale}: PSNR {psnr:.1f} dB"
    assert reduced >= 3


def _detail_tile(photos_dir, name: str, size: tuple[int, int]) -> bytes:
    """A large JPEG with full-resolution detail: the photo tiled, not upscaled (generated noise+waves without
    the photos)."""
    w, h = size
    if photos_dir is not None and (photos_dir / name).is_file():
        arr = np.asarray(Image.open(photos_dir / name).convert("RGB"))
    else:
        arr = np.asarray(make_image(sum(map(ord, name)), (400, 300)))
    tiles = (h // arr.shape[0] + 1, w // arr.shape[1] + 1, 1)
    return encode(Image.fromarray(np.ascontiguousarray(np.tile(arr, tiles)[:h, :w])), quality=90)


@pytest.mark.parametrize("name", ["gravel.png", "grass.png", "china.jpg", "retina.jpg"])
@pytest.mark.parametrize("scale", [2, 4, 8])
def test_reduced_decode_psnr_at_the_threshold(photos_dir, name, scale):
    """Windows just at the margin (the hardest case the rule allows) on full-detail textures, including one
    at the bottom-right corner of an image whose size is not a multiple of the scale."""
    side = int(np.ceil(REDUCING_GAP * 224)) * scale
    size = side * 3 // 2 + 3
    data = _detail_tile(photos_dir, name, (size, size))
    dec = T.DecodeRandomResizedCrop(224)
    corner = size - int(side * 1.2)
    for top, left, aspect in [(0, 0, 1.0), (37, 91, 1.2), (13, 29, 0.8), (size - side, corner, 1.2)]:
        h, w = (side, int(side * aspect)) if aspect >= 1 else (int(side / aspect), side)
        crop = CropParams(top, left, h, w, "bilinear")
        assert draft_scale(h, w, 224, 224) == scale
        reduced, full = (dec.apply(data, DecodeCropParams(crop, s)) for s in (scale, 1))
        psnr = _psnr(reduced, full)
        assert psnr >= 35.0, f"{name} scale {scale} window {h}x{w} at ({top}, {left}): PSNR {psnr:.1f} dB"


def test_rejects_non_bytes():
    with pytest.raises(TypeError, match="bytes"):
        T.DecodeRandomResizedCrop(32)(make_image(0), rng=np.random.default_rng(0))


@pytest.mark.parametrize(
    "mode, kw",
    [
        ("RGB", {}),
        ("RGB", {"progressive": True}),
        ("L", {}),
        ("CMYK", {}),
        ("RGB", {"exif": b"Exif\x00\x00" * 20}),
    ],
)
def test_jpeg_size_reads_frame_header(mode, kw):
    from pixelpipe.transforms.decode_crop import jpeg_size

    data = encode(Image.new(mode, (33, 17)), **kw)
    assert jpeg_size(data) == (17, 33)


def test_jpeg_size_rejects_other_data():
    from pixelpipe.transforms.decode_crop import jpeg_size

    assert jpeg_size(b"") is None
    assert jpeg_size(encode(make_image(0), fmt="PNG")) is None
    assert jpeg_size(encode(make_image(0))[:20]) is None


@pytest.mark.parametrize("mode", ["RGB", "L"])
@pytest.mark.parametrize("size", [(900, 700), (120, 100)])  # reduced and full decode
def test_pil_output_equals_tensor_output(mode, size):
    from pixelpipe.transforms.decode_crop import tensor_to_pil

    buf = io.BytesIO()
    make_image(11, size, "RGB").save(buf, format="JPEG", quality=90)
    data = buf.getvalue()
    as_tensor = T.DecodeRandomResizedCrop(64, mode=mode)
    as_pil = T.DecodeRandomResizedCrop(64, mode=mode, output="pil")
    for seed in range(6):
        p = as_tensor.make_params(data, np.random.default_rng(seed))
        t, im = as_tensor.apply(data, p), as_pil.apply(data, p)
        assert isinstance(im, Image.Image) and im.mode == mode and im.size == (64, 64)
        assert torch.equal(torch.from_numpy(np.array(im)).reshape(64, 64, -1).permute(2, 0, 1), t)
        assert np.array_equal(np.asarray(tensor_to_pil(t)), np.asarray(im))


def test_bad_output_raises():
    from pixelpipe.errors import ConfigError

    with pytest.raises(ConfigError, match="output"):
        T.DecodeRandomResizedCrop(64, output="numpy")


def test_decode_pipeline_prints_as_its_compose():
    from pixelpipe.transforms.decode_crop import fuse_decode

    tf = create_transform(32, is_training=True)
    fused = fuse_decode(tf)
    assert type(fused).__name__ == "DecodePipeline" and repr(fused) == repr(tf)
