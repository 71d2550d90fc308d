"""Batched augmentation ops on ``uint8`` ``(B, C, H, W)`` tensors, with per-sample arguments and a mask.

The batched twin of :mod:`pixelpipe.augment.functional_tensor` (same function names): every op of
REFERENCE §6.3 takes its argument as a ``(B,)`` tensor (or one number for the whole batch) and an optional
``(B,)`` bool ``mask``; samples where the mask is ``False`` come back bit-identical, and only the selected
samples are computed (one ``index_select``/``index_copy_`` per call, no Python loop over the batch). All
work happens on the input's device; nothing is written into the input.

The arithmetic is Pillow's, as in the per-sample path, vectorised over the batch:

* point ops (Invert, Posterize, Solarize, SolarizeAdd) use per-sample thresholds and masks, and the
  histogram ops (AutoContrast, Equalize) per sample-channel tables built from batched histograms
  (``bincount`` with an offset per sample-channel): **identical** to Pillow;
* blends (Color, Desaturate, Contrast, Brightness) use Pillow's fixed-point luma, an exact integer mean and
  Pillow's float32 truncating blend with a per-sample factor: **identical** in the tests;
* Sharpness sums Pillow's ``SMOOTH`` kernel (``1 1 1 / 1 5 1 / 1 1 1``, / 13) exactly in shifted adds, border
  pixels kept; ``S / 13`` is never within 1/26 of a rounding tie, so it rounds as Pillow: **identical**;
* GaussianBlur runs Pillow's three extended box-blur passes per axis in exact float64 fixed point, with one
  kernel per sample (a grouped convolution; radii differ per sample): **identical**;
* geometric ops (Rotate, ShearX/Y, TranslateX/Y, TranslateX/YRel) are one batched affine resampling
  (:func:`affine_batch`) with per-sample matrices in Pillow's convention: output pixel centre ``(x, y)``
  reads input ``(a x + b y + c, d x + e y + f)``, the fill colour where that lies outside the image,
  edge-clamped neighbours, Pillow's bilinear and cubic (``a = -1``) formulas evaluated per pixel in float64
  in Pillow's order of operations (gathers of the neighbours), truncation to uint8. Bilinear and bicubic are
  **identical** to Pillow in the tests; nearest is identical to the per-sample tensor path and differs from
  Pillow (whose nearest affine runs in 16.16 fixed point) only for sample points within ``2**-16`` px of a
  pixel boundary (< 0.02 % of pixels in the tests). Bicubic shears and shifts interpolate along one axis
  only (the other axis' weights are exactly ``(0, 1, 0, 0)``), 4 gathers instead of 16.

The ops are written for GPUs, where all of this is a few memory-bound kernels. On a CPU they are correct
but slower than Pillow's fused C loops for the resampling ops (float64 temporaries): about 6 ms per
224 x 224 RGB image for bilinear, 10 ms for a bicubic shear, 50 ms for a bicubic rotation on one core.
``torch.nn.functional.grid_sample`` would be faster there, but its float32 coordinates and weights put
results off by a level (a mean of up to 0.05 level in our measurements; 0.5 level for its ``a = -0.75``
bicubic), and truncation turns the smallest error into a whole level.

Arguments are converted to float64 (fractions, angles, factors) or int64; pass float64 tensors (or Python
numbers) to keep them exact: a float32 ``-0.2`` turns a 16-pixel shift into a 16.0000002-pixel one.

Example:
    >>> import torch
    >>> img = torch.tensor([[[[200, 100], [50, 0]]], [[[200, 100], [50, 0]]]], dtype=torch.uint8)
    >>> solarize(img, torch.tensor([128, 60]))[:, 0].tolist()
    [[[55, 100], [50, 0]], [[55, 155], [50, 0]]]
    >>> invert(img, mask=torch.tensor([True, False]))[:, 0].tolist()
    [[[55, 155], [205, 255]], [[200, 100], [50, 0]]]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from .._transfer import to_device

__all__ = [
    "GEOMETRIC_KINDS",
    "INTERPOLATION_CODES",
    "KERNELS",
    "Kernel",
    "affine_batch",
    "affine_matrices",
    "auto_contrast",
    "brightness",
    "color",
    "contrast",
    "desaturate",
    "equalize",
    "fill_vector",
    "gaussian_blur",
    "invert",
    "posterize",
    "rotate",
    "sharpness",
    "shear_x",
    "shear_y",
    "solarize",
    "solarize_add",
    "translate_x",
    "translate_x_rel",
    "translate_y",
    "translate_y_rel",
]

Arg = torch.Tensor | float | int
Fill = float | Sequence[float] | torch.Tensor

INTERPOLATION_CODES: dict[str, int] = {"nearest": 0, "bilinear": 2, "bicubic": 3}
"""Interpolation name → PIL resampling code (the values per-sample params carry)."""
_CODE_NAMES = {v: k for k, v in INTERPOLATION_CODES.items()}


# --- helpers --------------------------------------------------------------------------------------------


def _check(img: torch.Tensor) -> None:
    if not isinstance(img, torch.Tensor) or img.dtype != torch.uint8 or img.ndim != 4:
        got = f"{img.dtype} {tuple(img.shape)}" if isinstance(img, torch.Tensor) else type(img).__name__
        raise TypeError(f"expected a uint8 tensor shaped (B, C, H, W), got {got}")


def _per_sample(value: Arg, n: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """``value`` as a ``(n,)`` tensor of ``dtype`` on ``device`` (a number is broadcast)."""
    t = value if isinstance(value, torch.Tensor) else torch.as_tensor(value)
    t = to_device(t, device)
    if t.ndim == 0:
        return t.to(dtype).expand(n)
    if t.shape != (n,):
        raise ValueError(f"expected a per-sample argument shaped ({n},), got {tuple(t.shape)}")
    return t.to(dtype)


def _col(t: torch.Tensor) -> torch.Tensor:
    return t.reshape(-1, 1, 1, 1)


# Exact division. ``number / tensor`` is computed as ``reciprocal(tensor) * number`` (and on CUDA
# ``tensor / number`` as ``tensor * (1 / number)``), which can be 1 ulp off Pillow's and Python's division
# and flip a truncation. Dividing by a tensor on the same device is a true division everywhere.


def _div(a: torch.Tensor, b: float) -> torch.Tensor:
    return a / torch.full_like(a, b)


def _rdiv(a: float, b: torch.Tensor) -> torch.Tensor:
    return torch.full_like(b, a) / b


def _gated(
    kernel: Callable[..., torch.Tensor],
    img: torch.Tensor,
    mask: torch.Tensor | None,
    args: Sequence[torch.Tensor],
    **static: Any,
) -> torch.Tensor:
    """``kernel(img, *args)`` on the samples selected by ``mask``; the others are copied unchanged."""
    if img.numel() == 0:
        return img.clone()
    if mask is None:
        return kernel(img.contiguous(), *args, **static)
    mask = mask if isinstance(mask, torch.Tensor) else torch.as_tensor(mask)
    mask = mask.to(torch.bool).reshape(-1)
    if mask.numel() != img.shape[0]:
        raise ValueError(f"mask has {mask.numel()} entries for a batch of {img.shape[0]}")
    # the selected samples' indices, read on the host: free for a host mask (the batched policies pass
    # CPU masks), one sync per call for a device mask (the public per-op functions only)
    idx = to_device(mask.nonzero().view(-1), img.device)  # host-sync: only for a device mask, once per call
    out = img.clone()
    if idx.numel():
        sub = kernel(img.index_select(0, idx), *(a.index_select(0, idx) for a in args), **static)
        out.index_copy_(0, idx, sub)
    return out


def _apply_lut(img: torch.Tensor, lut: torch.Tensor) -> torch.Tensor:
    """Map each sample-channel through its own table: ``lut`` is ``(B, C, 256)`` uint8."""
    n, c, h, w = img.shape
    return torch.gather(lut, 2, img.reshape(n, c, h * w).long()).view(n, c, h, w)


def _blend(a: torch.Tensor, b: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Pillow's ``Image.blend(a, b, alpha)`` per sample: ``a + alpha (b - a)`` in float32, clipped and
    truncated."""
    af = a.to(torch.float32)
    out = af + _col(alpha.to(torch.float32)) * (b.to(torch.float32) - af)
    return out.clamp_(0, 255).to(torch.uint8)


def _luma(img: torch.Tensor) -> torch.Tensor:
    """Pillow's RGB→L (fixed point, rounded) as ``(B, 1, H, W)``; 1-channel images as they are."""
    if img.shape[1] == 1:
        return img
    r, g, b = img[:, 0:1].int(), img[:, 1:2].int(), img[:, 2:3].int()
    return ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).to(torch.uint8)


# --- point and histogram ops (exact) ---------------------------------------------------------------------


def _invert(img: torch.Tensor) -> torch.Tensor:
    return 255 - img


def _posterize(img: torch.Tensor, bits: torch.Tensor) -> torch.Tensor:
    keep = bits.to(torch.int32).clamp(0, 8)
    mask = torch.bitwise_left_shift(torch.full_like(keep, 0xFF), 8 - keep) & 0xFF
    return img & _col(mask.to(torch.uint8))


def _solarize(img: torch.Tensor, threshold: torch.Tensor) -> torch.Tensor:
    return torch.where(img.to(torch.int32) >= _col(threshold.to(torch.int32)), 255 - img, img)


def _solarize_add(img: torch.Tensor, add: torch.Tensor) -> torch.Tensor:
    if img.shape[1] not in (1, 3):
        return img.clone()
    added = (img.to(torch.int32) + _col(add.to(torch.int32))).clamp_(0, 255).to(torch.uint8)
    return torch.where(img < 128, added, img)


def _auto_contrast(img: torch.Tensor) -> torch.Tensor:
    n, c = img.shape[:2]
    flat = img.reshape(n, c, -1)
    lo = flat.amin(-1, keepdim=True).double()
    hi = flat.amax(-1, keepdim=True).double()
    span = hi - lo
    scale = _rdiv(255.0, span.clamp(min=1.0))
    offset = -lo * scale
    ramp = torch.arange(256, dtype=torch.float64, device=img.device)
    lut = (ramp * scale + offset).trunc().clamp_(0, 255)
    lut = torch.where(span > 0, lut, ramp).to(torch.uint8)
    return _apply_lut(img, lut)


_HIST_LANES = 16  # sub-histograms per sample-channel on accelerators (see _histograms)


def _histograms(img: torch.Tensor) -> torch.Tensor:
    """Per sample-channel 256-bin histograms ``(B, C, 256)`` (int64), with ``scatter_add_``.

    ``bincount`` would read its output size on the host (a sync) and serialises on flat images; here the
    output size is known and, on accelerators, pixel ``p`` counts into sub-histogram ``p % 16`` (summed
    afterwards), so a flat image spreads its atomic adds over 16 addresses instead of one.
    """
    n, c, h, w = img.shape
    rows, pixels = n * c, h * w
    lanes = _HIST_LANES if img.device.type != "cpu" and pixels >= _HIST_LANES else 1
    idx = img.reshape(rows, pixels).to(torch.int64)
    if lanes > 1:
        lane = torch.arange(pixels, device=img.device).remainder_(lanes).mul_(256)
        idx = idx + lane
    hist = torch.zeros(rows, lanes * 256, dtype=torch.int32, device=img.device)
    ones = torch.ones(1, 1, dtype=torch.int32, device=img.device).expand(rows, pixels)
    hist.scatter_add_(1, idx, ones)
    return hist.view(n, c, lanes, 256).sum(2, dtype=torch.int64)


def _equalize(img: torch.Tensor) -> torch.Tensor:
    hist = _histograms(img)
    present = hist > 0
    last_idx = 255 - torch.flip(present, dims=[-1]).to(torch.int8).argmax(-1, keepdim=True)
    last = torch.gather(hist, -1, last_idx)
    step = (hist.sum(-1, keepdim=True) - last) // 255
    identity = (present.sum(-1, keepdim=True) <= 1) | (step == 0)
    safe = torch.where(identity, torch.ones_like(step), step)
    before = torch.cumsum(hist, -1) - hist
    lut = ((safe // 2 + before) // safe).clamp_(max=255)
    ramp = torch.arange(256, dtype=torch.int64, device=img.device)
    lut = torch.where(identity, ramp, lut).to(torch.uint8)
    return _apply_lut(img, lut)


# --- blends ---------------------------------------------------------------------------------------------


def _color(img: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    if img.shape[1] == 1:
        return img.clone()
    return _blend(_luma(img).expand_as(img), img, factor)


def _desaturate(img: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    return _color(img, (1.0 - factor.double()).clamp(0.0, 1.0))


def _contrast(img: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    luma = _luma(img)
    count = luma.shape[-2] * luma.shape[-1]
    total = luma.reshape(luma.shape[0], -1).sum(-1, dtype=torch.int64)
    # int(sum / count + 0.5), exactly, in integers
    mean = ((2 * total + count) // max(2 * count, 1)).to(torch.uint8)
    return _blend(_col(mean).expand_as(img), img, factor)


def _brightness(img: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    out = img.to(torch.float32) * _col(factor.to(torch.float32))
    return out.clamp_(0, 255).to(torch.uint8)


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


# --- geometric ops ---------------------------------------------------------------------------------------


def fill_vector(fill: Fill, channels: int, device: torch.device | str | None = None) -> torch.Tensor:
    """The fill colour as a float32 ``(C,)`` tensor, as the per-sample path resolves it.

    One number fills every channel; an RGB fill on a 1-channel image becomes its Pillow luma; missing
    channels get 255 (opaque alpha).

    Example:
        >>> fill_vector((128, 64, 0), 1).tolist()
        [76.0]
    """
    if isinstance(fill, torch.Tensor):
        vals = [float(v) for v in fill.reshape(-1).tolist()]  # host-sync: only for a device fill, per call
    elif isinstance(fill, (int, float)):
        vals = [float(fill)]
    else:
        vals = [float(v) for v in fill]
    if channels == 1 and len(vals) >= 3:
        r, g, b = (round(v) for v in vals[:3])
        vals = [float((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16)]
    if len(vals) == 1:
        vals = vals * channels
    vals = (vals + [255.0] * channels)[:channels]
    out = torch.tensor([round(v) for v in vals], dtype=torch.float32)
    return out if device is None else to_device(out, device)


def _rotate_matrix(degrees: torch.Tensor, h: int, w: int) -> torch.Tensor:
    angle = -torch.deg2rad(degrees.double())
    cos_a, sin_a = torch.round(torch.cos(angle), decimals=15), torch.round(torch.sin(angle), decimals=15)
    cx, cy = w / 2.0, h / 2.0
    c = cos_a * -cx + sin_a * -cy + cx
    f = -sin_a * -cx + cos_a * -cy + cy
    return torch.stack([cos_a, sin_a, c, -sin_a, cos_a, f], -1)


def _unit_matrix(arg: torch.Tensor, slot: int) -> torch.Tensor:
    m = torch.zeros(arg.shape[0], 6, dtype=torch.float64, device=arg.device)
    m[:, 0] = 1.0
    m[:, 4] = 1.0
    m[:, slot] = arg.double()
    return m


def affine_matrices(kind: str, arg: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Per-sample Pillow affine matrices ``(n, 6)`` (float64) of the geometric op ``kind``.

    ``kind`` is the op's functional name (``'rotate'``, ``'shear_x'``, ``'translate_y_rel'``, ...) and
    ``arg`` its ``(n,)`` argument (degrees, shear factor, pixels or fraction of the size).

    Example:
        >>> affine_matrices('translate_x_rel', torch.tensor([0.5]), 10, 20).tolist()
        [[1.0, 0.0, 10.0, 0.0, 1.0, 0.0]]
    """
    arg = arg.double()
    if kind == "rotate":
        return _rotate_matrix(arg, height, width)
    slots = {"shear_x": 1, "shear_y": 3, "translate_x": 2, "translate_y": 5}
    if kind == "translate_x_rel":
        return _unit_matrix(arg * width, 2)
    if kind == "translate_y_rel":
        return _unit_matrix(arg * height, 5)
    if kind not in slots:
        raise ValueError(f"unknown geometric op {kind!r}; valid: {', '.join(GEOMETRIC_KINDS)}")
    return _unit_matrix(arg, slots[kind])


def _source_coords(matrix: torch.Tensor, h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Input pixel-centre coordinates ``(n, H, W)`` (float64) read by each output pixel."""
    m = matrix.double().reshape(-1, 6, 1, 1)
    ys = torch.arange(h, dtype=torch.float64, device=matrix.device).view(1, h, 1) + 0.5
    xs = torch.arange(w, dtype=torch.float64, device=matrix.device).view(1, 1, w) + 0.5
    xin = m[:, 0] * xs + m[:, 1] * ys + m[:, 2]
    yin = m[:, 3] * xs + m[:, 4] * ys + m[:, 5]
    return xin, yin


class _Taps:
    """Edge-clamped pixel gathers from uint8 ``(n, C, H, W)``, returned as float64 ``(n, C, H W)``."""

    def __init__(self, img: torch.Tensor) -> None:
        n, c, h, w = img.shape
        self.shape = (n, c, h * w)
        self.h, self.w = h, w
        self.src = img.reshape(n, c, h * w)

    def rows(self, y: torch.Tensor) -> torch.Tensor:
        """Flat offsets of rows ``y`` (int64 ``(n, 1, H W)``), clamped to the image."""
        return y.clamp(0, self.h - 1) * self.w

    def cols(self, x: torch.Tensor) -> torch.Tensor:
        """Columns ``x``, clamped to the image."""
        return x.clamp(0, self.w - 1)

    def __call__(self, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
        return torch.gather(self.src, 2, (rows + cols).expand(self.shape)).to(torch.float64)


def _cubic(
    v1: torch.Tensor, v2: torch.Tensor, v3: torch.Tensor, v4: torch.Tensor, d: torch.Tensor
) -> torch.Tensor:
    """Pillow's cubic convolution (``a = -1``) through ``v2``, ``v3`` at offset ``d``, in its order of
    operations (float64, so the result is Pillow's double)."""
    p2 = v3 - v1
    p3 = 2 * (v1 - v2) + v3 - v4
    p4 = v2 - v1 - v3 + v4
    return v2 + d * (p2 + d * (p3 + d * p4))


def _sample(
    img: torch.Tensor, xin: torch.Tensor, yin: torch.Tensor, mode: str, axis: str | None
) -> torch.Tensor:
    """Pillow's sampling of uint8 ``(n, C, H, W)`` at pixel-centre coordinates ``(n, H, W)`` (float64),
    returned as float64 ``(n, C, H W)`` before clipping: nearest takes ``floor``; bilinear and bicubic
    shift by half a pixel, clamp neighbours to the image and interpolate in Pillow's order of operations.
    ``axis='x'`` (rows on pixel centres) or ``'y'`` lets bicubic skip the exact unit weights of the other
    axis (4 instead of 16 gathers)."""
    n, _, h, w = img.shape
    taps = _Taps(img)
    xin, yin = xin.reshape(n, 1, h * w), yin.reshape(n, 1, h * w)
    if mode == "nearest":
        return taps(taps.rows(torch.floor(yin).long()), taps.cols(torch.floor(xin).long()))
    xf, yf = xin - 0.5, yin - 0.5
    x0, y0 = torch.floor(xf), torch.floor(yf)
    dx, dy = xf - x0, yf - y0
    x0, y0 = x0.long(), y0.long()
    if mode == "bilinear":
        c0, c1 = taps.cols(x0), taps.cols(x0 + 1)
        r0, r1 = taps.rows(y0), taps.rows(y0 + 1)
        top = taps(r0, c0)
        top = top.add_(taps(r0, c1).sub_(top).mul_(dx))
        bottom = taps(r1, c0)
        bottom = bottom.add_(taps(r1, c1).sub_(bottom).mul_(dx))
        return top.add_(bottom.sub_(top).mul_(dy))
    if axis == "x":  # dy == 0: the cubic along y returns row y0 exactly
        r0 = taps.rows(y0)
        return _cubic(*(taps(r0, taps.cols(x0 + i)) for i in (-1, 0, 1, 2)), dx)
    if axis == "y":
        c0 = taps.cols(x0)
        return _cubic(*(taps(taps.rows(y0 + j), c0) for j in (-1, 0, 1, 2)), dy)
    cols = [taps.cols(x0 + i) for i in (-1, 0, 1, 2)]
    rows = [_cubic(*(taps(taps.rows(y0 + j), c) for c in cols), dx) for j in (-1, 0, 1, 2)]
    return _cubic(*rows, dy)


def _matrix_axis(matrix: torch.Tensor) -> str | None:
    """``'x'`` when every matrix keeps rows on pixel centres (``d, e, f = 0, 1, 0``: shear/shift along x),
    ``'y'`` when every matrix keeps columns (``a, b, c = 1, 0, 0``), else ``None``."""
    m = matrix.detach().to("cpu", torch.float64)  # host-sync: only for device matrices (public affine_batch)
    if bool(((m[:, 3] == 0) & (m[:, 4] == 1) & (m[:, 5] == 0)).all()):
        return "x"
    if bool(((m[:, 0] == 1) & (m[:, 1] == 0) & (m[:, 2] == 0)).all()):
        return "y"
    return None


def _affine_kernel(
    img: torch.Tensor, matrix: torch.Tensor, fill: torch.Tensor, mode: str, axis: str | None = None
) -> torch.Tensor:
    """Resample every sample of ``img`` with its matrix and one interpolation ``mode``; ``axis`` (see
    :func:`_matrix_axis`) lets bicubic run along one axis only."""
    n, c, h, w = img.shape
    xin, yin = _source_coords(matrix, h, w)
    inside = ((xin >= 0) & (xin < w) & (yin >= 0) & (yin < h)).view(n, 1, h * w)
    out = _sample(img, xin, yin, mode, axis)
    out = torch.where(inside, out, to_device(fill, img.device).to(torch.float64).view(1, c, 1))
    return out.clamp_(0, 255).to(torch.uint8).view(n, c, h, w)


def affine_batch(
    img: torch.Tensor,
    matrix: torch.Tensor,
    fill: Fill = 128,
    interpolation: str | torch.Tensor = "bilinear",
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Resample each sample with its own affine matrix (Pillow's ``Image.transform(AFFINE)`` convention).

    Args:
        img: ``uint8`` ``(B, C, H, W)``.
        matrix: ``(B, 6)`` ``(a, b, c, d, e, f)``: output pixel centre ``(x, y)`` reads the input at
            ``(a x + b y + c, d x + e y + f)`` (pixel-centre coordinates, ``(0.5, 0.5)`` is the first pixel's
            centre); see :func:`affine_matrices`.
        fill: colour outside the input: a number, per-channel values or an RGB colour (its luma on
            1-channel images).
        interpolation: ``'nearest'``, ``'bilinear'`` or ``'bicubic'``, or a ``(B,)`` tensor of PIL codes
            (0, 2, 3) choosing per sample.
        mask: optional ``(B,)`` bool; unselected samples are returned unchanged.

    Returns:
        A new ``uint8`` tensor shaped like ``img``.

    Example:
        >>> img = torch.arange(12, dtype=torch.uint8).view(1, 1, 3, 4)
        >>> shift = affine_matrices('translate_x', torch.tensor([1.0]), 3, 4)
        >>> affine_batch(img, shift, fill=0)[0, 0].tolist()
        [[1, 2, 3, 0], [5, 6, 7, 0], [9, 10, 11, 0]]
    """
    _check(img)
    n, c = img.shape[:2]
    if matrix.shape != (n, 6):
        raise ValueError(f"matrix must be shaped ({n}, 6), got {tuple(matrix.shape)}")
    bicubic = interpolation == "bicubic" or not isinstance(interpolation, str)
    axis_of = _matrix_axis(matrix) if bicubic else None  # on the host matrix when one is given: no sync
    matrix = to_device(matrix, img.device)
    fill_t = fill_vector(fill, c, img.device)
    if isinstance(interpolation, str):
        if interpolation not in INTERPOLATION_CODES:
            raise ValueError(
                f"interpolation must be one of {', '.join(INTERPOLATION_CODES)}, got {interpolation!r}"
            )
        axis = axis_of if interpolation == "bicubic" else None
        return _gated(_affine_kernel, img, mask, (matrix,), fill=fill_t, mode=interpolation, axis=axis)
    codes = _per_sample(interpolation, n, img.device, torch.int64)
    sel = torch.ones(n, dtype=torch.bool, device=img.device) if mask is None else to_device(mask, img.device)
    sel = sel.bool()
    out = img
    for code, mode in _CODE_NAMES.items():  # a loop over the three interpolations, not the batch
        axis = axis_of if mode == "bicubic" else None
        out = _gated(_affine_kernel, out, sel & (codes == code), (matrix,), fill=fill_t, mode=mode, axis=axis)
    return out if out is not img else img.clone()


# --- the public per-op functions ----------------------------------------------------------------------------


def _unary(kernel: Callable[..., torch.Tensor], img: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    _check(img)
    return _gated(kernel, img, mask, ())


def _with_arg(
    kernel: Callable[..., torch.Tensor],
    img: torch.Tensor,
    arg: Arg,
    mask: torch.Tensor | None,
    dtype: torch.dtype,
    **static: Any,
) -> torch.Tensor:
    _check(img)
    return _gated(kernel, img, mask, (_per_sample(arg, img.shape[0], img.device, dtype),), **static)


def invert(img: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """``255 - x``.

    Example:
        >>> invert(torch.zeros(1, 1, 1, 2, dtype=torch.uint8)).tolist()
        [[[[255, 255]]]]
    """
    return _unary(_invert, img, mask)


def auto_contrast(img: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Per sample and channel, stretch the lowest value to 0 and the highest to 255 (Pillow's table)."""
    return _unary(_auto_contrast, img, mask)


def equalize(img: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Per sample and channel histogram equalisation with Pillow's table."""
    return _unary(_equalize, img, mask)


def posterize(img: torch.Tensor, bits: Arg, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Keep the ``bits`` high bits of each sample (``>= 8`` unchanged, ``<= 0`` black).

    Example:
        >>> img = torch.full((2, 1, 1, 1), 0b10110111, dtype=torch.uint8)
        >>> posterize(img, torch.tensor([2, 8])).view(-1).tolist()
        [128, 183]
    """
    return _with_arg(_posterize, img, bits, mask, torch.int64)


def solarize(img: torch.Tensor, threshold: Arg, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Invert values ``>= threshold`` (per sample; ``> 255`` unchanged, ``<= 0`` all inverted)."""
    return _with_arg(_solarize, img, threshold, mask, torch.int64)


def solarize_add(img: torch.Tensor, add: Arg, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Add ``add`` to values below 128, saturating at 255 (1- and 3-channel images; others unchanged)."""
    return _with_arg(_solarize_add, img, add, mask, torch.int64)


def color(img: torch.Tensor, factor: Arg, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Blend with the greyscale image (0 grey, 1 unchanged); 1-channel images are unchanged."""
    return _with_arg(_color, img, factor, mask, torch.float64)


def desaturate(img: torch.Tensor, factor: Arg, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Remove a fraction ``factor`` of the colour (1 greyscale, 0 unchanged)."""
    return _with_arg(_desaturate, img, factor, mask, torch.float64)


def contrast(img: torch.Tensor, factor: Arg, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Blend with the flat image of each sample's rounded mean luma (0 flat grey, 1 unchanged)."""
    return _with_arg(_contrast, img, factor, mask, torch.float64)


def brightness(img: torch.Tensor, factor: Arg, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Blend with black (0 black, 1 unchanged).

    Example:
        >>> brightness(torch.full((2, 1, 1, 1), 100, dtype=torch.uint8), torch.tensor([0.5, 1.9])).view(-1)
        tensor([ 50, 190], dtype=torch.uint8)
    """
    return _with_arg(_brightness, img, factor, mask, torch.float64)


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


def _geometric(
    kind: str,
    img: torch.Tensor,
    arg: Arg,
    fill: Fill,
    interpolation: str | torch.Tensor,
    mask: torch.Tensor | None,
) -> torch.Tensor:
    _check(img)
    n, _, h, w = img.shape
    matrix = affine_matrices(kind, _per_sample(arg, n, img.device, torch.float64), h, w)
    return affine_batch(img, matrix, fill, interpolation, mask)


def rotate(
    img: torch.Tensor,
    degrees: Arg,
    fill: Fill = 128,
    interpolation: str | torch.Tensor = "bilinear",
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Rotate each sample counter-clockwise about its centre by its ``degrees`` (Pillow's ``rotate``)."""
    return _geometric("rotate", img, degrees, fill, interpolation, mask)


def shear_x(
    img: torch.Tensor,
    factor: Arg,
    fill: Fill = 128,
    interpolation: str | torch.Tensor = "bilinear",
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Shear horizontally: output ``(x, y)`` reads input ``(x + factor y, y)``."""
    return _geometric("shear_x", img, factor, fill, interpolation, mask)


def shear_y(
    img: torch.Tensor,
    factor: Arg,
    fill: Fill = 128,
    interpolation: str | torch.Tensor = "bilinear",
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Shear vertically: output ``(x, y)`` reads input ``(x, y + factor x)``."""
    return _geometric("shear_y", img, factor, fill, interpolation, mask)


def translate_x(
    img: torch.Tensor,
    pixels: Arg,
    fill: Fill = 128,
    interpolation: str | torch.Tensor = "bilinear",
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Shift the content left by ``pixels``."""
    return _geometric("translate_x", img, pixels, fill, interpolation, mask)


def translate_y(
    img: torch.Tensor,
    pixels: Arg,
    fill: Fill = 128,
    interpolation: str | torch.Tensor = "bilinear",
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Shift the content up by ``pixels``."""
    return _geometric("translate_y", img, pixels, fill, interpolation, mask)


def translate_x_rel(
    img: torch.Tensor,
    pct: Arg,
    fill: Fill = 128,
    interpolation: str | torch.Tensor = "bilinear",
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """:func:`translate_x` by a fraction of the width."""
    return _geometric("translate_x_rel", img, pct, fill, interpolation, mask)


def translate_y_rel(
    img: torch.Tensor,
    pct: Arg,
    fill: Fill = 128,
    interpolation: str | torch.Tensor = "bilinear",
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """:func:`translate_y` by a fraction of the height."""
    return _geometric("translate_y_rel", img, pct, fill, interpolation, mask)


# --- the kernel table the batched policies dispatch through -------------------------------------------------


@dataclass(frozen=True)
class Kernel:
    """How the batched policies apply one op kind (a functional name of the op registry).

    Attributes:
        name: the functional name (``OpSpec.fn``), e.g. ``'solarize'``.
        fn: ``fn(img_subset, arg_subset) -> img_subset`` for non-geometric kinds (``arg`` ignored by ops
            without one); ``None`` for geometric kinds, which go through :func:`affine_matrices` and one
            shared :func:`affine_batch` call per layer.
        geometric: whether the op resamples.
        host_static: ``host_static(arg_subset_on_host) -> kwargs`` for ``fn``, computed from the host copy of
            the arguments (e.g. the blur's kernel length), so that ``fn`` needs no value from the device;
            ``None``: no keyword arguments.
    """

    name: str
    fn: Callable[..., torch.Tensor] | None
    geometric: bool = False
    host_static: Callable[[torch.Tensor], dict[str, Any]] | None = None


def _no_arg(
    kernel: Callable[[torch.Tensor], torch.Tensor],
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    return lambda img, arg: kernel(img)


GEOMETRIC_KINDS: tuple[str, ...] = (
    "rotate",
    "shear_x",
    "shear_y",
    "translate_x",
    "translate_y",
    "translate_x_rel",
    "translate_y_rel",
)
"""The functional names of the resampling ops."""

KERNELS: dict[str, Kernel] = {
    k.name: k
    for k in (
        Kernel("auto_contrast", _no_arg(_auto_contrast)),
        Kernel("equalize", _no_arg(_equalize)),
        Kernel("invert", _no_arg(_invert)),
        Kernel("posterize", _posterize),
        Kernel("solarize", _solarize),
        Kernel("solarize_add", _solarize_add),
        Kernel("color", _color),
        Kernel("contrast", _contrast),
        Kernel("brightness", _brightness),
        Kernel("sharpness", _sharpness),
        Kernel("desaturate", _desaturate),
        Kernel("gaussian_blur", _gaussian_blur, host_static=lambda arg: {"big_r": max_box_radius(arg)}),
        *(Kernel(kind, None, geometric=True) for kind in GEOMETRIC_KINDS),
    )
}
"""Functional name → :class:`Kernel`, covering every op of :data:`pixelpipe.augment.registry.OPS`."""
