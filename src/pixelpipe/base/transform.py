"""The transform protocols: sampling apart from applying, per image and per batch.

A random transform draws all of its randomness in ``make_params`` from the generator it is given, and
``apply`` is a pure function of the input and those parameters. The entry point, ``__call__``, lives here
once per protocol.

* :class:`Transform` works on one image: ``make_params(img, rng)`` with a NumPy ``Generator``; ``__call__``
  takes the generator from :func:`pixelpipe.rng.get_rng` unless one is passed, so a whole ``Compose`` of
  pixelpipe transforms draws from one source. Images are PIL images or ``uint8`` tensors shaped
  ``(C, H, W)``; a transform returns the same kind it got unless its purpose is conversion.
* :class:`BatchTransform` works on a whole ``(B, C, H, W)`` batch on any torch device:
  ``make_params(desc, generator)`` takes a :class:`BatchDesc` (what sampling may know of the batch: its
  shape, device and, for padded batches, each image's size; never its pixels) and a ``torch.Generator``,
  and returns the parameters of every sample as a frozen dataclass or a dict of tensors. Draws happen on
  the generator's device and the parameters stay there: with a CPU generator (the loaders') they are host
  tensors, and with a CUDA generator they are CUDA tensors, drawn without reading anything back, so
  sampling never synchronises the host with the device. ``apply(batch, params)`` moves what it needs to the
  batch's device. The same parameters replay the same output; generators with the same seed give the same
  parameters.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..rng import get_rng, torch_generator

__all__ = ["BatchDesc", "BatchTransform", "Transform"]


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


@dataclass(frozen=True)
class BatchDesc:
    """What a batched transform's sampling knows of the batch: its shape and device, not its pixels.

    Attributes:
        batch_size: ``B``.
        channels: ``C``.
        height, width: the batch tensor's ``H`` and ``W`` (of the padded tensor for a padded batch).
        device: where the batch is (sampling draws on the generator's device whatever this is).
        sizes: for a batch of images of different sizes padded to ``(H, W)``, an ``int64`` ``(B, 2)``
            tensor of each image's ``(height, width)``; ``None``: every image fills the tensor. It may be
            on the host or on the generator's device.

    Example:
        >>> desc = BatchDesc.of(torch.zeros(4, 3, 32, 48))
        >>> desc.shape, desc.device.type
        ((4, 3, 32, 48), 'cpu')
        >>> BatchDesc(2, 3, 8, 8).image_sizes().tolist()
        [[8, 8], [8, 8]]
    """

    batch_size: int
    channels: int
    height: int
    width: int
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    sizes: torch.Tensor | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        for name in ("batch_size", "channels", "height", "width"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"BatchDesc: {name} must be an int >= 0, got {value!r}")
        if not isinstance(self.device, torch.device):
            object.__setattr__(self, "device", torch.device(self.device))
        sizes = self.sizes
        if sizes is not None and (
            not isinstance(sizes, torch.Tensor) or tuple(sizes.shape) != (self.batch_size, 2)
        ):
            got = tuple(sizes.shape) if isinstance(sizes, torch.Tensor) else type(sizes).__name__
            raise ValueError(f"BatchDesc: sizes must be a ({self.batch_size}, 2) tensor, got {got}")

    @classmethod
    def of(cls, batch: torch.Tensor, sizes: torch.Tensor | None = None) -> BatchDesc:
        """The description of a ``(B, C, H, W)`` (or ``(B, ..., H, W)``) tensor."""
        if not isinstance(batch, torch.Tensor) or batch.ndim < 3:
            got = tuple(batch.shape) if isinstance(batch, torch.Tensor) else type(batch).__name__
            raise TypeError(f"BatchDesc.of: expected a batch tensor shaped (B, C, H, W), got {got}")
        b, c = int(batch.shape[0]), int(batch.shape[1]) if batch.ndim > 3 else 1
        return cls(b, c, int(batch.shape[-2]), int(batch.shape[-1]), batch.device, sizes)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(B, C, H, W)``."""
        return (self.batch_size, self.channels, self.height, self.width)

    def image_sizes(self) -> torch.Tensor:
        """``int64`` ``(B, 2)`` ``(height, width)`` of every image: :attr:`sizes`, or the full tensor's
        (on the CPU)."""
        if self.sizes is not None:
            return self.sizes
        return torch.tensor([[self.height, self.width]], dtype=torch.int64).expand(self.batch_size, 2)


class BatchTransform(ABC):
    """Base class of pixelpipe's batched transforms (see the module docs for the contract).

    Subclasses implement :meth:`make_params` (every random number of a call, from the generator, on its
    device) and :meth:`apply` (pure). Classes with a timm-shaped entry point (``Mixup(x, target)``, the
    collate function, ``RandomErasing(x)``) keep it and override ``__call__``.
    """

    @abstractmethod
    def make_params(self, desc: BatchDesc, generator: torch.Generator) -> Any:
        """Draw one call's parameters for a batch described by ``desc``, on ``generator``'s device.

        Returns a frozen dataclass or a dict of tensors: ``(B, ...)`` per sample; nothing is read back to the
        host, so a CUDA generator gives CUDA parameters without a host sync.
        """

    @abstractmethod
    def apply(self, batch: Any, params: Any) -> Any:
        """Apply parameters from :meth:`make_params` to ``batch``; pure (no randomness, input not modified
        unless the transform was built with ``inplace=True``)."""

    def describe(self, batch: Any) -> BatchDesc:
        """The :class:`BatchDesc` :meth:`__call__` samples for (default: :meth:`BatchDesc.of`)."""
        return BatchDesc.of(batch)

    def __call__(self, batch: Any, generator: torch.Generator | None = None) -> Any:
        """Sample and apply. ``generator``: ``None`` is a CPU generator seeded from
        :func:`pixelpipe.rng.get_rng` (pixelpipe's one source), never torch's global generator."""
        gen = generator if generator is not None else torch_generator()
        return self.apply(batch, self.make_params(self.describe(batch), gen))
