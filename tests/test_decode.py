"""Decoding: eager loading, mode conversion fixes (16-bit, palette transparency, animation), error wrapping,
and the tensor path matching the PIL path."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import encode, make_image
from pixelpipe.errors import ConfigError, ImageDecodeError, SampleError
from pixelpipe.io import decode_pil, decode_tensor

pytestmark = pytest.mark.filterwarnings(
    "ignore:The image decoding and encoding capabilities:DeprecationWarning"
)

DECODERS = [decode_pil, decode_tensor]


def _pixels(x) -> np.ndarray:
    """HWC (or HW for one channel) uint8 array from a PIL image or a CHW tensor."""
    if isinstance(x, torch.Tensor):
        arr = x.permute(1, 2, 0).numpy()
        return arr[..., 0] if arr.shape[-1] == 1 else arr
    return np.asarray(x)


def _gradient16(h: int = 16, w: int = 32) -> np.ndarray:
    return np.linspace(0, 65535, h * w).round().astype(np.uint16).reshape(h, w)


def _palette_png(transparency) -> bytes:
    img = make_image(3).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    return encode(img, "PNG", transparency=transparency)


def _gif(frames: int = 2) -> bytes:
    imgs = [make_image(i).convert("P") for i in range(frames)]
    buf = io.BytesIO()
    imgs[0].save(buf, "GIF", save_all=True, append_images=imgs[1:])
    return buf.getvalue()


CORRUPT = {
    "truncated.jpg": lambda: encode(make_image(0, (64, 64)), "JPEG")[:400],
    "empty.jpg": lambda: b"",
    "random.jpg": lambda: np.random.default_rng(0).integers(0, 256, 2000, dtype=np.uint8).tobytes(),
    "notes.jpg": lambda: b"this is a text file, not an image\n" * 10,
    "truncated.png": lambda: encode(make_image(1, (64, 64)), "PNG")[:300],
}


# --------------------------------------------------------------------------------------------------------
# decode_pil


def test_decode_pil_loads_and_converts(tmp_path):
    data = encode(make_image(0), "PNG")
    img = decode_pil(data)
    assert img.mode == "RGB" and img.size == (48, 40)
    np.testing.assert_array_equal(np.asarray(img), np.asarray(make_image(0)))
    assert decode_pil(data, "L").mode == "L"
    assert decode_pil(encode(make_image(0, mode="L"), "PNG"), None).mode == "L"
    assert decode_pil(encode(make_image(0, mode="L"), "PNG"), "").mode == "L"
    path = tmp_path / "a.png"
    path.write_bytes(data)
    with open(path, "rb") as f:  # file-like input
        assert decode_pil(f).size == (48, 40)
    assert decode_pil(bytearray(data)).size == (48, 40)
    assert decode_pil(memoryview(data)).size == (48, 40)
    assert decode_pil(make_image(1), "L").mode == "L"  # a PIL image is accepted too


def test_16bit_grey_png_is_scaled_not_clipped():
    arr = _gradient16()
    data = encode(Image.fromarray(arr), "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I;16")
    expected = ((arr.astype(np.int64) * 255 + 32767) // 65535).astype(np.uint8)
    rgb = np.asarray(decode_pil(data, "RGB"))
    for c in range(3):
        np.testing.assert_array_equal(rgb[..., c], expected)
    np.testing.assert_array_equal(np.asarray(decode_pil(data, "L")), expected)
    assert 100 < np.median(rgb) < 155  # the reference's convert('RGB') gives (almost) all white here
    clipped = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert (clipped == 255).mean() > 0.9
    assert decode_pil(data, None).mode.startswith("I;16")  # no conversion asked: raw samples kept


def test_mode_i_image_is_scaled():
    arr = _gradient16().astype(np.int32)
    img = Image.fromarray(arr, "I")
    out = np.asarray(decode_pil(img, "L"))
    np.testing.assert_array_equal(out, ((arr.astype(np.int64) * 255 + 32767) // 65535).astype(np.uint8))


@pytest.mark.parametrize("transparency", [3, bytes([0, 255, 0, 255] * 4)])
def test_palette_with_transparency_no_warning_and_correct_colours(transparency):
    data = _palette_png(transparency)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = decode_pil(data, "RGB")
    expected = Image.open(io.BytesIO(data)).convert("RGBA").convert("RGB")
    np.testing.assert_array_equal(np.asarray(out), np.asarray(expected))
    assert decode_pil(data, "RGBA").mode == "RGBA"
    assert decode_pil(data, "P").mode == "P"


def test_animated_gif_first_frame():
    data = _gif(3)
    img = decode_pil(data, "RGB")
    first = Image.open(io.BytesIO(data))
    first.seek(0)
    np.testing.assert_array_equal(np.asarray(img), np.asarray(first.convert("RGB")))


@pytest.mark.parametrize("decode", DECODERS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("name", sorted(CORRUPT))
def test_corrupt_data_raises_decode_error(decode, name):
    with pytest.raises(ImageDecodeError) as info:
        decode(CORRUPT[name](), filename=f"dir/{name}", index=7)
    err = info.value
    assert f"dir/{name}" in str(err) and "index 7" in str(err)
    assert err.filename == f"dir/{name}" and err.index == 7
    assert isinstance(err, OSError) and isinstance(err, SampleError)
    assert err.__cause__ is not None


def test_decode_error_without_names():
    with pytest.raises(ImageDecodeError, match="cannot decode image:"):
        decode_pil(b"nope")


def test_reading_a_failing_file_object_is_a_sample_error():
    class Broken(io.RawIOBase):
        def read(self, *args):
            raise OSError("disk on fire")

    with pytest.raises(SampleError, match="disk on fire") as info:
        decode_pil(Broken(), filename="x.jpg", index=1)
    assert info.value.filename == "x.jpg"
    with pytest.raises(TypeError):
        decode_pil(12345)


# --------------------------------------------------------------------------------------------------------
# decode_tensor vs decode_pil


def _cases():
    rgb = make_image(5, (40, 24))
    yield "jpeg-rgb", encode(rgb, "JPEG", quality=90), "RGB", 1
    yield "jpeg-rgb-as-L", encode(rgb, "JPEG", quality=90), "L", 1
    yield "jpeg-grey", encode(rgb.convert("L"), "JPEG"), "L", 1
    yield "jpeg-grey-as-RGB", encode(rgb.convert("L"), "JPEG"), "RGB", 1
    yield "jpeg-as-RGBA", encode(rgb, "JPEG"), "RGBA", 1
    yield "png-rgb", encode(rgb, "PNG"), "RGB", 0
    yield "png-rgb-as-L", encode(rgb, "PNG"), "L", 0
    yield "png-grey", encode(rgb.convert("L"), "PNG"), "L", 0
    yield "png-grey-as-RGB", encode(rgb.convert("L"), "PNG"), "RGB", 0
    rgba = rgb.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(rgb.size))
    yield "png-rgba", encode(rgba, "PNG"), "RGBA", 0
    yield "png-rgba-as-RGB", encode(rgba, "PNG"), "RGB", 0
    yield "png-la", encode(rgba.convert("LA"), "PNG"), "LA", 0
    yield "png-palette", encode(rgb.convert("P", palette=Image.Palette.ADAPTIVE), "PNG"), "RGB", 0
    yield "png-palette-transparent", _palette_png(3), "RGB", 0
    yield "png-palette-transparent-rgba", _palette_png(3), "RGBA", 0
    yield "png-16bit-grey", encode(Image.fromarray(_gradient16()), "PNG"), "L", 0
    yield "png-16bit-grey-as-RGB", encode(Image.fromarray(_gradient16()), "PNG"), "RGB", 0
    yield "gif", _gif(2), "RGB", 0
    yield "bmp", encode(rgb, "BMP"), "RGB", 0
    yield "webp-lossless", encode(rgb, "WEBP", lossless=True), "RGB", 0
    yield "tiff-as-L", encode(rgb, "TIFF"), "L", 0


@pytest.mark.parametrize(("data", "mode", "tol"), [c[1:] for c in _cases()], ids=[c[0] for c in _cases()])
def test_decode_tensor_matches_decode_pil(data, mode, tol):
    t = decode_tensor(data, mode)
    assert t.dtype == torch.uint8 and t.ndim == 3
    p = _pixels(decode_pil(data, mode))
    got = _pixels(t)
    assert got.shape == p.shape
    assert np.abs(got.astype(int) - p.astype(int)).max() <= tol


def test_decode_tensor_inputs_and_modes(tmp_path):
    data = encode(make_image(0), "PNG")
    path = tmp_path / "x.png"
    path.write_bytes(data)
    with open(path, "rb") as f:
        assert decode_tensor(f).shape == (3, 40, 48)
    assert decode_tensor(make_image(0), "L").shape == (1, 40, 48)
    assert decode_tensor(data, None).shape == (3, 40, 48)
    assert decode_tensor(encode(make_image(0), "JPEG"), None).shape == (3, 40, 48)
    assert decode_tensor(encode(make_image(0).convert("1"), "PNG"), "1").max() == 255
    with pytest.raises(ConfigError, match="uint8"):
        decode_tensor(data, "F")
    t16 = decode_tensor(encode(Image.fromarray(_gradient16()), "PNG"), None)
    assert t16.dtype == torch.uint8 and t16.shape[0] == 1


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
@pytest.mark.parametrize("direct", [True, False], ids=["registered-op", "public-fallback"])
def test_tv_decode_equals_torchvision_public_decoders(monkeypatch, fmt, direct):
    """The direct call of torchvision's registered ops gives what its public functions give (and the
    fallback, used where the ops are not where we expect them, is those functions)."""
    from torchvision.io import ImageReadMode, decode_image, decode_jpeg

    import pixelpipe.io.decode as D

    if not direct:
        monkeypatch.setattr(D, "_TV_OPS", False)
    data = encode(make_image(3, (37, 29)), fmt)
    buf = torch.frombuffer(bytearray(data), dtype=torch.uint8)
    modes = (ImageReadMode.RGB, ImageReadMode.GRAY) if fmt == "JPEG" else (ImageReadMode.RGB,)
    for mode in modes:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            public = decode_jpeg(buf, mode=mode) if fmt == "JPEG" else decode_image(buf, mode=mode)
        got = D.tv_decode(data, mode, jpeg=fmt == "JPEG")
        assert torch.equal(got, public)
    with pytest.raises(RuntimeError):
        D.tv_decode(data[: len(data) // 3] + b"\x00" * 8, ImageReadMode.RGB, jpeg=fmt == "JPEG")


def test_without_torchvision_decoders_pillow_decodes(monkeypatch):
    """torchvision deprecates its image decoders: where they are gone, decode_tensor and the fused crop
    still work (through Pillow), with the same pixels as decode_pil."""
    import builtins

    import pixelpipe.io.decode as D
    from pixelpipe.transforms import DecodeRandomResizedCrop, RandomResizedCropAndInterpolation

    real_import = builtins.__import__

    def no_tv_decoders(name, globals=None, locals=None, fromlist=(), level=0):
        if name == "torchvision.io" and fromlist and {"decode_jpeg", "decode_image"} & set(fromlist):
            raise ImportError("this torchvision has no image decoders")
        return real_import(name, globals, locals, fromlist, level)

    monkeypatch.setattr(D, "_TV_OPS", False)
    monkeypatch.setattr(builtins, "__import__", no_tv_decoders)
    data = encode(make_image(5, (33, 27)), "JPEG")
    assert D.tv_decode(data, __import__("torchvision.io").io.ImageReadMode.RGB, jpeg=True) is None
    got = decode_tensor(data)
    assert torch.equal(got, torch.from_numpy(np.array(decode_pil(data))).permute(2, 0, 1))
    crop = DecodeRandomResizedCrop(rrc=RandomResizedCropAndInterpolation(16))
    assert crop(data).shape == (3, 16, 16)
