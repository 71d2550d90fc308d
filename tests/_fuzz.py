"""Shared settings and strategies for the property-based (fuzz) tests.

Every fuzz test is reproducible by default: a fixed number of examples, ``derandomize=True`` (the examples
are a pure function of the test), no example database and no deadline. ``PIXELPIPE_FUZZ_EXAMPLES=N`` runs
``N`` examples per fuzz test instead, with fresh random examples each run (see ``tests/README.md``).
"""

from __future__ import annotations

import os

import numpy as np
import torch
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from PIL import Image

LONG_EXAMPLES = int(os.environ.get("PIXELPIPE_FUZZ_EXAMPLES", "0") or 0)
"""Examples per fuzz test requested through the environment (0: the small defaults)."""


def fuzz_settings(max_examples: int) -> settings:
    """Hypothesis settings for a fuzz test: ``max_examples`` (or ``PIXELPIPE_FUZZ_EXAMPLES``) examples."""
    return settings(
        max_examples=LONG_EXAMPLES or max_examples,
        derandomize=not LONG_EXAMPLES,
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.function_scoped_fixture,  # the fixtures used are the same for every example
        ],
    )


# --- images ---------------------------------------------------------------------------------------------

ODD_SIZES = [(1, 1), (1, 2), (2, 1), (1, 300), (300, 1), (2, 300), (300, 3), (7, 5)]
"""``(height, width)`` pairs that break naive size arithmetic."""


@st.composite
def image_sizes(draw, max_side: int = 300) -> tuple[int, int]:
    """``(height, width)`` from 1x1 to ``max_side`` pixels a side, with odd aspect ratios well represented."""
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.sampled_from(ODD_SIZES))
    if kind == 1:
        return draw(st.integers(1, 12)), draw(st.integers(1, 12))
    return draw(st.integers(1, max_side)), draw(st.integers(1, max_side))


def make_pixels(height: int, width: int, channels: int, seed: int) -> np.ndarray:
    """A ``(H, W, C)`` uint8 array: noise over a gradient, or a flat colour (edge cases of autocontrast)."""
    rng = np.random.default_rng(seed)
    if seed % 5 == 0:
        return np.full((height, width, channels), rng.integers(0, 256), np.uint8)
    yy, xx = np.mgrid[0:height, 0:width]
    base = ((xx * 255) // max(width - 1, 1) + (yy * 127) // max(height - 1, 1))[..., None]
    noise = rng.integers(-40, 41, size=(height, width, channels))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def as_pil(arr: np.ndarray) -> Image.Image:
    return Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr, "L" if arr.shape[-1] == 1 else "RGB")


def as_tensor(arr: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))


@st.composite
def images(draw, max_side: int = 300, channels: tuple[int, ...] = (1, 3), backends=("pil", "tensor")):
    """A PIL image (``L`` / ``RGB``) or a uint8 ``(C, H, W)`` tensor of a random size."""
    h, w = draw(image_sizes(max_side))
    c = draw(st.sampled_from(channels))
    arr = make_pixels(h, w, c, draw(st.integers(0, 2**31 - 1)))
    return as_pil(arr) if draw(st.sampled_from(backends)) == "pil" else as_tensor(arr)


def hw(img) -> tuple[int, int]:
    """``(height, width)`` of a PIL image or a ``(..., H, W)`` tensor / array."""
    if isinstance(img, Image.Image):
        return img.height, img.width
    return int(img.shape[-2]), int(img.shape[-1])


def check_image(out, like) -> None:
    """``out`` is the same kind of image as ``like``: PIL of the same mode, or a uint8 tensor with as many
    channels (values are then in range by their type) on the same device."""
    if isinstance(like, Image.Image):
        assert isinstance(out, Image.Image), type(out)
        assert out.mode == like.mode
        assert out.width >= 1 and out.height >= 1
    else:
        assert isinstance(out, torch.Tensor), type(out)
        assert out.dtype == like.dtype and out.device == like.device
        assert out.ndim == like.ndim and out.shape[0] == like.shape[0]
        assert out.shape[-1] >= 1 and out.shape[-2] >= 1


def check_float(out: torch.Tensor, lo: float | None = None, hi: float | None = None) -> None:
    """A floating tensor with finite values (within ``[lo, hi]`` when given)."""
    assert isinstance(out, torch.Tensor) and out.is_floating_point(), type(out)
    assert bool(torch.isfinite(out).all())
    if lo is not None:
        assert float(out.min()) >= lo - 1e-6
    if hi is not None:
        assert float(out.max()) <= hi + 1e-6
