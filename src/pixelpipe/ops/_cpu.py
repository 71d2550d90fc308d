"""The per-image CPU plumbing: OpenCV and Pillow on a ``uint8`` tensor's own memory.

The per-image CPU kernels of :mod:`pixelpipe.ops` (each op kind's ``cpu``) run on one ``(C, H, W)`` CPU
image with 1 or 3 channels (:func:`cpu_fast`), viewed as an ``(H, W, C)`` array without a layout copy when
its memory is channels-last (what ``torchvision.io`` decodes to and what these kernels return). OpenCV runs
single-threaded: its thread pool is not fork-safe (see :func:`cv`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image

from ._batched import fill_values

_cv2: Any = None


def cv() -> Any:
    """OpenCV, imported on first use and kept single-threaded.

    OpenCV's thread pool is not fork-safe: a DataLoader worker forked after the pool ran in the parent (a
    ``num_workers=0`` epoch, a preview) can deadlock in its first OpenCV call. These kernels work on one
    small image at a time, where threads gain little, so the pool is never started.
    """
    global _cv2
    if _cv2 is None:
        import cv2

        cv2.setNumThreads(1)
        _cv2 = cv2
    return _cv2


def cpu_fast(img: torch.Tensor) -> bool:
    """Whether ``img`` takes the CPU fast path (a CPU tensor with 1 or 3 channels)."""
    return img.device.type == "cpu" and img.shape[-3] in (1, 3) and img.shape[-2] > 0 and img.shape[-1] > 0


def hwc(img: torch.Tensor) -> np.ndarray:
    """One ``(C, H, W)`` image as an ``(H, W, C)`` C-contiguous array: a view when its memory is already
    channels-last (what ``torchvision.io`` decodes to and what these kernels return), else one copy."""
    arr = img.detach().numpy().transpose(1, 2, 0)  # host-sync: none, a CPU tensor (per-image kernels)
    return arr if arr.flags.c_contiguous else np.ascontiguousarray(arr)


def from_hwc(arr: np.ndarray) -> torch.Tensor:
    """An ``(H, W, C)`` (or ``(H, W)``) array as a ``(C, H, W)`` tensor over the same memory."""
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if not arr.flags.writeable or not arr.flags.c_contiguous:
        arr = np.array(arr, order="C")
    return torch.from_numpy(arr).permute(2, 0, 1)


def per_image(img: torch.Tensor, fn: Callable[[np.ndarray], np.ndarray]) -> torch.Tensor:
    """Apply ``fn`` (``(H, W, C)`` uint8 array to ``(H, W, C)`` or ``(H, W)`` uint8 array) to each image.

    No layout copies for channels-last memory: the result is a ``(..., C, H, W)`` tensor whose memory is
    ``(..., H, W, C)``.
    """
    if img.ndim == 3:
        return from_hwc(fn(hwc(img)))
    flat = img.reshape(-1, *img.shape[-3:])
    outs = [fn(hwc(one)) for one in flat]
    stacked = np.stack([o[:, :, None] if o.ndim == 2 else o for o in outs])
    return torch.from_numpy(stacked).permute(0, 3, 1, 2).reshape(img.shape)


def to_pil(arr: np.ndarray) -> Image.Image:
    """An ``(H, W, C)`` uint8 array (C = 1 or 3) as a PIL image sharing its memory where Pillow allows."""
    h, w, ch = arr.shape
    if ch == 1:
        return Image.frombuffer("L", (w, h), np.ascontiguousarray(arr), "raw", "L", 0, 1)
    return Image.frombuffer("RGB", (w, h), np.ascontiguousarray(arr), "raw", "RGB", 0, 1)


_HALF_UP = 2.0**-9  # above float32 resolution (OpenCV computes in float32) up to 8192 px
_FILL_CACHE: dict[tuple[int, int, tuple[int, ...]], np.ndarray] = {}


_ZEROS: dict[tuple[int, int], np.ndarray] = {}


def _zeros(h: int, w: int) -> np.ndarray:
    """A read-only ``(H, W)`` uint8 image of zeros (cached)."""
    out = _ZEROS.get((h, w))
    if out is None:
        if len(_ZEROS) >= 16:
            _ZEROS.clear()
        out = np.zeros((h, w), np.uint8)
        out.flags.writeable = False
        _ZEROS[(h, w)] = out
    return out


def _fill_image(h: int, w: int, fill: float | Sequence[float], ch: int) -> np.ndarray:
    """A read-only ``(H, W, C)`` image of the fill colour (cached: building one costs about a warp)."""
    vals = fill_values(fill, ch)
    key = (h, w, vals)
    out = _FILL_CACHE.get(key)
    if out is None:
        if len(_FILL_CACHE) >= 16:
            _FILL_CACHE.clear()
        planes = [np.full((h, w), v, np.uint8) for v in vals]
        out = (planes[0] if ch == 1 else cv().merge(planes)).reshape(h, w, ch)
        out.flags.writeable = False
        _FILL_CACHE[key] = out
    return out


def via_pil(fn: Callable[..., Image.Image], img: torch.Tensor, *args: Any) -> torch.Tensor:
    """Run Pillow's op ``fn`` (from :mod:`~pixelpipe.ops.pil`) on each image: exact."""

    return per_image(img, lambda arr: np.asarray(fn(to_pil(arr), *args)))


def lut_cpu(img: torch.Tensor, lut: np.ndarray) -> torch.Tensor:
    """Map every value through the ``(256,)`` uint8 table ``lut`` (exact)."""
    if img.ndim == 3:  # keep the memory layout (channels-last stays channels-last)
        arr = hwc(img)
        return from_hwc(cv().LUT(arr.reshape(arr.shape[0], -1), lut).reshape(arr.shape))
    arr = np.ascontiguousarray(img.detach().numpy())  # host-sync: none, a CPU tensor
    flat = arr.reshape(-1, arr.shape[-1])
    return torch.from_numpy(cv().LUT(flat, lut).reshape(arr.shape))


def lut_per_channel(img: torch.Tensor, luts: np.ndarray) -> torch.Tensor:
    """Map channel ``c`` of one ``(C, H, W)`` image through ``luts[c]`` (``(C, 256)`` uint8), exactly."""
    arr = hwc(img)
    ch = arr.shape[2]
    if ch == 1:
        return from_hwc(cv().LUT(arr[:, :, 0], luts[0]))
    return from_hwc(cv().LUT(arr, np.ascontiguousarray(luts.T).reshape(1, 256, ch)))


def planes(img: torch.Tensor) -> list[np.ndarray]:
    arr = hwc(img)
    return [arr[:, :, 0]] if arr.shape[2] == 1 else list(cv().split(arr))


def affine_cv2(
    arr: np.ndarray, matrix: Sequence[float], fill: float | Sequence[float], interpolation: str
) -> np.ndarray:
    """:func:`_affine` for one ``(H, W, C)`` array with ``cv2.warpAffine``, returned as ``(H, W, C)``.

    Pillow samples output pixel ``(x, y)`` at input ``M @ (x + 0.5, y + 0.5)`` (pixel-centre coordinates),
    interpolates at that point minus 0.5 (index coordinates) with edge-clamped neighbours, truncates, and
    fills outputs whose sample point falls outside ``[0, W) x [0, H)``. Here: the same matrix shifted to index
    coordinates (``WARP_INVERSE_MAP``), float32 samples with ``BORDER_REPLICATE`` neighbours, truncation, and
    the outside test done by a nearest-neighbour warp of a constant image (round-half-up of the index
    coordinate is inside exactly when the centre coordinate is in ``[0, W)``; the decision can differ from
    Pillow's only for sample points within 0.002 px of the image edge).
    """
    cv2 = cv()
    a, b, c, d, e, f = (float(v) for v in matrix)
    h, w, ch = arr.shape
    m = np.array(
        [[a, b, c + 0.5 * (a + b) - 0.5], [d, e, f + 0.5 * (d + e) - 0.5]],
        dtype=np.float64,
    )
    # OpenCV's float warp is about 1.6x faster on 4 channels than on 3 (its SIMD paths): pad RGB to RGBA
    src = arr[:, :, 0] if ch == 1 else cv2.cvtColor(arr, cv2.COLOR_RGB2RGBA) if ch == 3 else arr
    flags = (cv2.INTER_LINEAR if interpolation == "bilinear" else cv2.INTER_CUBIC) | cv2.WARP_INVERSE_MAP
    out = cv2.warpAffine(src.astype(np.float32), m, (w, h), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    if interpolation != "bilinear":  # cubic overshoots
        np.clip(out, 0.0, 255.0, out=out)
    out = out.astype(np.uint8)
    out = cv2.cvtColor(out, cv2.COLOR_RGBA2RGB) if ch == 3 else out.reshape(h, w, ch)
    # OpenCV's nearest rounds half to even; a tiny shift makes exact halves round up, as Pillow's test does
    m_mask = m + np.array([[0.0, 0.0, _HALF_UP], [0.0, 0.0, _HALF_UP]])
    outside = cv2.warpAffine(
        _zeros(h, w),
        m_mask,
        (w, h),
        flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=255,
    )
    cv2.copyTo(_fill_image(h, w, fill, ch), outside, out)
    return out


def shift_cv2(arr: np.ndarray, dx: float, dy: float, fill: float | Sequence[float]) -> np.ndarray:
    """:func:`affine_cv2` for a translation along one axis (``dx`` or ``dy`` is 0), bilinear.

    Each output pixel mixes two neighbours along that axis with the same weight, so no warp is needed:
    ``a + (b - a) * t`` on shifted views of the edge-padded image (float32, truncated, as Pillow's
    formula), the fill where Pillow's sample centre falls outside the image. About 3x cheaper than the warp;
    within the warp path's tolerance of Pillow (float32 instead of float64 arithmetic).
    """
    cv2 = cv()
    h, w, ch = arr.shape
    axis, shift, size = (1, dx, w) if dy == 0.0 else (0, dy, h)
    whole = math.floor(shift)
    t = shift - whole
    # output index i samples i + shift (index coordinates); inside while the centre i + 0.5 + shift is in
    # [0, size): i in [lo, hi)
    lo = min(max(math.ceil(-0.5 - shift), 0), size)
    hi = min(max(math.ceil(size - 0.5 - shift), lo), size)
    out = np.empty_like(arr)
    filled = _fill_image(h, w, fill, ch)
    for part in (slice(0, lo), slice(hi, size)):
        index = (slice(None), part) if axis == 1 else (part,)
        out[index] = filled[index]
    if hi > lo:
        pad = (1, 1, 0, 0) if axis == 0 else (0, 0, 1, 1)
        padded = cv2.copyMakeBorder(arr, *pad, cv2.BORDER_REPLICATE).reshape(
            h + 2 * (axis == 0), w + 2 * (axis == 1), ch
        )
        start = lo + whole + 1  # padded index of the left/top neighbour of output lo
        window: list[slice] = [slice(None)] * 2
        window[axis] = slice(start, start + hi - lo)
        first = padded[tuple(window)]
        window[axis] = slice(start + 1, start + 1 + hi - lo)
        second = padded[tuple(window)]
        region = [slice(None)] * 2
        region[axis] = slice(lo, hi)
        if t == 0.0:
            out[tuple(region)] = first
        else:
            base = first.astype(np.float32)
            diff = cv2.subtract(second, first, dtype=cv2.CV_32F).reshape(base.shape)
            out[tuple(region)] = cv2.scaleAdd(diff, t, base).reshape(base.shape).astype(np.uint8)
    return out
