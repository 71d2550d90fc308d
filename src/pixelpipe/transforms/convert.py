"""Conversions between PIL images, NumPy arrays and tensors, and :class:`Normalize`.

Same names and results as the reference (``timm.data.transforms``); each also accepts ``uint8`` tensors
shaped ``(C, H, W)``. One deliberate difference: :class:`MaybeToTensor` scales a ``uint8`` tensor to float
``[0, 1]`` exactly as it does a PIL image (the reference passes every tensor through unchanged, which leaves
a ``uint8`` tensor pipeline unnormalisable), and passes floating tensors through.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torchvision.transforms.functional as TV1
from PIL import Image

from ..errors import ConfigError
from .base import Transform

__all__ = ["MaybePILToTensor", "MaybeToTensor", "Normalize", "ToNumpy", "ToTensor"]


def _pil_to_uint8_tensor(img: Image.Image) -> torch.Tensor:
    return TV1.pil_to_tensor(img)


class ToNumpy(Transform):
    """PIL image (or tensor) to a ``uint8`` NumPy array shaped ``(C, H, W)``.

    Example:
        >>> ToNumpy()(Image.new('L', (5, 4))).shape
        (1, 4, 5)
    """

    def apply(self, img: Any, params: Any) -> np.ndarray:
        if isinstance(img, torch.Tensor):
            arr = img.detach().cpu().numpy().astype(np.uint8, copy=True)
            return arr[None] if arr.ndim == 2 else arr
        arr = np.array(img, dtype=np.uint8)
        if arr.ndim < 3:
            arr = arr[..., None]
        return np.ascontiguousarray(np.moveaxis(arr, 2, 0))

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}()"


class ToTensor(Transform):
    """PIL image (or tensor) to a ``(C, H, W)`` tensor of ``dtype``, values *not* rescaled.

    Example:
        >>> ToTensor()(Image.new('RGB', (2, 1), (255, 0, 0)))[:, 0, 0]
        tensor([255.,   0.,   0.])
    """

    def __init__(self, dtype: torch.dtype = torch.float32) -> None:
        if not isinstance(dtype, torch.dtype):
            raise ConfigError(f"ToTensor: dtype must be a torch.dtype such as torch.float32, got {dtype!r}")
        self.dtype = dtype

    def apply(self, img: Any, params: Any) -> torch.Tensor:
        t = img if isinstance(img, torch.Tensor) else _pil_to_uint8_tensor(img)
        return t.to(dtype=self.dtype, copy=t is img)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(dtype={self.dtype})"


class MaybeToTensor(Transform):
    """To a float tensor in ``[0, 1]``: PIL images, NumPy arrays (HWC) and ``uint8`` tensors are scaled by
    1/255; floating tensors pass through.

    Example:
        >>> MaybeToTensor()(torch.full((1, 1, 1), 255, dtype=torch.uint8))
        tensor([[[1.]]])
    """

    def apply(self, img: Any, params: Any) -> torch.Tensor:
        if isinstance(img, torch.Tensor):
            if img.dtype == torch.uint8:
                # planar (contiguous) float out, as from PIL: decoded images are channels-last, and the
                # per-channel arithmetic after this (Normalize) is several times slower on that layout
                return img.contiguous().float().div_(255.0)
            return img
        return TV1.to_tensor(img)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}()"


class MaybePILToTensor(Transform):
    """PIL image to a tensor of the same dtype (``uint8`` for RGB/L), no scaling; tensors pass through.

    Example:
        >>> MaybePILToTensor()(Image.new('RGB', (5, 4))).dtype
        torch.uint8
    """

    def apply(self, img: Any, params: Any) -> torch.Tensor:
        if isinstance(img, torch.Tensor):
            return img
        return _pil_to_uint8_tensor(img)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}()"


def _check_stats(value: Any, name: str) -> torch.Tensor:
    """One finite number per channel as a 1-D float32 tensor (a number gives one value for all)."""
    try:
        t = torch.as_tensor(value, dtype=torch.float32)
    except (TypeError, ValueError, RuntimeError):
        t = None
    if isinstance(value, bool) or t is None or t.ndim > 1 or t.numel() == 0 or not bool(t.isfinite().all()):
        raise ConfigError(f"Normalize: {name} must be a finite number or a sequence of them, got {value!r}")
    if isinstance(value, Sequence) and any(isinstance(v, bool) for v in value):
        raise ConfigError(f"Normalize: {name} must be a finite number or a sequence of them, got {value!r}")
    return t


class Normalize(Transform):
    """``(x - mean) / std`` per channel on a float tensor (a new tensor; the input is not modified).

    Example:
        >>> Normalize(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
        Normalize(mean=tensor([0.4850, 0.4560, 0.4060]), std=tensor([0.2290, 0.2240, 0.2250]))
    """

    def __init__(self, mean: Sequence[float] | torch.Tensor, std: Sequence[float] | torch.Tensor) -> None:
        self.mean = _check_stats(mean, "mean")
        self.std = _check_stats(std, "std")
        if bool((self.std == 0).any()):
            raise ConfigError(f"Normalize: std must be non-zero, got {self.std.tolist()}")
        if self.mean.numel() != self.std.numel() and 1 not in (self.mean.numel(), self.std.numel()):
            raise ConfigError(
                f"Normalize: mean and std must have the same length (or one of them 1), got "
                f"{self.mean.numel()} and {self.std.numel()}"
            )

    def apply(self, img: Any, params: Any) -> torch.Tensor:
        if not isinstance(img, torch.Tensor) or not img.is_floating_point():
            raise TypeError(
                "Normalize: expected a float tensor; put MaybeToTensor() first "
                f"(got {type(img).__name__} {getattr(img, 'dtype', '')})"
            )
        mean = self.mean.to(img.device, img.dtype).view(-1, 1, 1)
        std = self.std.to(img.device, img.dtype).view(-1, 1, 1)
        return (img - mean).div_(std)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(mean={self.mean}, std={self.std})"
