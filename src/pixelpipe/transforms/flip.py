"""Random flips, with the reprs of torchvision's ``RandomHorizontalFlip`` / ``RandomVerticalFlip``."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import check_prob
from . import functional as F
from .base import Transform

__all__ = ["RandomHorizontalFlip", "RandomVerticalFlip"]


class _RandomFlip(Transform):
    def __init__(self, p: float = 0.5) -> None:
        check_prob(p, "p", self.__class__.__name__)
        self.p = p

    def make_params(self, img: Any, rng: np.random.Generator) -> bool:
        return bool(rng.random() < self.p)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(p={self.p})"


class RandomHorizontalFlip(_RandomFlip):
    """Mirror left to right with probability ``p``.

    Example:
        >>> import torch
        >>> RandomHorizontalFlip(1.0)(torch.tensor([[[1, 2]]]))
        tensor([[[2, 1]]])
    """

    def apply(self, img: Any, params: bool) -> Any:
        return F.hflip(img) if params else img


class RandomVerticalFlip(_RandomFlip):
    """Mirror top to bottom with probability ``p``.

    Example:
        >>> import torch
        >>> RandomVerticalFlip(1.0)(torch.tensor([[[1], [2]]]))
        tensor([[[2],
                 [1]]])
    """

    def apply(self, img: Any, params: bool) -> Any:
        return F.vflip(img) if params else img
