"""Resizing transforms: :class:`Resize`, :class:`CenterCrop`, :class:`RandomResizedCropAndInterpolation`
(Inception-style random resized crop, Szegedy et al. 2015) and :class:`ResizeKeepRatio`.

Same parameters, sampling distributions and reprs as the reference (``timm.data.transforms`` and the
torchvision classes its factory uses); randomness comes from the generator given to :meth:`make_params`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from torchvision.transforms import InterpolationMode

from .._checks import check_int, check_prob, check_range, check_real
from ..errors import ConfigError
from ..rng import get_rng
from . import functional as F
from .base import Transform
from .crop import size_repr
from .interpolation import interp_mode_to_str, resolve_interpolation

__all__ = ["CenterCrop", "RandomResizedCropAndInterpolation", "Resize", "ResizeKeepRatio"]


def _interp_str(interp: InterpolationMode | tuple[InterpolationMode, ...]) -> str:
    if isinstance(interp, tuple):
        return " ".join(interp_mode_to_str(m) for m in interp)
    return interp_mode_to_str(interp)


def _choose(interp: InterpolationMode | tuple[InterpolationMode, ...], rng: np.random.Generator):
    if isinstance(interp, tuple):
        return interp[int(rng.integers(0, len(interp)))]
    return interp


def _as_passed(value: Sequence[float]) -> tuple[float, ...]:
    """``value`` rounded to 4 decimals for a repr, keeping Python ints as ints (``1`` prints ``1``)."""
    return tuple(round(v, 4) if isinstance(v, (int, float)) else round(float(v), 4) for v in value)


def _check_range(owner: str, name: str, value: Sequence[float], positive: bool) -> tuple[float, float]:
    """A ``(min, max)`` pair of finite numbers, ``> 0`` (``positive``) or ``>= 0``."""
    return check_range(value, name, owner, lo=0.0, lo_open=positive)


class Resize(Transform):
    """Resize to ``size``: an int sets the shorter side (the longer one keeps the aspect, truncated), a pair
    sets ``(height, width)``.

    Args:
        size: int or ``(height, width)``.
        interpolation: a name or ``InterpolationMode``.
        max_size: cap on the longer side when ``size`` is an int.
        antialias: kept for the reference's repr; resizing always antialiases.

    Example:
        >>> import torch
        >>> Resize(8)(torch.zeros(3, 16, 32, dtype=torch.uint8)).shape
        torch.Size([3, 8, 16])
        >>> Resize(256)
        Resize(size=256, interpolation=bilinear, max_size=None, antialias=True)
    """

    def __init__(
        self,
        size: int | Sequence[int],
        interpolation: str | InterpolationMode = InterpolationMode.BILINEAR,
        max_size: int | None = None,
        antialias: bool | None = True,
    ) -> None:
        F.setup_size(size, "size", "Resize")  # validates; the size is kept as given for the repr
        if max_size is not None:
            check_int(max_size, "max_size", "Resize", lo=1)
        self.size = size
        self.interpolation = resolve_interpolation(interpolation)
        if isinstance(self.interpolation, tuple):
            raise ConfigError("Resize: interpolation='random' is not supported here")
        self.max_size = max_size
        self.antialias = antialias

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """``(height, width)`` of the output for an input of this size."""
        size = self.size
        if isinstance(size, Sequence) and len(size) == 2:
            return int(size[0]), int(size[1])
        s = int(size[0] if isinstance(size, Sequence) else size)
        h, w = F.shorter_side_size(height, width, s)
        if self.max_size is not None and max(h, w) > self.max_size:
            scale = self.max_size / max(h, w)
            h, w = (int(h * scale), self.max_size) if w >= h else (self.max_size, int(w * scale))
        return h, w

    def apply(self, img: Any, params: Any) -> Any:
        _, h, w = F.get_dimensions(img)
        return F.resize(img, self.output_size(h, w), self.interpolation)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(size={self.size}, interpolation={_interp_str(self.interpolation)}, "
            f"max_size={self.max_size}, antialias={self.antialias})"
        )


class CenterCrop(Transform):
    """Crop the centre ``size`` window, zero-padding when the image is smaller.

    Example:
        >>> CenterCrop(224)
        CenterCrop(size=(224, 224))
    """

    def __init__(self, size: int | Sequence[int]) -> None:
        self.size = F.setup_size(size, "size", "CenterCrop")
        self._size_repr = size_repr(size, self.size)

    def apply(self, img: Any, params: Any) -> Any:
        return F.center_crop(img, self.size)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(size={self._size_repr})"


@dataclass(frozen=True)
class CropParams:
    """A crop window and the interpolation to resize it with."""

    top: int
    left: int
    height: int
    width: int
    interpolation: InterpolationMode


class RandomResizedCropAndInterpolation(Transform):
    """Crop a random window of random area and aspect ratio, then resize it to ``size``.

    The window is drawn as in the reference: up to 10 attempts of ``area ~ U(scale)·W·H`` and
    ``log(aspect) ~ U(log ratio)``, accepted when it fits; otherwise a centre crop clamped to ``ratio``.

    Args:
        size: output ``(height, width)`` (an int gives a square).
        scale: range of the window's area as a fraction of the image.
        ratio: range of the window's aspect ratio (width / height).
        interpolation: a name, ``'random'`` (bilinear or bicubic, drawn per call) or a mode.

    Example:
        >>> import torch
        >>> rrc = RandomResizedCropAndInterpolation(32)
        >>> rrc(torch.zeros(3, 64, 48, dtype=torch.uint8), rng=np.random.default_rng(0)).shape
        torch.Size([3, 32, 32])
        >>> RandomResizedCropAndInterpolation(224, interpolation='random')
        RandomResizedCropAndInterpolation(size=(224, 224), scale=(0.08, 1.0), ratio=(0.75, 1.3333), interpolation=bilinear bicubic)
        >>> RandomResizedCropAndInterpolation(224, scale=(0.8, 1))  # the repr shows what was passed
        RandomResizedCropAndInterpolation(size=(224, 224), scale=(0.8, 1), ratio=(0.75, 1.3333), interpolation=bilinear)
    """  # noqa: E501

    def __init__(
        self,
        size: int | Sequence[int],
        scale: Sequence[float] = (0.08, 1.0),
        ratio: Sequence[float] = (3.0 / 4.0, 4.0 / 3.0),
        interpolation: Any = "bilinear",
    ) -> None:
        owner = "RandomResizedCropAndInterpolation"
        self.size = F.setup_size(size, "size", owner)
        self.scale = _check_range(owner, "scale", scale, positive=False)
        self.ratio = _check_range(owner, "ratio", ratio, positive=True)
        if self.scale[0] > self.scale[1] or self.ratio[0] > self.ratio[1]:
            warnings.warn("range should be of kind (min, max)", stacklevel=2)
        self.interpolation = resolve_interpolation(interpolation)
        # the repr shows the values as passed (``scale=(0.8, 1)`` prints ``(0.8, 1)``), as the reference's
        self._passed = {"scale": tuple(scale), "ratio": tuple(ratio)}

    @staticmethod
    def get_params(
        img: Any,
        scale: Sequence[float],
        ratio: Sequence[float],
        rng: np.random.Generator | None = None,
    ) -> tuple[int, int, int, int]:
        """Draw a crop window ``(top, left, height, width)`` for ``img`` (reference's call signature).

        ``rng`` defaults to :func:`pixelpipe.rng.get_rng`.
        """
        rng = rng if rng is not None else get_rng()
        _, height, width = F.get_dimensions(img)
        return _sample_window(height, width, scale, ratio, rng)

    def make_params(self, img: Any, rng: np.random.Generator) -> CropParams:
        _, height, width = F.get_dimensions(img)
        top, left, h, w = _sample_window(height, width, self.scale, self.ratio, rng)
        return CropParams(top, left, h, w, _choose(self.interpolation, rng))

    def apply(self, img: Any, params: CropParams) -> Any:
        p = params
        return F.resized_crop(img, p.top, p.left, p.height, p.width, self.size, p.interpolation)

    def _shown(self, name: str) -> tuple[float, ...]:
        """``scale`` / ``ratio`` for the repr: as passed (ints stay ints) unless changed since."""
        value = getattr(self, name)
        passed = getattr(self, "_passed", {}).get(name)
        if passed is None or tuple(float(v) for v in passed) != tuple(value):
            passed = value
        return _as_passed(passed)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(size={self.size}, scale={self._shown('scale')}, "
            f"ratio={self._shown('ratio')}, "
            f"interpolation={_interp_str(self.interpolation)})"
        )


def _sample_window(
    height: int, width: int, scale: Sequence[float], ratio: Sequence[float], rng: np.random.Generator
) -> tuple[int, int, int, int]:
    if height < 1 or width < 1:  # e.g. a JPEG header declaring 0 rows; the reference divides by zero
        raise ValueError(f"random resized crop of an image without pixels ({width} x {height})")
    area = height * width
    # One generator call per window (its per-call cost dominates here): ten attempts of (area fraction,
    # log aspect), then the position. The first attempt that fits wins: the same distribution as the
    # reference's drawing in turn.
    u = rng.random(22).tolist()
    s0, s_span = scale[0], scale[1] - scale[0]
    r0 = math.log(ratio[0])
    r_span = math.log(ratio[1]) - r0
    for i in range(10):
        target = (s0 + s_span * u[i]) * area
        aspect = math.exp(r0 + r_span * u[10 + i])
        w = round(math.sqrt(target * aspect))  # round half to even, as NumPy's rint
        h = round(math.sqrt(target / aspect))
        # unlike the reference, an empty window is never accepted (tiny images): resizing it would fail
        if 1 <= w <= width and 1 <= h <= height:
            # a uniform integer in [0, n] from u in [0, 1) (min() guards the float edge)
            top = min(int(u[20] * (height - h + 1)), height - h)
            left = min(int(u[21] * (width - w + 1)), width - w)
            return top, left, h, w
    in_ratio = width / height
    if in_ratio < min(ratio):
        w, h = width, max(1, round(width / min(ratio)))
    elif in_ratio > max(ratio):
        h, w = height, max(1, round(height * max(ratio)))
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


@dataclass(frozen=True)
class ResizeParams:
    """Output size and interpolation of one :class:`ResizeKeepRatio` call."""

    height: int
    width: int
    interpolation: InterpolationMode


class ResizeKeepRatio(Transform):
    """Resize keeping the aspect ratio, with optional random scale and aspect jitter.

    ``longest=0`` makes the relatively shorter side meet the target (cover), ``longest=1`` the longer one (fit).

    Example:
        >>> import torch
        >>> ResizeKeepRatio(8)(torch.zeros(3, 16, 32, dtype=torch.uint8)).shape
        torch.Size([3, 8, 16])
        >>> ResizeKeepRatio((256, 365))
        ResizeKeepRatio(size=(256, 365), interpolation=bilinear, longest=0.000, random_scale_prob=0.000, random_scale_range=(0.850, 1.050), random_aspect_prob=0.000, random_aspect_range=(0.900, 1.110))
    """  # noqa: E501

    def __init__(
        self,
        size: int | Sequence[int],
        longest: float = 0.0,
        interpolation: Any = "bilinear",
        random_scale_prob: float = 0.0,
        random_scale_range: Sequence[float] = (0.85, 1.05),
        random_scale_area: bool = False,
        random_aspect_prob: float = 0.0,
        random_aspect_range: Sequence[float] = (0.9, 1.11),
    ) -> None:
        owner = "ResizeKeepRatio"
        self.size = F.setup_size(size, "size", owner)
        self.interpolation = resolve_interpolation(interpolation)
        self.longest = check_real(longest, "longest", owner, lo=0.0, hi=1.0)
        self.random_scale_prob = check_prob(random_scale_prob, "random_scale_prob", owner)
        self.random_scale_range = _check_range(owner, "random_scale_range", random_scale_range, positive=True)
        self.random_scale_area = random_scale_area
        self.random_aspect_prob = check_prob(random_aspect_prob, "random_aspect_prob", owner)
        self.random_aspect_range = _check_range(
            owner, "random_aspect_range", random_aspect_range, positive=True
        )

    @staticmethod
    def get_params(
        img: Any,
        target_size: Sequence[int],
        longest: float,
        random_scale_prob: float = 0.0,
        random_scale_range: Sequence[float] = (1.0, 1.33),
        random_scale_area: bool = False,
        random_aspect_prob: float = 0.0,
        random_aspect_range: Sequence[float] = (0.9, 1.11),
        rng: np.random.Generator | None = None,
    ) -> list[int]:
        """Output ``[height, width]`` for ``img`` (reference's call signature; ``rng`` defaults to
        :func:`pixelpipe.rng.get_rng`)."""
        rng = rng if rng is not None else get_rng()
        _, img_h, img_w = F.get_dimensions(img)
        ratio_h, ratio_w = img_h / target_size[0], img_w / target_size[1]
        ratio = max(ratio_h, ratio_w) * longest + min(ratio_h, ratio_w) * (1.0 - longest)
        f_h = f_w = 1.0
        if random_scale_prob > 0 and rng.random() < random_scale_prob:
            f = rng.uniform(random_scale_range[0], random_scale_range[1])
            f_h = f_w = 1.0 / math.sqrt(f) if random_scale_area else f
        if random_aspect_prob > 0 and rng.random() < random_aspect_prob:
            lo, hi = (math.log(a) for a in random_aspect_range)
            a = math.sqrt(math.exp(rng.uniform(lo, hi)))
            f_h, f_w = f_h / a, f_w * a
        # at least one pixel a side (the reference rounds thin images to 0 and then fails to resize)
        return [max(1, round(img_h * f_h / ratio)), max(1, round(img_w * f_w / ratio))]

    def make_params(self, img: Any, rng: np.random.Generator) -> ResizeParams:
        h, w = self.get_params(
            img,
            self.size,
            self.longest,
            self.random_scale_prob,
            self.random_scale_range,
            self.random_scale_area,
            self.random_aspect_prob,
            self.random_aspect_range,
            rng,
        )
        return ResizeParams(int(h), int(w), _choose(self.interpolation, rng))

    def apply(self, img: Any, params: ResizeParams) -> Any:
        return F.resize(img, (params.height, params.width), params.interpolation)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(size={self.size}, interpolation={_interp_str(self.interpolation)}, "
            f"longest={self.longest:.3f}, random_scale_prob={self.random_scale_prob:.3f}, "
            f"random_scale_range=({self.random_scale_range[0]:.3f}, {self.random_scale_range[1]:.3f}), "
            f"random_aspect_prob={self.random_aspect_prob:.3f}, "
            f"random_aspect_range=({self.random_aspect_range[0]:.3f}, {self.random_aspect_range[1]:.3f}))"
        )
