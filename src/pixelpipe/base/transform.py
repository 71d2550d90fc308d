"""The transform protocol: sampling apart from applying.

A random transform draws all of its randomness in :meth:`Transform.make_params` from the generator it is
given, and :meth:`Transform.apply` is a pure function of the image and those parameters. The entry point,
``__call__``, lives here once: it takes the generator from :func:`pixelpipe.rng.get_rng` unless one is
passed, so a whole ``Compose`` of pixelpipe transforms draws from one source.

Images are PIL images or ``uint8`` tensors shaped ``(C, H, W)``; a transform returns the same kind it got
unless its purpose is conversion.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from ..rng import get_rng

__all__ = ["Transform"]


class Transform(ABC):
    """Base class of pixelpipe's transforms.

    Subclasses implement :meth:`apply` and, when random, :meth:`make_params`.
    """

    def make_params(self, img: Any, rng: np.random.Generator) -> Any:
        """Draw this call's random parameters. Deterministic transforms keep the default (``None``)."""
        return None

    @abstractmethod
    def apply(self, img: Any, params: Any) -> Any:
        """Apply the transform with parameters from :meth:`make_params`; no randomness here."""

    def __call__(self, img: Any, *, rng: np.random.Generator | None = None) -> Any:
        params = self.make_params(img, rng if rng is not None else get_rng())
        return self.apply(img, params)
