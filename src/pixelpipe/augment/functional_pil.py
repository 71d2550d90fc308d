"""Augmentation ops on PIL images: the PIL kernels of the op specs, defined in :mod:`pixelpipe.ops.pil`.

This module keeps the names importable where they always were.

Example:
    >>> from PIL import Image
    >>> solarize(Image.new("RGB", (4, 3), (200, 100, 50)), 128).getpixel((0, 0))
    (55, 100, 50)
"""

from __future__ import annotations

from ..ops.pil import Fill as Fill
from ..ops.pil import _affine as _affine
from ..ops.pil import (
    auto_contrast,
    brightness,
    color,
    contrast,
    desaturate,
    equalize,
    fill_for_mode,
    gaussian_blur,
    invert,
    posterize,
    rotate,
    sharpness,
    shear_x,
    shear_y,
    solarize,
    solarize_add,
    translate_x,
    translate_x_rel,
    translate_y,
    translate_y_rel,
)
from ..ops.pil import blend_table as blend_table
from ..ops.pil import contrast_mean as contrast_mean

__all__ = [
    "auto_contrast",
    "brightness",
    "color",
    "contrast",
    "desaturate",
    "equalize",
    "fill_for_mode",
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
