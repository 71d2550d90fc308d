"""Augmentation ops on ``uint8`` tensors shaped ``(..., C, H, W)``: the tensor twin of
:mod:`~pixelpipe.augment.functional_pil` (same function names, same arguments).

Each function runs its op's per-image CPU kernel where the op has one and the image is a CPU tensor with 1
or 3 channels, else its batched kernel at batch size 1 (:func:`pixelpipe.ops._image.apply_image`); the
kernels live with the op's spec in :mod:`pixelpipe.ops`. The notes below give each path's tolerance.

The ops re-implement Pillow's arithmetic rather than torchvision's, so that a tensor pipeline gives what the
PIL pipeline gives:

* point ops (Invert, Posterize, Solarize, SolarizeAdd) and the histogram ops (AutoContrast, Equalize) build
  Pillow's lookup tables exactly: **identical** output;
* blends (Color, Contrast, Brightness, Sharpness, Desaturate) use Pillow's fixed-point luma, an exact integer
  mean, Pillow's ``SMOOTH`` sums and float32 truncating blend: **identical** in the tests;
* Gaussian blur runs Pillow's three extended box-blur passes in exact float64 fixed point: **identical**;
* geometric ops (Rotate, Shear, Translate) sample like Pillow's affine transform (pixel centres, hard cut-off
  at the image edge, edge-clamped neighbours, Pillow's cubic with ``a = -1``, truncation), in float64:
  identical in the tests; a sample landing exactly on a rounding boundary may differ by **1 level** (the
  tests allow a mean absolute difference of 0.05 level). This float64 path (the batched kernel) is slow on
  CPU; it serves non-CPU tensors and nearest.

CPU fast path (CPU tensors with 1 or 3 channels): bilinear geometric ops use ``cv2.warpAffine`` in float32
with Pillow's coordinate convention and edge/fill rule (**mean <= 0.25 level** on noisy test images, about
0.002 on photos; max 1 level; same fill pixels as Pillow), translations along one axis a float32 blend of
two shifted views instead of a warp (same bounds, 3x cheaper); bicubic geometric ops (OpenCV's cubic is over 1
level off), Equalize, Color, Sharpness and GaussianBlur run Pillow's own op on a copy (**identical**);
Contrast takes Pillow's mean grey level and applies a table of Pillow's blend of every value (**identical**);
Solarize, SolarizeAdd and Brightness use ``cv2.LUT`` (**identical**). OpenCV runs
single-threaded: its thread pool is not fork-safe (see :func:`pixelpipe.ops._cpu.cv`).

Functions may return the input tensor itself when the op is an identity (they never write into it).

Example:
    >>> import torch
    >>> img = torch.tensor([[[200, 100], [50, 0]]], dtype=torch.uint8)
    >>> solarize(img, 128).tolist()
    [[[55, 100], [50, 0]]]
    >>> posterize(img, 0).tolist()
    [[[0, 0], [0, 0]]]
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..ops import color as _color
from ..ops import filter as _filter
from ..ops import geometric as _geo
from ..ops._cpu import cpu_fast as _cpu_fast
from ..ops._image import apply_image, check_image
from ..ops._spec import OpKind

__all__ = [
    "auto_contrast",
    "brightness",
    "color",
    "contrast",
    "desaturate",
    "equalize",
    "gaussian_blur",
    "interpolation_name",
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

Fill = float | Sequence[float]
_INTERP = {0: "nearest", 2: "bilinear", 3: "bicubic"}


def interpolation_name(resample: int | None) -> str:
    """Map a PIL resampling filter (0 nearest, 2 bilinear, 3 bicubic) to its name.

    Example:
        >>> interpolation_name(3)
        'bicubic'
    """
    return _INTERP.get(int(resample) if resample is not None else 3, "bicubic")


# --- point and histogram ops (exact) ---------------------------------------------------------------------


def invert(img: torch.Tensor) -> torch.Tensor:
    """``255 - x``."""
    return apply_image(_color.INVERT, img)


def posterize(img: torch.Tensor, bits: int) -> torch.Tensor:
    """Keep the ``bits`` high bits (``>= 8`` unchanged, ``<= 0`` black)."""
    return apply_image(_color.POSTERIZE, img, int(bits))


def solarize(img: torch.Tensor, threshold: int) -> torch.Tensor:
    """Invert values ``>= threshold``."""
    return apply_image(_color.SOLARIZE, img, int(threshold))


def solarize_add(img: torch.Tensor, add: int) -> torch.Tensor:
    """Add ``add`` to values below 128, saturating at 255 (1- or 3-channel images; others unchanged)."""
    return apply_image(_color.SOLARIZE_ADD, img, int(add))


def auto_contrast(img: torch.Tensor) -> torch.Tensor:
    """Per channel, map the lowest value to 0 and the highest to 255 (Pillow's table, exact)."""
    return apply_image(_color.AUTO_CONTRAST, img)


def equalize(img: torch.Tensor) -> torch.Tensor:
    """Per-channel histogram equalisation with Pillow's table (exact)."""
    return apply_image(_color.EQUALIZE, img)


# --- blends and filters -------------------------------------------------------------------------------------


def color(img: torch.Tensor, factor: float) -> torch.Tensor:
    """Blend with the greyscale image (0 grey, 1 unchanged)."""
    return apply_image(_color.COLOR, img, factor)


def desaturate(img: torch.Tensor, factor: float) -> torch.Tensor:
    """Remove a fraction ``factor`` of the colour (1 greyscale, 0 unchanged)."""
    return apply_image(_color.DESATURATE, img, factor)


def contrast(img: torch.Tensor, factor: float) -> torch.Tensor:
    """Blend with the flat image of the rounded mean luma (0 flat grey, 1 unchanged)."""
    return apply_image(_color.CONTRAST, img, factor)


def brightness(img: torch.Tensor, factor: float) -> torch.Tensor:
    """Blend with black (0 black, 1 unchanged)."""
    return apply_image(_color.BRIGHTNESS, img, factor)


def sharpness(img: torch.Tensor, factor: float) -> torch.Tensor:
    """Blend with Pillow's ``SMOOTH`` filter result (border pixels kept): 0 blurred, 1 unchanged."""
    return apply_image(_filter.SHARPNESS, img, factor)


def gaussian_blur(img: torch.Tensor, radius: float) -> torch.Tensor:
    """Pillow's ``GaussianBlur(radius)``: three extended box-blur passes per axis."""
    return apply_image(_filter.GAUSSIAN_BLUR, img, radius)


# --- geometric ops (Pillow's affine sampling) -------------------------------------------------------------


def _fill_vector(fill: Fill, channels: int) -> torch.Tensor:
    """The fill colour as a float64 ``(C, 1, 1)`` tensor (:func:`pixelpipe.ops.geometric.fill_vector`)."""
    return _geo.fill_vector(fill, channels).double().view(channels, 1, 1)


def _affine(img: torch.Tensor, matrix: Sequence[float], fill: Fill, interpolation: str) -> torch.Tensor:
    """Output pixel ``(x, y)`` takes input ``(a x + b y + c, d x + e y + f)`` in pixel-centre coordinates:
    the geometric ops' per-image path for any matrix."""
    check_image(img)
    out = _geo.affine_cpu(img, matrix, fill, interpolation) if _cpu_fast(img) else None
    return out if out is not None else _geo.affine_image(img, matrix, fill, interpolation)


def _affine_exact(img: torch.Tensor, matrix: Sequence[float], fill: Fill, interpolation: str) -> torch.Tensor:
    """:func:`_affine` through the batched kernel (float64, any device) at batch size 1."""
    check_image(img)
    return _geo.affine_image(img, matrix, fill, interpolation)


def _geometric(kind: OpKind, img: torch.Tensor, arg: float, fill: Fill, interpolation: str) -> torch.Tensor:
    check_image(img)
    return apply_image(kind, img, float(arg), fill, interpolation)


def rotate(img: torch.Tensor, degrees: float, fill: Fill, interpolation: str) -> torch.Tensor:
    """Rotate counter-clockwise about the centre, keeping the size (Pillow's ``Image.rotate``)."""
    return _geometric(_geo.ROTATE, img, degrees, fill, interpolation)


def shear_x(img: torch.Tensor, factor: float, fill: Fill, interpolation: str) -> torch.Tensor:
    """Shear horizontally (see :func:`pixelpipe.augment.functional_pil.shear_x`)."""
    return _geometric(_geo.SHEAR_X, img, factor, fill, interpolation)


def shear_y(img: torch.Tensor, factor: float, fill: Fill, interpolation: str) -> torch.Tensor:
    """Shear vertically."""
    return _geometric(_geo.SHEAR_Y, img, factor, fill, interpolation)


def translate_x(img: torch.Tensor, pixels: float, fill: Fill, interpolation: str) -> torch.Tensor:
    """Shift the content left by ``pixels``."""
    return _geometric(_geo.TRANSLATE_X, img, pixels, fill, interpolation)


def translate_y(img: torch.Tensor, pixels: float, fill: Fill, interpolation: str) -> torch.Tensor:
    """Shift the content up by ``pixels``."""
    return _geometric(_geo.TRANSLATE_Y, img, pixels, fill, interpolation)


def translate_x_rel(img: torch.Tensor, pct: float, fill: Fill, interpolation: str) -> torch.Tensor:
    """:func:`translate_x` by a fraction of the width."""
    return _geometric(_geo.TRANSLATE_X_REL, img, pct, fill, interpolation)


def translate_y_rel(img: torch.Tensor, pct: float, fill: Fill, interpolation: str) -> torch.Tensor:
    """:func:`translate_y` by a fraction of the height."""
    return _geometric(_geo.TRANSLATE_Y_REL, img, pct, fill, interpolation)
