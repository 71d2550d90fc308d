"""Decoding through the maintained API: TorchCodec when installed, else torchvision.io, else Pillow.

The three backends give identical pixels (JPEG: 4:4:4, 4:2:2, 4:2:0, greyscale, progressive; WebP), keep
pixelpipe's EXIF rule (an image stays as stored unless ``exif_transpose=True``: TorchCodec's own rotation
is undone) and raise no deprecation warning on the default paths.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import encode, make_image
from pixelpipe.errors import ConfigError
from pixelpipe.factories import create_transform
from pixelpipe.io import EncodedImage, decode_pil, decode_tensor
from pixelpipe.io import codecs as C

AVAILABLE = [name for name in C.DECODER_BACKENDS if C._available(name)]


@pytest.fixture
def backend(request):
    C.set_decoder_backend(request.param)
    yield request.param
    C.set_decoder_backend(None)


def _pil_tensor(data: bytes, mode: str = "RGB", exif_transpose: bool = False) -> torch.Tensor:
    arr = np.array(decode_pil(data, mode, exif_transpose=exif_transpose))
    t = torch.from_numpy(arr)
    return t.unsqueeze(0) if t.ndim == 2 else t.permute(2, 0, 1)


def _jpegs() -> dict[str, bytes]:
    img = make_image(11, (67, 45))
    return {
        "420": encode(img, "JPEG", quality=90),
        "444": encode(img, "JPEG", quality=95, subsampling=0),
        "422": encode(img, "JPEG", quality=80, subsampling=1),
        "progressive": encode(img, "JPEG", quality=85, progressive=True),
        "grey": encode(img.convert("L"), "JPEG", quality=90),
    }


def test_the_default_is_the_first_available_backend():
    C.set_decoder_backend(None)
    assert C.decoder_backend() == AVAILABLE[0]
    pytest.importorskip("torchcodec")
    assert C.decoder_backend() == "torchcodec"


def test_forcing_a_backend_is_checked(monkeypatch):
    with pytest.raises(ConfigError, match="expected one of"):
        C.set_decoder_backend("nvjpeg")
    monkeypatch.setattr(C, "_TC_OPS", False)
    with pytest.raises(ConfigError, match="torchcodec decoders are not available"):
        C.set_decoder_backend("torchcodec")
    monkeypatch.setenv("PIXELPIPE_DECODER", "pillow")
    monkeypatch.setattr(C, "_chosen", None)
    assert C.decoder_backend() == "pillow"
    monkeypatch.setattr(C, "_chosen", None)
    monkeypatch.delenv("PIXELPIPE_DECODER")
    assert C.decoder_backend() == "torchvision"  # TorchCodec "missing": the next one


@pytest.mark.parametrize("backend", AVAILABLE, indirect=True)
@pytest.mark.parametrize("kind", list(_jpegs()))
@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_jpeg_pixels_identical_across_backends(backend, kind, mode):
    data = _jpegs()[kind]
    assert torch.equal(decode_tensor(data, mode), _pil_tensor(data, mode))


@pytest.mark.parametrize("backend", AVAILABLE, indirect=True)
@pytest.mark.parametrize("lossless", [False, True])
def test_webp_pixels_identical_across_backends(backend, lossless):
    img = make_image(12, (41, 29))
    data = encode(img, "WEBP", quality=80, lossless=lossless)
    assert torch.equal(decode_tensor(data), _pil_tensor(data))
    rgba = encode(img.convert("RGBA"), "WEBP", lossless=True)
    assert torch.equal(decode_tensor(rgba, "RGBA"), _pil_tensor(rgba, "RGBA"))


def _oriented_jpeg(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(make_image(13, (36, 22)), "JPEG", quality=92, exif=exif.tobytes())


@pytest.mark.parametrize("backend", AVAILABLE, indirect=True)
@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_only_with_exif_transpose(backend, orientation):
    data = _oriented_jpeg(orientation)
    stored = decode_tensor(data)
    assert stored.shape == (3, 22, 36)  # as stored, whatever the tag
    assert torch.equal(stored, _pil_tensor(data))
    turned = decode_tensor(data, exif_transpose=True)
    assert torch.equal(turned, _pil_tensor(data, exif_transpose=True))
    # the fused crop draws its window on the stored size and decodes the stored image
    tf = create_transform(16, is_training=True, use_prefetcher=True, color_jitter=None, hflip=0.0)
    exact = create_transform(
        16, is_training=True, use_prefetcher=True, color_jitter=None, hflip=0.0, backend="pil"
    )
    a = tf(EncodedImage(data), rng=np.random.default_rng(orientation))
    b = exact(decode_pil(data), rng=np.random.default_rng(orientation))
    assert (a.float() - b.float()).abs().mean() <= 1.0


def test_webp_with_exif_is_not_given_to_torchcodec(monkeypatch):
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(make_image(14, (30, 20)), "WEBP", lossless=True, exif=exif.tobytes())
    assert C._webp_has_exif(data)
    assert not C._webp_has_exif(encode(make_image(14, (30, 20)), "WEBP", lossless=True))
    for name in AVAILABLE:
        C.set_decoder_backend(name)
        try:
            assert torch.equal(decode_tensor(data), _pil_tensor(data))
            assert torch.equal(
                decode_tensor(data, exif_transpose=True), _pil_tensor(data, exif_transpose=True)
            )
        finally:
            C.set_decoder_backend(None)


def test_undo_orientation_inverts_pil_exif_transpose():
    from PIL import ImageOps

    img = make_image(15, (7, 5))
    x = torch.from_numpy(np.array(img)).permute(2, 0, 1)
    for orientation in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = orientation
        tagged = Image.open(__import__("io").BytesIO(encode(img, "PNG", exif=exif.tobytes())))
        turned = torch.from_numpy(np.array(ImageOps.exif_transpose(tagged).convert("RGB"))).permute(2, 0, 1)
        assert torch.equal(C._apply_orientation(x, orientation), turned), orientation
        assert torch.equal(C.undo_orientation(turned, orientation), x), orientation


def test_no_deprecation_warning_is_raised_on_the_default_paths(tmp_path):
    """The default paths (dataset + create_transform, eval and train, JPEG / PNG / WebP) raise no
    DeprecationWarning at all (recorded with every filter off), on each backend: torchvision's warning for
    its decoders is not merely filtered, it never happens."""
    from pixelpipe import ImageDataset

    for i, fmt in enumerate(["JPEG", "PNG", "WEBP"]):
        d = tmp_path / f"c{i}"
        d.mkdir()
        make_image(i, (60, 50)).save(d / f"x.{fmt.lower()}", format=fmt)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for name in AVAILABLE:
            C.set_decoder_backend(name)
            try:
                for tf in (
                    create_transform(32),
                    create_transform(32, is_training=True, auto_augment="rand-m9"),
                ):
                    ds = ImageDataset(tmp_path, transform=tf)
                    assert ds.decodes_in_transform
                    for i in range(len(ds)):
                        ds[i]
                    decode_tensor((tmp_path / "c0" / "x.jpeg").read_bytes())
            finally:
                C.set_decoder_backend(None)
    assert [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)] == []
