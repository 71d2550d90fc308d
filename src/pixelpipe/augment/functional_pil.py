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

from PIL import Image, ImageEnhance, ImageFilter, ImageOps

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
    if isinstance(fill, (int, float)):
        v = round(float(fill))
        return v if nbands == 1 else (v,) * nbands
    vals = tuple(round(float(v)) for v in fill)
    if nbands == 1:
        if len(vals) >= 3:
            r, g, b = vals[:3]
            return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16
        return vals[0]
    if len(vals) == 1:
        return vals * nbands
    if len(vals) < nbands:  # e.g. RGB fill on RGBA: opaque alpha
        return vals + (255,) * (nbands - len(vals))
    return vals[:nbands]


def _affine(img: Image.Image, matrix: tuple[float, ...], fill: Fill, resample: int) -> Image.Image:
    return img.transform(img.size, _AFFINE, matrix, resample=resample, fillcolor=fill)


def rotate(img: Image.Image, degrees: float, fill: Fill, resample: int) -> Image.Image:
    """Rotate counter-clockwise by ``degrees`` about the centre, keeping the size; ``fill`` outside."""
    return img.rotate(degrees, resample=resample, fillcolor=fill)


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


def auto_contrast(img: Image.Image) -> Image.Image:
    """Stretch each channel so its darkest value maps to 0 and its lightest to 255."""
    return ImageOps.autocontrast(img)


def equalize(img: Image.Image) -> Image.Image:
    """Equalise each channel's histogram (Pillow's ``ImageOps.equalize``)."""
    return ImageOps.equalize(img)


def invert(img: Image.Image) -> Image.Image:
    """``255 - x`` on every channel."""
    return ImageOps.invert(img)


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
    if img.mode in ("L", "RGB"):
        return img.point(_lut("posterize", max(bits, 0), len(img.getbands())))
    if bits >= 1:
        return ImageOps.posterize(img, bits)
    return ImageOps.posterize(img, 1).point(lambda _: 0) if img.mode == "P" else img.point(lambda _: 0)


def solarize(img: Image.Image, threshold: int) -> Image.Image:
    """Invert every channel value ``>= threshold`` (256: unchanged; 0: full inversion)."""
    if img.mode not in ("L", "RGB"):
        return ImageOps.solarize(img, threshold)
    return img.point(_lut("solarize", int(threshold), len(img.getbands())))


def solarize_add(img: Image.Image, add: int) -> Image.Image:
    """Add ``add`` to channel values below 128, saturating at 255. Modes other than L / RGB are unchanged."""
    if img.mode not in ("L", "RGB"):
        return img
    return img.point(_lut("solarize_add", int(add), len(img.getbands())))


def color(img: Image.Image, factor: float) -> Image.Image:
    """Blend with the greyscale image: 0 grey, 1 unchanged, > 1 more saturated."""
    return ImageEnhance.Color(img).enhance(factor)


def contrast(img: Image.Image, factor: float) -> Image.Image:
    """Blend with the flat mean-luma image: 0 flat grey, 1 unchanged."""
    return ImageEnhance.Contrast(img).enhance(factor)


def brightness(img: Image.Image, factor: float) -> Image.Image:
    """Blend with black: 0 black, 1 unchanged."""
    return ImageEnhance.Brightness(img).enhance(factor)


def sharpness(img: Image.Image, factor: float) -> Image.Image:
    """Blend with Pillow's ``SMOOTH``-filtered image: 0 blurred, 1 unchanged, 2 sharpened."""
    return ImageEnhance.Sharpness(img).enhance(factor)


def desaturate(img: Image.Image, factor: float) -> Image.Image:
    """Remove a fraction ``factor`` of the colour (1: greyscale, 0: unchanged)."""
    return ImageEnhance.Color(img).enhance(min(1.0, max(0.0, 1.0 - factor)))


def gaussian_blur(img: Image.Image, radius: float) -> Image.Image:
    """Pillow's ``GaussianBlur(radius)`` (three extended box-blur passes per axis)."""
    return img.filter(ImageFilter.GaussianBlur(radius=radius))
