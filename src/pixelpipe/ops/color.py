"""The colour ops: point, histogram (LUT) and blend ops, as Pillow does, on every tier.

Batched kernels on ``uint8`` ``(B, C, H, W)``:

* point ops (Invert, Posterize, Solarize, SolarizeAdd) use per-sample thresholds and masks, and the
  histogram ops (AutoContrast, Equalize) per sample-channel tables built from batched histograms:
  **identical** to Pillow;
* blends (Color, Desaturate, Contrast, Brightness) use Pillow's fixed-point luma, an exact integer mean and
  Pillow's float32 truncating blend with a per-sample factor: **identical** in the tests.

Per-image CPU kernels (kept where measured faster than the batched kernel at batch size 1; see
ARCHITECTURE.md, "The op spec"): Posterize masks bits, Solarize, SolarizeAdd and Brightness map through a
``cv2.LUT`` table, AutoContrast and Equalize build Pillow's per-channel tables from OpenCV's extrema and
histograms, Contrast applies a table of Pillow's blend around Pillow's mean, Color runs Pillow's own op:
all **identical** to Pillow. Invert has no per-image kernel (``255 - x`` either way).

See :mod:`pixelpipe.batch.ops` for the conventions shared by every batched op.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from . import pil as P
from ._batched import Arg, _col, _rdiv, _unary, _with_arg
from ._cpu import cv, hwc, lut_cpu, lut_per_channel, planes, to_pil, via_pil
from ._spec import MinMaxLevel, OpKind, OpSpec, clamp, enhance, enhance_increasing, level_of, trunc


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


# --- the public per-op functions ----------------------------------------------------------------------------


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


# --- the per-image CPU kernels (measured faster than the batched ones at batch size 1) ---------------------


def _posterize_cpu(img: torch.Tensor, bits: int) -> torch.Tensor:
    bits = int(bits)
    if bits >= 8:
        return img
    return img & ((0xFF << (8 - max(bits, 0))) & 0xFF)


def _solarize_cpu(img: torch.Tensor, threshold: int) -> torch.Tensor:
    threshold = int(threshold)
    if threshold > 255:
        return img
    if threshold <= 0:
        return 255 - img
    ramp = np.arange(256, dtype=np.uint8)
    return lut_cpu(img, np.where(ramp >= threshold, 255 - ramp, ramp).astype(np.uint8))


def _solarize_add_cpu(img: torch.Tensor, add: int) -> torch.Tensor:
    ramp = np.arange(256, dtype=np.int64)
    lut = np.where(ramp < 128, np.minimum(ramp + int(add), 255), ramp).clip(0, 255).astype(np.uint8)
    return lut_cpu(img, lut)


def _auto_contrast_cpu(img: torch.Tensor) -> torch.Tensor | None:
    if img.ndim != 3:
        return None
    lo_hi = np.array([cv().minMaxLoc(p)[:2] for p in planes(img)], dtype=np.float64)
    lo, hi = lo_hi[:, :1], lo_hi[:, 1:]
    span = hi - lo
    scale = 255.0 / np.maximum(span, 1.0)
    ramp = np.arange(256, dtype=np.float64)
    table = np.clip(np.trunc(ramp * scale - lo * scale), 0, 255)
    return lut_per_channel(img, np.where(span > 0, table, ramp).astype(np.uint8))


def _equalize_luts_np(hist: np.ndarray) -> np.ndarray:
    """Pillow's equalisation tables for ``(C, 256)`` histograms in NumPy (a few channels: cheaper than
    torch); the batched :func:`_equalize` builds the same tables in torch."""
    ramp = np.arange(256, dtype=np.int64)
    luts = np.empty(hist.shape, dtype=np.uint8)
    for c, h in enumerate(hist):
        nonzero = np.flatnonzero(h)  # host-sync: none, NumPy (the per-image CPU kernel)
        last = int(h[nonzero[-1]]) if len(nonzero) > 1 else 0  # host-sync: none, NumPy
        step = (int(h.sum()) - last) // 255 if len(nonzero) > 1 else 0  # host-sync: none, NumPy
        if step == 0:
            luts[c] = ramp
        else:
            before = np.cumsum(h) - h
            luts[c] = np.minimum((step // 2 + before) // step, 255)
    return luts


def _equalize_cpu(img: torch.Tensor) -> torch.Tensor:
    if img.ndim == 3:
        hist = np.stack([cv().calcHist([p], [0], None, [256], [0, 256]).reshape(256) for p in planes(img)])
        return lut_per_channel(img, _equalize_luts_np(hist.astype(np.int64)))
    return via_pil(P.equalize, img)


def _color_cpu(img: torch.Tensor, factor: float) -> torch.Tensor:
    if img.shape[-3] == 1:
        return img
    return via_pil(P.color, img, factor)


def _desaturate_cpu(img: torch.Tensor, factor: float) -> torch.Tensor:
    return _color_cpu(img, min(1.0, max(0.0, 1.0 - factor)))


def _contrast_cpu(img: torch.Tensor, factor: float) -> torch.Tensor:
    if img.ndim == 3:
        # a flat degenerate image makes the blend a table: Pillow's mean, Pillow's blend of each value
        mean = P.contrast_mean(to_pil(hwc(img)))
        return lut_cpu(img, P.blend_table(mean, factor))
    return via_pil(P.contrast, img, factor)


def _brightness_cpu(img: torch.Tensor, factor: float) -> torch.Tensor:
    lut = np.clip(np.arange(256, dtype=np.float32) * np.float32(factor), 0, 255).astype(np.uint8)
    return lut_cpu(img, lut)


# --- the op kinds and the named ops ----------------------------------------------------------------------

_I64 = torch.int64

INVERT = OpKind("invert", P.invert, lambda img, arg: _invert(img), arg_dtype=None)
AUTO_CONTRAST = OpKind(
    "auto_contrast", P.auto_contrast, lambda img, arg: _auto_contrast(img), _auto_contrast_cpu, None
)
EQUALIZE = OpKind("equalize", P.equalize, lambda img, arg: _equalize(img), _equalize_cpu, arg_dtype=None)
POSTERIZE = OpKind("posterize", P.posterize, _posterize, _posterize_cpu, _I64)
SOLARIZE = OpKind("solarize", P.solarize, _solarize, _solarize_cpu, _I64)
SOLARIZE_ADD = OpKind("solarize_add", P.solarize_add, _solarize_add, _solarize_add_cpu, _I64)
COLOR = OpKind("color", P.color, _color, _color_cpu)
CONTRAST = OpKind("contrast", P.contrast, _contrast, _contrast_cpu)
BRIGHTNESS = OpKind("brightness", P.brightness, _brightness, _brightness_cpu)
DESATURATE = OpKind("desaturate", P.desaturate, _desaturate, _desaturate_cpu)


def _lv_posterize(m: Any, hp: Mapping[str, Any], s: Any) -> Any:
    return trunc(level_of(m) * 4)


def _lv_posterize_increasing(m: Any, hp: Mapping[str, Any], s: Any) -> Any:
    return 4 - _lv_posterize(m, hp, s)


def _lv_posterize_original(m: Any, hp: Mapping[str, Any], s: Any) -> Any:
    return _lv_posterize(m, hp, s) + 4


def _lv_solarize(m: Any, hp: Mapping[str, Any], s: Any) -> Any:
    return clamp(trunc(level_of(m) * 256), hi=256)


def _lv_solarize_increasing(m: Any, hp: Mapping[str, Any], s: Any) -> Any:
    return 256 - _lv_solarize(m, hp, s)


def _lv_solarize_add(m: Any, hp: Mapping[str, Any], s: Any) -> Any:
    return clamp(trunc(level_of(m) * 110), hi=128)


SPECS: tuple[OpSpec, ...] = (
    OpSpec("AutoContrast", AUTO_CONTRAST),
    OpSpec("Equalize", EQUALIZE),
    OpSpec("Invert", INVERT),
    OpSpec("Posterize", POSTERIZE, _lv_posterize),
    OpSpec("PosterizeIncreasing", POSTERIZE, _lv_posterize_increasing),
    OpSpec("PosterizeOriginal", POSTERIZE, _lv_posterize_original),
    OpSpec("Solarize", SOLARIZE, _lv_solarize),
    OpSpec("SolarizeIncreasing", SOLARIZE, _lv_solarize_increasing),
    OpSpec("SolarizeAdd", SOLARIZE_ADD, _lv_solarize_add),
    OpSpec("Color", COLOR, enhance),
    OpSpec("ColorIncreasing", COLOR, enhance_increasing, signed=True),
    OpSpec("Contrast", CONTRAST, enhance),
    OpSpec("ContrastIncreasing", CONTRAST, enhance_increasing, signed=True),
    OpSpec("Brightness", BRIGHTNESS, enhance),
    OpSpec("BrightnessIncreasing", BRIGHTNESS, enhance_increasing, signed=True),
    OpSpec("Desaturate", DESATURATE, MinMaxLevel(0.5, 1.0)),
)
"""The colour ops of the registry (:data:`pixelpipe.ops.OPS`)."""
