"""Colour transforms used by the training recipe: :class:`ColorJitter`, :class:`RandomGrayscale` and
:class:`GaussianBlur`.

Parameters, sampling and reprs follow torchvision's classes of the same name (which the reference's factory
uses), but every draw comes from the generator given to :meth:`make_params`. PIL images are processed with
PIL's own operations (equal to the reference); ``uint8`` tensors stay tensors (within about one grey level).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torchvision.transforms.v2.functional as TF

from .._checks import check_jitter_range, check_prob, check_range, is_real
from ..errors import ConfigError
from . import functional as F
from .base import Transform

__all__ = ["ColorJitter", "GaussianBlur", "RandomGrayscale"]


@dataclass(frozen=True)
class JitterParams:
    """The order of the four adjustments (0 brightness, 1 contrast, 2 saturation, 3 hue) and their factors."""

    order: tuple[int, ...]
    brightness: float | None
    contrast: float | None
    saturation: float | None
    hue: float | None


class ColorJitter(Transform):
    """Randomly change brightness, contrast, saturation and hue, in a random order.

    Args:
        brightness, contrast, saturation: ``x`` means a factor in ``[max(0, 1 - x), 1 + x]``, or a range.
        hue: ``x`` in ``[0, 0.5]`` means a shift in ``[-x, x]``, or a range within ``[-0.5, 0.5]``.

    Example:
        >>> ColorJitter(0.4, 0.4, 0.2, 0.1)
        ColorJitter(brightness=(0.6, 1.4), contrast=(0.6, 1.4), saturation=(0.8, 1.2), hue=(-0.1, 0.1))
    """

    def __init__(self, brightness: Any = 0, contrast: Any = 0, saturation: Any = 0, hue: Any = 0) -> None:
        self.brightness = check_jitter_range("brightness", brightness)
        self.contrast = check_jitter_range("contrast", contrast)
        self.saturation = check_jitter_range("saturation", saturation)
        self.hue = check_jitter_range("hue", hue, center=0.0, bound=(-0.5, 0.5), clip=False)

    def make_params(self, img: Any, rng: np.random.Generator) -> JitterParams:
        order = tuple(int(i) for i in rng.permutation(4))
        draws = [None if r is None else float(rng.uniform(r[0], r[1])) for r in self._ranges()]
        return JitterParams(order, *draws)

    def _ranges(self) -> list[tuple[float, float] | None]:
        return [self.brightness, self.contrast, self.saturation, self.hue]

    def apply(self, img: Any, params: JitterParams) -> Any:
        factors = [params.brightness, params.contrast, params.saturation, params.hue]
        ops = (TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue)
        for i in params.order:
            if factors[i] is not None:
                img = ops[i](img, factors[i])
        return img

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(brightness={self.brightness}, contrast={self.contrast}, "
            f"saturation={self.saturation}, hue={self.hue})"
        )


class RandomGrayscale(Transform):
    """Convert to greyscale (keeping the number of channels) with probability ``p``.

    Example:
        >>> RandomGrayscale(0.2)
        RandomGrayscale(p=0.2)
    """

    def __init__(self, p: float = 0.1) -> None:
        check_prob(p, "p", "RandomGrayscale")
        self.p = p

    def make_params(self, img: Any, rng: np.random.Generator) -> bool:
        return bool(rng.random() < self.p)

    def apply(self, img: Any, params: bool) -> Any:
        if not params:
            return img
        channels = F.get_dimensions(img)[0]
        return TF.rgb_to_grayscale(img, num_output_channels=channels)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(p={self.p})"


class GaussianBlur(Transform):
    """Gaussian blur with ``sigma`` drawn uniformly from a range per call.

    Example:
        >>> GaussianBlur(kernel_size=23)
        GaussianBlur(kernel_size=(23, 23), sigma=(0.1, 2.0))
    """

    def __init__(self, kernel_size: int | Sequence[int], sigma: float | Sequence[float] = (0.1, 2.0)) -> None:
        self.kernel_size = F.setup_size(kernel_size, "kernel_size", "GaussianBlur")
        if any(k <= 0 or k % 2 == 0 for k in self.kernel_size):
            raise ConfigError(f"GaussianBlur: kernel_size must be odd and positive, got {kernel_size!r}")
        if is_real(sigma):
            sigma = (sigma, sigma)
        sigma = check_range(sigma, "sigma", "GaussianBlur", lo=0.0, lo_open=True)
        if not sigma[0] <= sigma[1]:
            raise ConfigError(f"GaussianBlur: sigma must be positive and (min, max), got {sigma!r}")
        self.sigma = (float(sigma[0]), float(sigma[1]))

    def make_params(self, img: Any, rng: np.random.Generator) -> float:
        return float(rng.uniform(self.sigma[0], self.sigma[1]))

    def apply(self, img: Any, params: float) -> Any:
        # kernel_size is (x, y), as torchvision reads it. On images narrower than half the kernel the
        # kernel is cut to fit (reflect padding needs it; the reference fails on such images).
        _, h, w = F.get_dimensions(img)
        kx, ky = self.kernel_size
        return TF.gaussian_blur(img, [min(kx, 2 * w - 1), min(ky, 2 * h - 1)], [params, params])

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(kernel_size={self.kernel_size}, sigma={self.sigma})"
