"""Batched geometric ops on ``uint8`` ``(B, C, H, W)``: one affine resampling with per-sample matrices.

Rotate, ShearX/Y, TranslateX/Y and TranslateX/YRel are :func:`affine_batch` with per-sample matrices in
Pillow's convention (:func:`affine_matrices`); see :mod:`pixelpipe.batch.ops` for the tolerances.
"""

from __future__ import annotations

import torch

from .._transfer import to_device
from ._ops_common import Arg, Fill, _check, _gated, _per_sample

INTERPOLATION_CODES: dict[str, int] = {"nearest": 0, "bilinear": 2, "bicubic": 3}
"""Interpolation name → PIL resampling code (the values per-sample params carry)."""
_CODE_NAMES = {v: k for k, v in INTERPOLATION_CODES.items()}

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
