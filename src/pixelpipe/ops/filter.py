"""The filters, Sharpness and GaussianBlur, Pillow's arithmetic on every tier.

Batched kernels on ``uint8`` ``(B, C, H, W)``:

* Sharpness sums Pillow's ``SMOOTH`` kernel (``1 1 1 / 1 5 1 / 1 1 1``, / 13) exactly in shifted adds, border
  pixels kept: **identical** to Pillow;
* GaussianBlur runs Pillow's three extended box-blur passes per axis in exact float64 fixed point, with one
  kernel per sample (a grouped convolution; radii differ per sample): **identical**.

Per-image CPU kernels (measured faster than the batched ones at batch size 1): Sharpness sums the kernel
with ``cv2.boxFilter`` and blends with Pillow, GaussianBlur runs Pillow's own filter: **identical**.

See :mod:`pixelpipe.batch.ops` for the conventions shared by every batched op.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from . import pil as P
from ._batched import Arg, _div, _rdiv, _with_arg
from ._cpu import cv, from_hwc, hwc, to_pil, via_pil
from ._spec import MinMaxLevel, OpKind, OpSpec, enhance, enhance_increasing
from .color import _blend


def _sharpness(img: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    h, w = img.shape[-2:]
    if h < 3 or w < 3:
        return img.clone()
    # Pillow's SMOOTH kernel (1 1 1 / 1 5 1 / 1 1 1) / 13, rounded: the 3x3 sum plus 4x the centre, an exact
    # integer S; S / 13 is never within 1/26 of a rounding tie, so float32 (even times 1 / 13) rounds it
    # as Pillow does
    x = img.to(torch.float32)
    rows = x[..., :, :-2] + x[..., :, 1:-1] + x[..., :, 2:]
    total = rows[..., :-2, :] + rows[..., 1:-1, :] + rows[..., 2:, :] + 4.0 * x[..., 1:-1, 1:-1]
    smooth = torch.floor((total + 6.5) * (1.0 / 13.0))
    degenerate = img.clone()
    degenerate[..., 1:-1, 1:-1] = smooth.to(torch.uint8)
    return _blend(degenerate, img, factor)


# --- Gaussian blur (Pillow's extended box blur, one kernel per sample) -----------------------------------


def _box_radius(radius: torch.Tensor) -> torch.Tensor:
    """Pillow's box radius for a Gaussian radius, in float32 as Pillow computes it (returned as float64)."""
    r = radius.to(torch.float32)
    sigma2 = _div(r * r, 3.0)
    big_l = torch.sqrt(12.0 * sigma2 + 1.0)
    small_l = torch.floor((big_l - 1.0) / 2.0)
    a = (2.0 * small_l + 1.0) * (small_l * (small_l + 1.0) - 3.0 * sigma2)
    a = a / (6.0 * (sigma2 - (small_l + 1.0) * (small_l + 1.0)))
    return (small_l + a).double()


def max_box_radius(radius: torch.Tensor) -> int:
    """The largest integer box radius of Gaussian ``radius`` values on the host: the kernel length of
    :func:`_gaussian_blur`, known before the device runs (one more than needed: a safe bound)."""
    r = _box_radius(radius.detach().to("cpu", torch.float64))  # host-sync: none, host radii in callers
    return int(r.trunc().max()) + 1 if r.numel() else 1  # host-sync: none, a CPU tensor


def _box_kernels(box: torch.Tensor, big_r: int | None = None) -> torch.Tensor:
    """``(n, 2R + 3)`` float64 fixed-point kernels (weights sum to ``2**24``), ``R`` >= the largest radius
    (``big_r``; computed from ``box`` when not given: a sync on accelerators). Taps past a sample's own
    radius weigh 0, so a larger ``R`` gives the same result."""
    r = box.trunc().long()
    ww = torch.trunc(_rdiv(float(1 << 24), (box * 2.0 + 1.0).to(torch.float32))).long()
    fw = ((1 << 24) - (r * 2 + 1) * ww) // 2
    if big_r is None:
        big_r = int(r.max())  # host-sync: only without a host bound (public gaussian_blur on device radii)
    d = (torch.arange(2 * big_r + 3, device=box.device) - (big_r + 1)).abs().view(1, -1)
    r, ww, fw = r.view(-1, 1), ww.view(-1, 1), fw.view(-1, 1)
    k = torch.where(d <= r, ww, torch.where(d == r + 1, fw, torch.zeros_like(ww)))
    return k.double()


def _box_passes(x: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Three rounded box passes along the last axis of float64 ``(rows, n, L)``, sample ``i`` with
    kernel ``i`` (a grouped convolution)."""
    n, size = kernels.shape
    pad = (size - 1) // 2
    weight = kernels.view(n, 1, size)
    for _ in range(3):
        acc = F.conv1d(F.pad(x, (pad, pad), mode="replicate"), weight, groups=n)
        x = torch.floor((acc + float(1 << 23)) / float(1 << 24))
    return x


def _gaussian_blur(img: torch.Tensor, radius: torch.Tensor, big_r: int | None = None) -> torch.Tensor:
    n, c, h, w = img.shape
    kernels = _box_kernels(_box_radius(radius.double()), big_r)
    x = img.to(torch.float64).permute(1, 2, 0, 3).reshape(c * h, n, w)
    x = _box_passes(x, kernels)
    x = x.view(c, h, n, w).permute(0, 3, 2, 1).reshape(c * w, n, h)
    x = _box_passes(x, kernels)
    x = x.view(c, w, n, h).permute(2, 0, 3, 1)
    return x.clamp_(0, 255).to(torch.uint8).contiguous()


# --- the public per-op functions ----------------------------------------------------------------------------


def sharpness(img: torch.Tensor, factor: Arg, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Blend with Pillow's ``SMOOTH`` filter result, border pixels kept (0 blurred, 1 unchanged)."""
    return _with_arg(_sharpness, img, factor, mask, torch.float64)


def gaussian_blur(img: torch.Tensor, radius: Arg, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Pillow's ``GaussianBlur(radius)`` with a radius per sample (three extended box passes per axis).

    Radii given on the host (numbers or a CPU tensor) fix the kernel length there; radii already on the
    device cost one sync to read their largest value."""
    host = not isinstance(radius, torch.Tensor) or radius.device.type == "cpu"
    big_r = max_box_radius(torch.as_tensor(radius, dtype=torch.float64).reshape(-1)) if host else None
    return _with_arg(_gaussian_blur, img, radius, mask, torch.float64, big_r=big_r)


# --- the per-image CPU kernels (measured faster than the batched ones at batch size 1) ---------------------


def _sharpness_cpu(img: torch.Tensor, factor: float) -> torch.Tensor:
    h, w = img.shape[-2:]
    if h < 3 or w < 3:
        return img
    if img.ndim != 3:
        return via_pil(P.sharpness, img, factor)
    arr = hwc(img)
    cv2 = cv()
    box = cv2.boxFilter(arr, cv2.CV_16U, (3, 3), normalize=False, borderType=cv2.BORDER_REPLICATE)
    total = box.reshape(arr.shape) + (arr.astype(np.uint16) << 2)  # kernel 1 1 1 / 1 5 1 / 1 1 1
    # total / 13 rounded: its fraction is k/13, never a tie, so float32 rounding is exact
    degenerate = cv2.convertScaleAbs(total, alpha=1.0 / 13.0).reshape(arr.shape)
    degenerate[0], degenerate[-1] = arr[0], arr[-1]  # Pillow keeps the border pixels
    degenerate[:, 0], degenerate[:, -1] = arr[:, 0], arr[:, -1]
    return from_hwc(np.asarray(Image.blend(to_pil(degenerate), to_pil(arr), float(factor))))


def _gaussian_blur_cpu(img: torch.Tensor, radius: float) -> torch.Tensor:
    if radius == 0:
        return img
    return via_pil(P.gaussian_blur, img, radius)


# --- the op kinds and the named ops ----------------------------------------------------------------------


def _blur_static(arg: torch.Tensor) -> dict[str, Any]:
    return {"big_r": max_box_radius(arg)}


def _blur_redraw(arg: Any, u: Any) -> Any:
    """GaussianBlurRand: the radius is uniform in ``[0.1, 2 * level]``."""
    return 0.1 + (2.0 * arg - 0.1) * u


SHARPNESS = OpKind("sharpness", P.sharpness, _sharpness, _sharpness_cpu)
GAUSSIAN_BLUR = OpKind(
    "gaussian_blur", P.gaussian_blur, _gaussian_blur, _gaussian_blur_cpu, host_static=_blur_static
)

SPECS: tuple[OpSpec, ...] = (
    OpSpec("Sharpness", SHARPNESS, enhance),
    OpSpec("SharpnessIncreasing", SHARPNESS, enhance_increasing, signed=True),
    OpSpec("GaussianBlur", GAUSSIAN_BLUR, MinMaxLevel(0.1, 2.0)),
    OpSpec("GaussianBlurRand", GAUSSIAN_BLUR, MinMaxLevel(0.0, 1.0), redraw=_blur_redraw),
)
"""The filters of the registry (:data:`pixelpipe.ops.OPS`)."""
