"""Augmentation ops on PIL images: the pure functional layer behind :class:`~pixelpipe.augment.ops.AugmentOp`.

Every function here is deterministic: the random parts (sign, interpolation, blur radius) are drawn by
``AugmentOp.make_params`` and arrive as plain arguments. The outputs equal those of the reference library's
(timm ``auto_augment``) ops pixel for pixel, with two deliberate differences:

* :func:`posterize` with 0 bits returns a black image (every bit cleared) instead of raising, as Pillow >= 12
  does for ``ImageOps.posterize(img, 0)``;
* geometric ops accept greyscale images with an RGB fill colour (the fill is converted to the image mode the
  way Pillow converts RGB to L), where the reference raises.

Ops follow AutoAugment (Cubuk et al., 2018, https://arxiv.org/abs/1805.09501) and RandAugment (Cubuk et al.,
2019, https://arxiv.org/abs/1909.13719) as parameterised by timm.

Example:
    >>> from PIL import Image
    >>> img = Image.new("RGB", (4, 3), (200, 100, 50))
    >>> posterize(img, 0).getpixel((0, 0))
    (0, 0, 0)
    >>> solarize(img, 128).getpixel((0, 0))
    (55, 100, 50)
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter, ImageOps

from ._batched import fill_values

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

_AFFINE = Image.Transform.AFFINE
Fill = int | tuple[int, ...]


def fill_for_mode(fill: int | float | Sequence[float], mode: str) -> Fill:
    """Convert a fill colour to what Pillow accepts for ``mode``.

    A 3-tuple on a single-band image becomes its luma (Pillow's RGB→L rounding); a scalar on a multi-band
    image is repeated. Values are rounded to ints.

    Example:
        >>> fill_for_mode((128, 128, 128), "L")
        128
        >>> fill_for_mode(7, "RGB")
        (7, 7, 7)
    """
    nbands = Image.getmodebands(mode)
    vals = fill_values(fill, nbands)
    return vals[0] if nbands == 1 else vals


def _affine(img: Image.Image, matrix: tuple[float, ...], fill: Fill, resample: int) -> Image.Image:
    return img.transform(img.size, _AFFINE, matrix, resample=resample, fillcolor=fill)


def rotate(img: Image.Image, degrees: float, fill: Fill, resample: int) -> Image.Image:
    """Rotate counter-clockwise by ``degrees`` about the centre, keeping the size; ``fill`` outside."""
    return img.rotate(degrees, resample=Image.Resampling(resample), fillcolor=fill)


def shear_x(img: Image.Image, factor: float, fill: Fill, resample: int) -> Image.Image:
    """Shear horizontally: output pixel ``(x, y)`` samples input ``(x + factor * y, y)``."""
    return _affine(img, (1, factor, 0, 0, 1, 0), fill, resample)


def shear_y(img: Image.Image, factor: float, fill: Fill, resample: int) -> Image.Image:
    """Shear vertically: output pixel ``(x, y)`` samples input ``(x, y + factor * x)``."""
    return _affine(img, (1, 0, 0, factor, 1, 0), fill, resample)


def translate_x(img: Image.Image, pixels: float, fill: Fill, resample: int) -> Image.Image:
    """Shift the content left by ``pixels`` (negative: right)."""
    return _affine(img, (1, 0, pixels, 0, 1, 0), fill, resample)


def translate_y(img: Image.Image, pixels: float, fill: Fill, resample: int) -> Image.Image:
    """Shift the content up by ``pixels`` (negative: down)."""
    return _affine(img, (1, 0, 0, 0, 1, pixels), fill, resample)


def translate_x_rel(img: Image.Image, pct: float, fill: Fill, resample: int) -> Image.Image:
    """:func:`translate_x` by a fraction ``pct`` of the width."""
    return _affine(img, (1, 0, pct * img.size[0], 0, 1, 0), fill, resample)


def translate_y_rel(img: Image.Image, pct: float, fill: Fill, resample: int) -> Image.Image:
    """:func:`translate_y` by a fraction ``pct`` of the height."""
    return _affine(img, (1, 0, 0, 0, 1, pct * img.size[1]), fill, resample)


_FAST_MODES = frozenset(("L", "RGB"))
_RAMP = np.arange(256, dtype=np.int64)
_RAMP_F = np.arange(256, dtype=np.float64)


def _point(img: Image.Image, lut: list[int]) -> Image.Image:
    """``img.point(lut)`` for an 8-bit L / RGB image and a list of ints in ``[0, 255]``.

    Calls Pillow's core directly: ``Image.point`` would first re-round every table entry in Python.
    """
    return img._new(img.im.point(lut, None))


def auto_contrast(img: Image.Image) -> Image.Image:
    """Stretch each channel so its darkest value maps to 0 and its lightest to 255.

    Same table as ``ImageOps.autocontrast`` (no cutoff), built with NumPy in the same float64 arithmetic.
    """
    if img.mode not in _FAST_MODES:
        return ImageOps.autocontrast(img)
    hist = np.asarray(img.histogram(), dtype=np.int64).reshape(-1, 256)
    parts = []
    for h in hist:
        nz = np.flatnonzero(h)
        lo, hi = (int(nz[0]), int(nz[-1])) if nz.size else (0, 0)
        if hi <= lo:
            parts.append(_RAMP)
            continue
        scale = 255.0 / (hi - lo)
        offset = -lo * scale
        parts.append(np.clip((_RAMP_F * scale + offset).astype(np.int64), 0, 255))
    return _point(img, np.concatenate(parts).tolist())


def equalize(img: Image.Image) -> Image.Image:
    """Equalise each channel's histogram (the table of Pillow's ``ImageOps.equalize``, in NumPy integers)."""
    if img.mode not in _FAST_MODES:
        return ImageOps.equalize(img)
    hist = np.asarray(img.histogram(), dtype=np.int64).reshape(-1, 256)
    parts = []
    for h in hist:
        nz = np.flatnonzero(h)
        step = (int(h.sum()) - int(h[nz[-1]])) // 255 if nz.size > 1 else 0
        if not step:
            parts.append(_RAMP)
            continue
        before = np.cumsum(h) - h  # pixels below each value
        parts.append((step // 2 + before) // step)
    return _point(img, np.concatenate(parts).tolist())


_INVERT = list(range(255, -1, -1))


def invert(img: Image.Image) -> Image.Image:
    """``255 - x`` on every channel."""
    if img.mode not in _FAST_MODES:
        return ImageOps.invert(img)
    return _point(img, _INVERT * len(img.getbands()))


@lru_cache(maxsize=1024)
def _lut(kind: str, arg: int, nbands: int) -> list[int]:
    if kind == "posterize":
        mask = ~(2 ** (8 - arg) - 1) & 0xFF
        lut = [i & mask for i in range(256)]
    elif kind == "solarize":
        lut = [i if i < arg else 255 - i for i in range(256)]
    else:  # solarize_add, threshold 128
        lut = [min(255, i + arg) if i < 128 else i for i in range(256)]
    return lut * nbands


def posterize(img: Image.Image, bits: int) -> Image.Image:
    """Keep the ``bits`` most significant bits of each channel.

    ``bits >= 8`` returns the image unchanged; ``bits <= 0`` clears every bit (a black image) where
    ``ImageOps.posterize`` raises on Pillow >= 12.
    """
    bits = int(bits)
    if bits >= 8:
        return img
    if img.mode in _FAST_MODES:
        return _point(img, _lut("posterize", max(bits, 0), len(img.getbands())))
    if bits >= 1:
        return ImageOps.posterize(img, bits)
    return ImageOps.posterize(img, 1).point(lambda _: 0) if img.mode == "P" else img.point(lambda _: 0)


def solarize(img: Image.Image, threshold: int) -> Image.Image:
    """Invert every channel value ``>= threshold`` (256: unchanged; 0: full inversion)."""
    if img.mode not in _FAST_MODES:
        return ImageOps.solarize(img, threshold)
    return _point(img, _lut("solarize", int(threshold), len(img.getbands())))


def solarize_add(img: Image.Image, add: int) -> Image.Image:
    """Add ``add`` to channel values below 128, saturating at 255. Modes other than L / RGB are unchanged."""
    if img.mode not in _FAST_MODES:
        return img
    return _point(img, _lut("solarize_add", int(add), len(img.getbands())))


# The enhance ops below are ``Image.blend(degenerate, img, factor)`` with the degenerate image that
# ``ImageEnhance`` would build, made directly (same pixels, fewer intermediate images).


def color(img: Image.Image, factor: float) -> Image.Image:
    """Blend with the greyscale image: 0 grey, 1 unchanged, > 1 more saturated."""
    if img.mode != "RGB":
        return ImageEnhance.Color(img).enhance(factor)
    return Image.blend(img.convert("L").convert("RGB"), img, factor)


def contrast(img: Image.Image, factor: float) -> Image.Image:
    """Blend with the flat mean-luma image: 0 flat grey, 1 unchanged."""
    if img.mode not in _FAST_MODES:
        return ImageEnhance.Contrast(img).enhance(factor)
    mean = contrast_mean(img)
    degenerate = Image.new(img.mode, img.size, mean if img.mode == "L" else (mean,) * 3)
    return Image.blend(degenerate, img, factor)


def contrast_mean(img: Image.Image) -> int:
    """The grey level Contrast blends towards: the rounded mean of the L conversion (as ``ImageEnhance``)."""
    grey = img if img.mode == "L" else img.convert("L")
    hist = np.asarray(grey.histogram(), dtype=np.int64)
    # ImageStat's mean: an exact integer sum (float64 holds it exactly) over the pixel count
    count = int(hist.sum())
    return int((int(hist @ _RAMP) / count if count else 0) + 0.5)


_RAMP_IMAGE = Image.frombytes("L", (256, 1), bytes(range(256)))


def blend_table(level: int, factor: float) -> np.ndarray:
    """``Image.blend(flat, img, factor)`` as a ``(256,)`` uint8 table, for a flat image of ``level``.

    Computed by Pillow itself on the 256 possible values, so applying the table to an image gives exactly
    what blending it does.
    """
    flat = Image.new("L", (256, 1), int(level))
    return np.frombuffer(Image.blend(flat, _RAMP_IMAGE, factor).tobytes(), dtype=np.uint8)


@lru_cache(maxsize=16)
def _black(mode: str, size: tuple[int, int]) -> Image.Image:
    return Image.new(mode, size, 0)  # never modified: only read by Image.blend


def brightness(img: Image.Image, factor: float) -> Image.Image:
    """Blend with black: 0 black, 1 unchanged."""
    if img.mode not in _FAST_MODES:
        return ImageEnhance.Brightness(img).enhance(factor)
    return Image.blend(_black(img.mode, img.size), img, factor)


def sharpness(img: Image.Image, factor: float) -> Image.Image:
    """Blend with Pillow's ``SMOOTH``-filtered image: 0 blurred, 1 unchanged, 2 sharpened."""
    return ImageEnhance.Sharpness(img).enhance(factor)


def desaturate(img: Image.Image, factor: float) -> Image.Image:
    """Remove a fraction ``factor`` of the colour (1: greyscale, 0: unchanged)."""
    return ImageEnhance.Color(img).enhance(min(1.0, max(0.0, 1.0 - factor)))


def gaussian_blur(img: Image.Image, radius: float) -> Image.Image:
    """Pillow's ``GaussianBlur(radius)`` (three extended box-blur passes per axis)."""
    return img.filter(ImageFilter.GaussianBlur(radius=radius))
