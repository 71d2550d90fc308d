"""The geometric ops (Rotate, ShearX/Y, TranslateX/Y, TranslateX/YRel) on every tier: one affine matrix each.

Each kind's matrix builder (:func:`rotate_matrix`, :func:`shear_x_matrix`, ...) gives Pillow's affine matrix
(output pixel centre ``(x, y)`` reads input ``(a x + b y + c, d x + e y + f)``) for a number or a ``(n,)``
tensor of arguments. The batched kernel is one :func:`affine_batch` resampling with per-sample matrices (see
:mod:`pixelpipe.batch.ops` for the tolerances).

Per-image CPU kernel (measured 4-250x faster than the batched resampling at batch size 1, on one core):
bilinear uses ``cv2.warpAffine`` in float32 with Pillow's coordinate convention and edge/fill rule (**mean
<= 0.25 level** on noisy test images, about 0.002 on photos; max 1 level; Pillow's fill pixels), translations
along one axis a float32 blend of two shifted views instead of a warp; bicubic runs Pillow's own transform
(OpenCV's cubic is over 1 level off): **identical**. Nearest has no per-image kernel: the batched one at
batch size 1 was as fast or faster (0.8-1.4x).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from PIL import Image

from .._transfer import to_device
from . import pil as P
from ._batched import Arg, Fill, _check, _gated, _per_sample, fill_values
from ._cpu import affine_cv2, per_image, shift_cv2, via_pil
from ._spec import DEFAULT_TRANSLATE_CONST, DEFAULT_TRANSLATE_PCT, OpKind, OpSpec, level_of

INTERPOLATION_CODES: dict[str, int] = {"nearest": 0, "bilinear": 2, "bicubic": 3}
"""Interpolation name → PIL resampling code (the values per-sample params carry)."""
_CODE_NAMES = {v: k for k, v in INTERPOLATION_CODES.items()}


def fill_vector(fill: Fill, channels: int, device: torch.device | str | None = None) -> torch.Tensor:
    """The fill colour as a float32 ``(C,)`` tensor, as every tier resolves it (:func:`fill_values`).

    One number fills every channel; an RGB fill on a 1-channel image becomes its Pillow luma; missing
    channels get 255 (opaque alpha).

    Example:
        >>> fill_vector((128, 64, 0), 1).tolist()
        [76.0]
    """
    if isinstance(fill, torch.Tensor):
        fill = [float(v) for v in fill.reshape(-1).tolist()]  # host-sync: only for a device fill, per call
    out = torch.tensor(fill_values(fill, channels), dtype=torch.float32)
    return out if device is None else to_device(out, device)


def _stack(*entries: Any) -> Any:
    """The six entries as a tuple of numbers, or stacked into ``(n, 6)`` when any is a tensor."""
    if any(isinstance(e, torch.Tensor) for e in entries):
        ref = next(e for e in entries if isinstance(e, torch.Tensor))
        return torch.stack(
            [e if isinstance(e, torch.Tensor) else torch.full_like(ref, e) for e in entries], -1
        )
    return tuple(float(e) for e in entries)


def rotate_matrix(degrees: Any, height: int, width: int) -> Any:
    """Pillow's ``rotate`` matrix: counter-clockwise about the centre, keeping the size.

    ``degrees`` is a number (the per-image kernel: Python's ``math``, a 6-tuple) or a ``(n,)`` tensor (the
    batched kernel: torch, ``(n, 6)`` float64). The formula is one; the two evaluations of the cosine may
    differ in the last bit, so each tier keeps its own, as before.

    Example:
        >>> rotate_matrix(90.0, 4, 4)
        (0.0, -1.0, 4.0, 1.0, 0.0, 0.0)
    """
    cos_a: Any
    sin_a: Any
    if isinstance(degrees, torch.Tensor):
        angle = -torch.deg2rad(degrees.double())
        cos_a, sin_a = torch.round(torch.cos(angle), decimals=15), torch.round(torch.sin(angle), decimals=15)
    else:
        rad = -math.radians(degrees)
        cos_a, sin_a = round(math.cos(rad), 15), round(math.sin(rad), 15)
    cx, cy = width / 2.0, height / 2.0
    c = cos_a * -cx + sin_a * -cy + cx
    f = -sin_a * -cx + cos_a * -cy + cy
    return _stack(cos_a, sin_a, c, -sin_a, cos_a, f)


def _at(slot: int, value: Any) -> Any:
    """The identity matrix with ``value`` at ``slot`` (a number or a ``(n,)`` tensor)."""
    if isinstance(value, torch.Tensor):
        value = value.double()
    entries: list[Any] = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    entries[slot] = value
    return _stack(*entries)


def shear_x_matrix(factor: Any, height: int, width: int) -> Any:
    """Output ``(x, y)`` reads input ``(x + factor y, y)``."""
    return _at(1, factor)


def shear_y_matrix(factor: Any, height: int, width: int) -> Any:
    """Output ``(x, y)`` reads input ``(x, y + factor x)``."""
    return _at(3, factor)


def translate_x_matrix(pixels: Any, height: int, width: int) -> Any:
    """Output ``(x, y)`` reads input ``(x + pixels, y)``."""
    return _at(2, pixels)


def translate_y_matrix(pixels: Any, height: int, width: int) -> Any:
    """Output ``(x, y)`` reads input ``(x, y + pixels)``."""
    return _at(5, pixels)


def translate_x_rel_matrix(pct: Any, height: int, width: int) -> Any:
    """:func:`translate_x_matrix` by a fraction of the width."""
    return _at(2, pct * width)


def translate_y_rel_matrix(pct: Any, height: int, width: int) -> Any:
    """:func:`translate_y_matrix` by a fraction of the height."""
    return _at(5, pct * height)


def affine_matrices(kind: str, arg: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Per-sample Pillow affine matrices ``(n, 6)`` (float64) of the geometric op ``kind``.

    ``kind`` is the op's functional name (``'rotate'``, ``'shear_x'``, ``'translate_y_rel'``, ...) and
    ``arg`` its ``(n,)`` argument (degrees, shear factor, pixels or fraction of the size).

    Example:
        >>> affine_matrices('translate_x_rel', torch.tensor([0.5]), 10, 20).tolist()
        [[1.0, 0.0, 10.0, 0.0, 1.0, 0.0]]
    """
    from . import KINDS  # the registry (this module is one of its op modules)

    op = KINDS.get(kind)
    if op is None or op.matrix is None:
        valid = ", ".join(k.name for k in KINDS.values() if k.matrix is not None)
        raise ValueError(f"unknown geometric op {kind!r}; valid: {valid}")
    out: torch.Tensor = op.matrix(arg.double(), height, width)
    return out


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


def _cubic4(v: Sequence[torch.Tensor], d: torch.Tensor) -> torch.Tensor:
    """:func:`_cubic` through four taps given as a sequence."""
    return _cubic(v[0], v[1], v[2], v[3], d)


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
        return _cubic4([taps(r0, taps.cols(x0 + i)) for i in (-1, 0, 1, 2)], dx)
    if axis == "y":
        c0 = taps.cols(x0)
        return _cubic4([taps(taps.rows(y0 + j), c0) for j in (-1, 0, 1, 2)], dy)
    cols = [taps.cols(x0 + i) for i in (-1, 0, 1, 2)]
    rows = [_cubic4([taps(taps.rows(y0 + j), c) for c in cols], dx) for j in (-1, 0, 1, 2)]
    return _cubic4(rows, dy)


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


# --- the per-image CPU kernel and the op kinds -------------------------------------------------------------


def affine_cpu(
    img: torch.Tensor, matrix: Sequence[float], fill: float | Sequence[float], interpolation: str
) -> torch.Tensor | None:
    """The per-image CPU kernel for one Pillow affine ``matrix`` on a CPU ``(..., C, H, W)`` image with 1 or
    3 channels: OpenCV for bilinear (two shifted views for a shift along one axis), Pillow for bicubic;
    ``None`` for nearest (the batched kernel is as fast)."""
    if interpolation == "nearest":
        return None
    m = tuple(float(v) for v in matrix)
    if interpolation == "bilinear":
        a, b, c, d, e, f = m
        if a == 1.0 and b == 0.0 and d == 0.0 and e == 1.0 and (c == 0.0 or f == 0.0):
            return per_image(img, lambda arr: shift_cv2(arr, c, f, fill))
        return per_image(img, lambda arr: affine_cv2(arr, m, fill, interpolation))
    pil_fill = P.fill_for_mode(fill, "L" if img.shape[-3] == 1 else "RGB")
    return via_pil(P._affine, img, m, pil_fill, Image.Resampling.BICUBIC)


def affine_image(
    img: torch.Tensor,
    matrix: Sequence[float] | torch.Tensor,
    fill: float | Sequence[float],
    interpolation: str,
) -> torch.Tensor:
    """The batched kernel on one ``uint8`` ``(C, H, W)`` image or a ``(..., C, H, W)`` stack, every image
    with the same matrix (six numbers, or ``(n, 6)`` per image), on the image's device."""
    c, h, w = img.shape[-3:]
    x = img.reshape(-1, c, h, w)
    n = x.shape[0]
    if n == 0 or h == 0 or w == 0:
        return img.clone()
    if isinstance(matrix, torch.Tensor):
        m = matrix.to(torch.float64).reshape(-1, 6).expand(n, 6)
    else:
        m = torch.tensor([float(v) for v in matrix], dtype=torch.float64).expand(n, 6)
    axis = _matrix_axis(m) if interpolation == "bicubic" else None
    out = _affine_kernel(x, to_device(m, img.device), fill_vector(fill, c, img.device), interpolation, axis)
    return out.reshape(img.shape)


class _AffineCPU:
    """The per-image CPU kernel of one geometric kind: ``(img, arg, fill, interpolation) -> img``, its
    matrix through :func:`affine_cpu`."""

    def __init__(self, matrix: Callable[..., Any]) -> None:
        self.matrix = matrix

    def __call__(
        self, img: torch.Tensor, arg: float, fill: float | Sequence[float], interpolation: str
    ) -> torch.Tensor | None:
        if interpolation == "nearest":
            return None
        return affine_cpu(img, self.matrix(arg, img.shape[-2], img.shape[-1]), fill, interpolation)


def _geometric_kind(
    name: str, pil: Callable[..., Any], matrix: Callable[..., Any], period: float | None = None
) -> OpKind:
    return OpKind(name, pil, None, _AffineCPU(matrix), geometric=True, matrix=matrix, period=period)


ROTATE = _geometric_kind("rotate", P.rotate, rotate_matrix, period=360.0)
SHEAR_X = _geometric_kind("shear_x", P.shear_x, shear_x_matrix)
SHEAR_Y = _geometric_kind("shear_y", P.shear_y, shear_y_matrix)
TRANSLATE_X = _geometric_kind("translate_x", P.translate_x, translate_x_matrix)
TRANSLATE_Y = _geometric_kind("translate_y", P.translate_y, translate_y_matrix)
TRANSLATE_X_REL = _geometric_kind("translate_x_rel", P.translate_x_rel, translate_x_rel_matrix)
TRANSLATE_Y_REL = _geometric_kind("translate_y_rel", P.translate_y_rel, translate_y_rel_matrix)
_KINDS = (ROTATE, SHEAR_X, SHEAR_Y, TRANSLATE_X, TRANSLATE_Y, TRANSLATE_X_REL, TRANSLATE_Y_REL)

GEOMETRIC_KINDS: tuple[str, ...] = tuple(k.name for k in _KINDS)
"""The functional names of this module's resampling ops (:data:`pixelpipe.batch.ops.GEOMETRIC_KINDS`: all)."""


def _lv_rotate(m: Any, hp: Mapping[str, Any], s: Any) -> Any:
    return s * (level_of(m) * 30.0)


def _lv_shear(m: Any, hp: Mapping[str, Any], s: Any) -> Any:
    return s * (level_of(m) * 0.3)


def _lv_translate_abs(m: Any, hp: Mapping[str, Any], s: Any) -> Any:
    return s * (level_of(m) * float(hp.get("translate_const", DEFAULT_TRANSLATE_CONST)))


def _lv_translate_rel(m: Any, hp: Mapping[str, Any], s: Any) -> Any:
    return s * (level_of(m) * float(hp.get("translate_pct", DEFAULT_TRANSLATE_PCT)))


SPECS: tuple[OpSpec, ...] = (
    OpSpec("Rotate", ROTATE, _lv_rotate, signed=True),
    OpSpec("ShearX", SHEAR_X, _lv_shear, signed=True),
    OpSpec("ShearY", SHEAR_Y, _lv_shear, signed=True),
    OpSpec("TranslateX", TRANSLATE_X, _lv_translate_abs, signed=True),
    OpSpec("TranslateY", TRANSLATE_Y, _lv_translate_abs, signed=True),
    OpSpec("TranslateXRel", TRANSLATE_X_REL, _lv_translate_rel, signed=True),
    OpSpec("TranslateYRel", TRANSLATE_Y_REL, _lv_translate_rel, signed=True),
)
"""The geometric ops of the registry (:data:`pixelpipe.ops.OPS`)."""
