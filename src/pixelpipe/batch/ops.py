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

Layout: each op's kernels live with its spec in :mod:`pixelpipe.ops` (the colour ops in
:mod:`pixelpipe.ops.color`, the filters in :mod:`pixelpipe.ops.filter`, the geometric ops in
:mod:`pixelpipe.ops.geometric`); this module re-exports the batched functions and the kernel table.

Example:
    >>> import torch
    >>> img = torch.tensor([[[[200, 100], [50, 0]]], [[[200, 100], [50, 0]]]], dtype=torch.uint8)
    >>> solarize(img, torch.tensor([128, 60]))[:, 0].tolist()
    [[[55, 100], [50, 0]], [[55, 155], [50, 0]]]
    >>> invert(img, mask=torch.tensor([True, False]))[:, 0].tolist()
    [[[55, 155], [205, 255]], [[200, 100], [50, 0]]]
"""

from __future__ import annotations

from ..ops import KINDS, OpKind
from ..ops.color import (
    auto_contrast,
    brightness,
    color,
    contrast,
    desaturate,
    equalize,
    invert,
    posterize,
    solarize,
    solarize_add,
)
from ..ops.filter import gaussian_blur, sharpness
from ..ops.geometric import (
    INTERPOLATION_CODES,
    affine_batch,
    affine_matrices,
    fill_vector,
    rotate,
    shear_x,
    shear_y,
    translate_x,
    translate_x_rel,
    translate_y,
    translate_y_rel,
)

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


# --- the kernel table the batched policies dispatch through -------------------------------------------------

Kernel = OpKind
"""How the batched policies apply one op kind: its :class:`~pixelpipe.ops.OpKind` (``name``, the batched
kernel ``fn(img_subset, arg_subset, **static)``, ``None`` for geometric kinds, which go through
:func:`affine_matrices` and one shared :func:`affine_batch` call per layer; ``geometric``;
``host_static``)."""

KERNELS: dict[str, Kernel] = dict(KINDS)
"""Functional name → :class:`Kernel`, covering every op of :data:`pixelpipe.ops.OPS` (derived from it)."""

GEOMETRIC_KINDS: tuple[str, ...] = tuple(name for name, kind in KINDS.items() if kind.geometric)
"""The functional names of the resampling ops."""
