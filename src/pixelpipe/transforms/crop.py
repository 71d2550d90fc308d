"""Crop and pad helpers: :func:`center_crop_or_pad`, :func:`crop_or_pad`, :class:`CenterCropOrPad`,
:class:`RandomCropOrPad`, :class:`RandomPad` and :class:`TrimBorder`.

Same semantics as the reference's helpers (``timm.data.transforms``), except that :class:`TrimBorder` takes
the left offset from the width (the reference uses the height, which breaks narrow images).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._checks import check_int, is_real
from ..errors import ConfigError
from . import functional as F
from .base import Transform

__all__ = [
    "CenterCropOrPad",
    "RandomCropOrPad",
    "RandomPad",
    "TrimBorder",
    "center_crop_or_pad",
    "crop_or_pad",
]

Fill = int | float | Sequence[int] | Sequence[float]

_PADDING_MODES = ("constant", "edge", "reflect", "symmetric")


def _check_fill(fill: Any, owner: str) -> Fill:
    """A fill value: a finite number or a non-empty sequence of them (one per channel)."""
    if is_real(fill) and math.isfinite(fill):
        return fill
    if (
        isinstance(fill, Sequence)
        and not isinstance(fill, str)
        and len(fill) > 0
        and all(is_real(v) and math.isfinite(v) for v in fill)
    ):
        return fill
    raise ConfigError(f"{owner}: fill must be a finite number or a sequence of them, got {fill!r}")


def size_repr(size: Any, checked: tuple[int, int]) -> list | tuple[int, int]:
    """The ``size`` a crop's repr shows: a two-item list as the caller gave it, else ``(height, width)``.

    The reference's crops keep a list argument as a list, so their reprs print ``size=[224, 224]`` for
    ``create_transform([3, 224, 224])``; the crop itself always uses the checked tuple.
    """
    return list(size) if isinstance(size, list) and len(size) == 2 else checked


def _check_padding_mode(mode: Any, owner: str) -> str:
    if mode not in _PADDING_MODES:
        raise ConfigError(f"{owner}: padding_mode must be one of {', '.join(_PADDING_MODES)}, got {mode!r}")
    return mode


def center_crop_or_pad(
    img: Any, output_size: int | Sequence[int], fill: Fill = 0, padding_mode: str = "constant"
) -> Any:
    """Centre-crop to ``output_size``, padding first on any axis where the image is smaller.

    Padding puts ``d // 2`` before and ``(d + 1) // 2`` after; the crop starts at ``round((H - h) / 2)``.

    Example:
        >>> import torch
        >>> center_crop_or_pad(torch.ones(1, 2, 6, dtype=torch.uint8), 4)[0]
        tensor([[0, 0, 0, 0],
                [1, 1, 1, 1],
                [1, 1, 1, 1],
                [0, 0, 0, 0]], dtype=torch.uint8)
    """
    crop_h, crop_w = F.setup_size(output_size, "output_size", "center_crop_or_pad")
    _, img_h, img_w = F.get_dimensions(img)
    if crop_w > img_w or crop_h > img_h:
        dw, dh = max(crop_w - img_w, 0), max(crop_h - img_h, 0)
        img = F.pad(img, [dw // 2, dh // 2, (dw + 1) // 2, (dh + 1) // 2], fill, padding_mode)
        _, img_h, img_w = F.get_dimensions(img)
        if (crop_h, crop_w) == (img_h, img_w):
            return img
    top = round((img_h - crop_h) / 2.0)
    left = round((img_w - crop_w) / 2.0)
    return F.crop(img, top, left, crop_h, crop_w)


def crop_or_pad(
    img: Any,
    top: int,
    left: int,
    height: int,
    width: int,
    fill: Fill = 0,
    padding_mode: str = "constant",
) -> Any:
    """Take the ``(top, left, height, width)`` window, padding whatever part of it lies outside the image.

    Example:
        >>> import torch
        >>> crop_or_pad(torch.ones(1, 2, 2, dtype=torch.uint8), -1, 0, 3, 2)[0]
        tensor([[0, 0],
                [1, 1],
                [1, 1]], dtype=torch.uint8)
    """
    _, img_h, img_w = F.get_dimensions(img)
    right, bottom = left + width, top + height
    if left < 0 or top < 0 or right > img_w or bottom > img_h:
        padding = [
            max(-left + min(0, right), 0),
            max(-top + min(0, bottom), 0),
            max(right - max(img_w, left), 0),
            max(bottom - max(img_h, top), 0),
        ]
        img = F.pad(img, padding, fill, padding_mode)
    return F.crop(img, max(top, 0), max(left, 0), height, width)


class CenterCropOrPad(Transform):
    """:func:`center_crop_or_pad` as a transform.

    Example:
        >>> CenterCropOrPad(224, fill=[124, 116, 104])
        CenterCropOrPad(size=(224, 224))
    """

    def __init__(self, size: int | Sequence[int], fill: Fill = 0, padding_mode: str = "constant") -> None:
        self.size = F.setup_size(size, "size", "CenterCropOrPad")
        self._size_repr = size_repr(size, self.size)
        self.fill = _check_fill(fill, "CenterCropOrPad")
        self.padding_mode = _check_padding_mode(padding_mode, "CenterCropOrPad")

    def apply(self, img: Any, params: Any) -> Any:
        return center_crop_or_pad(img, self.size, self.fill, self.padding_mode)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(size={self._size_repr})"


class RandomCropOrPad(Transform):
    """Crop to ``size`` at a random place; where the image is smaller, pad with a random split of the margin.

    Example:
        >>> import torch
        >>> RandomCropOrPad(4)(torch.zeros(3, 2, 9, dtype=torch.uint8), rng=np.random.default_rng(0)).shape
        torch.Size([3, 4, 4])
    """

    def __init__(self, size: int | Sequence[int], fill: Fill = 0, padding_mode: str = "constant") -> None:
        self.size = F.setup_size(size, "size", "RandomCropOrPad")
        self._size_repr = size_repr(size, self.size)
        self.fill = _check_fill(fill, "RandomCropOrPad")
        self.padding_mode = _check_padding_mode(padding_mode, "RandomCropOrPad")

    @staticmethod
    def get_params(img: Any, size: Sequence[int], rng: np.random.Generator | None = None) -> tuple[int, int]:
        """``(top, left)`` of the window; negative offsets place the image inside a padded margin."""
        from ..rng import get_rng

        rng = rng if rng is not None else get_rng()
        _, img_h, img_w = F.get_dimensions(img)
        dh, dw = img_h - size[0], img_w - size[1]
        top = int(np.sign(dh)) * int(rng.integers(0, abs(dh) + 1))
        left = int(np.sign(dw)) * int(rng.integers(0, abs(dw) + 1))
        return top, left

    def make_params(self, img: Any, rng: np.random.Generator) -> tuple[int, int]:
        return self.get_params(img, self.size, rng)

    def apply(self, img: Any, params: tuple[int, int]) -> Any:
        top, left = params
        return crop_or_pad(img, top, left, self.size[0], self.size[1], self.fill, self.padding_mode)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(size={self._size_repr})"


class RandomPad(Transform):
    """Pad up to ``input_size`` ``(height, width)``, splitting the padding at random between the sides.

    Example:
        >>> import torch
        >>> RandomPad((5, 6))(torch.zeros(3, 2, 9, dtype=torch.uint8), rng=np.random.default_rng(0)).shape
        torch.Size([3, 5, 9])
    """

    def __init__(self, input_size: int | Sequence[int], fill: Fill = 0) -> None:
        self.input_size = F.setup_size(input_size, "input_size", "RandomPad")
        self.fill = _check_fill(fill, "RandomPad")

    def make_params(self, img: Any, rng: np.random.Generator) -> tuple[int, int, int, int]:
        _, img_h, img_w = F.get_dimensions(img)
        dw, dh = max(self.input_size[1] - img_w, 0), max(self.input_size[0] - img_h, 0)
        left = int(rng.integers(0, dw + 1))
        top = int(rng.integers(0, dh + 1))
        return left, top, dw - left, dh - top

    def apply(self, img: Any, params: tuple[int, int, int, int]) -> Any:
        return F.pad(img, params, self.fill)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(input_size={self.input_size})"


class TrimBorder(Transform):
    """Cut ``border_size`` pixels from every side, keeping at least the central row / column.

    The reference returns an empty image when a side is not longer than ``2 * border_size`` (every
    transform after it then fails); here the central pixel(s) of such a side are kept.

    Example:
        >>> import torch
        >>> TrimBorder(2)(torch.zeros(3, 10, 5, dtype=torch.uint8)).shape
        torch.Size([3, 6, 1])
        >>> TrimBorder(2)(torch.zeros(3, 10, 4, dtype=torch.uint8)).shape
        torch.Size([3, 6, 1])
        >>> TrimBorder(2)
        TrimBorder()
    """

    def __init__(self, border_size: int) -> None:
        self.border_size = check_int(border_size, "border_size", "TrimBorder", lo=0)

    def apply(self, img: Any, params: Any) -> Any:
        _, h, w = F.get_dimensions(img)
        b = self.border_size
        out_h, out_w = max(min(h, 1), h - 2 * b), max(min(w, 1), w - 2 * b)
        return F.crop(img, (h - out_h) // 2, (w - out_w) // 2, out_h, out_w)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}()"
