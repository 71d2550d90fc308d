"""Shared fixtures: small generated images, folders and archives (tests never download anything)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "photos"


def make_image(seed: int, size: tuple[int, int] = (48, 40), mode: str = "RGB") -> Image.Image:
    """A deterministic, textured test image (not flat, so augmentation ops change pixels)."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([(xx * 255 // max(w - 1, 1)), (yy * 255 // max(h - 1, 1)), ((xx + yy) * 7) % 256], -1)
    noise = rng.integers(0, 64, size=(h, w, 3))
    arr = np.clip(base + noise - 32, 0, 255).astype(np.uint8)
    img = Image.fromarray(arr, "RGB")
    return img if mode == "RGB" else img.convert(mode)


def encode(img: Image.Image, fmt: str = "JPEG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``cuda`` skip cleanly where no CUDA device is present (``pytest -m cuda`` selects them;
    ``tests/test_cuda_markers.py`` checks that every test using CUDA carries the mark)."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (marked cuda)")
    for item in items:
        if item.get_closest_marker("cuda") is not None:
            item.add_marker(skip)


@pytest.fixture
def image_factory():
    return make_image


@pytest.fixture(scope="session")
def photos_dir() -> Path | None:
    return PHOTOS if PHOTOS.is_dir() else None


@pytest.fixture(scope="session")
def s3_server():
    """One moto S3 server on 127.0.0.1 for the session (``AWS_ENDPOINT_URL`` set while it runs)."""
    pytest.importorskip("moto.server")
    pytest.importorskip("s3fs")
    from test_streaming_helpers import S3Server

    server = S3Server().start()
    try:
        yield server
    finally:
        server.stop()
