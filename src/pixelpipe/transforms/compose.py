"""Chaining transforms with one random stream: :class:`Compose` and :class:`RandomApply`.

Both print like torchvision's classes of the same name (the reference's factory output is made of
those), but pass one :class:`numpy.random.Generator` to every pixelpipe transform they hold, so a whole
pipeline draws from a single source (:func:`pixelpipe.rng.get_rng` unless one is given).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .._checks import check_prob
from ..errors import ConfigError
from ..rng import get_rng
from .base import Transform

__all__ = ["Compose", "RandomApply", "call_with_rng"]


def call_with_rng(t: Callable[..., Any], img: Any, rng: np.random.Generator) -> Any:
    """Call ``t`` on ``img``, handing it ``rng`` when it is a pixelpipe transform or pipeline."""
    if isinstance(t, (Transform, Compose)):
        return t(img, rng=rng)
    return t(img)


class Compose:
    """Apply transforms in order, all drawing from one generator.

    Args:
        transforms: callables taking and returning an image.

    Example:
        >>> from pixelpipe.transforms import CenterCrop, MaybePILToTensor
        >>> from PIL import Image
        >>> pipe = Compose([CenterCrop(4), MaybePILToTensor()])
        >>> pipe(Image.new('RGB', (8, 6))).shape
        torch.Size([3, 4, 4])
        >>> print(pipe)
        Compose(
            CenterCrop(size=(4, 4))
            MaybePILToTensor()
        )
    """

    def __init__(self, transforms: Iterable[Callable[..., Any]]) -> None:
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise ConfigError(f"Compose: every element must be callable, got {type(t).__name__}")

    def __call__(self, img: Any, *, rng: np.random.Generator | None = None) -> Any:
        rng = rng if rng is not None else get_rng()
        for t in self.transforms:
            img = call_with_rng(t, img, rng)
        return img

    def __len__(self) -> int:
        return len(self.transforms)

    def __getitem__(self, index: int) -> Callable[..., Any]:
        return self.transforms[index]

    #: The name ``repr`` prints (``None``: the class name); a subclass that stands in for a plain Compose
    #: sets ``'Compose'``.
    repr_name: str | None = None

    def __repr__(self) -> str:
        lines = "".join(f"\n    {t}" for t in self.transforms)
        return f"{self.repr_name or self.__class__.__name__}({lines}\n)"


class RandomApply(Transform):
    """Apply a list of transforms together with probability ``p``.

    The gate and a seed for the children are drawn in :meth:`make_params`; applying runs the children on a
    generator made from that seed, so the same parameters always give the same result.

    Args:
        transforms: transforms applied in order when the gate opens.
        p: probability of applying them.

    Example:
        >>> from pixelpipe.transforms import RandomGrayscale
        >>> print(RandomApply([RandomGrayscale(1.0)], p=0.8))
        RandomApply(
            p=0.8
            RandomGrayscale(p=1.0)
        )
    """

    def __init__(self, transforms: Iterable[Callable[..., Any]], p: float = 0.5) -> None:
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise ConfigError(f"RandomApply: every element must be callable, got {type(t).__name__}")
        check_prob(p, "p", "RandomApply")
        self.p = p

    def make_params(self, img: Any, rng: np.random.Generator) -> int | None:
        if not rng.random() < self.p:
            return None
        return int(rng.integers(0, 2**63 - 1))

    def apply(self, img: Any, params: int | None) -> Any:
        if params is None:
            return img
        child_rng = np.random.default_rng(params)
        for t in self.transforms:
            img = call_with_rng(t, img, child_rng)
        return img

    def __repr__(self) -> str:
        # torchvision's layout: children are not indented, the closing bracket is on its own line
        lines = "".join(f"\n    {t}" for t in self.transforms)
        return f"{self.__class__.__name__}(\n    p={self.p}{lines}\n)"
