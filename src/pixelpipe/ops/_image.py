"""The per-image torch path of every op: its per-image CPU kernel where it has one, else its batched kernel
at batch size 1 (or at the number of images, for a ``(..., C, H, W)`` stack)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from .._transfer import to_device
from ._cpu import cpu_fast
from ._spec import OpKind
from .geometric import affine_image


def check_image(img: Any) -> None:
    """A ``uint8`` tensor shaped ``(..., C, H, W)``, else a ``TypeError``."""
    if not isinstance(img, torch.Tensor) or img.dtype != torch.uint8 or img.ndim < 3:
        got = f"{img.dtype} {tuple(img.shape)}" if isinstance(img, torch.Tensor) else type(img).__name__
        raise TypeError(f"expected a uint8 tensor shaped (..., C, H, W), got {got}")


def apply_image(
    kind: OpKind,
    img: torch.Tensor,
    arg: Any = None,
    fill: float | Sequence[float] = 128,
    interpolation: str = "bilinear",
) -> torch.Tensor:
    """Run ``kind`` on one ``uint8`` ``(C, H, W)`` image (or a ``(..., C, H, W)`` stack of them).

    ``arg`` is the op's argument (ignored by kinds without one); ``fill`` and ``interpolation``
    (``'nearest'``, ``'bilinear'``, ``'bicubic'``) are for geometric kinds. The result may be ``img`` itself
    where the op is an identity; ``img`` is never written into.

    Example:
        >>> from pixelpipe.ops.color import SOLARIZE
        >>> apply_image(SOLARIZE, torch.tensor([[[200, 100]]], dtype=torch.uint8), 128).tolist()
        [[[55, 100]]]
    """
    check_image(img)
    if kind.period is not None and float(arg) % kind.period == 0:
        return img  # e.g. a whole turn: Pillow copies
    if kind.cpu is not None and cpu_fast(img):
        if kind.geometric:
            out = kind.cpu(img, arg, fill, interpolation)
        else:
            out = kind.cpu(img) if kind.arg_dtype is None else kind.cpu(img, arg)
        if out is not None:
            return out
    c, h, w = img.shape[-3:]
    if kind.geometric:
        if kind.matrix is None:  # pragma: no cover - guards the kind table
            raise RuntimeError(f"geometric op {kind.name!r} has no matrix")
        return affine_image(
            img, kind.matrix(torch.full((1,), float(arg), dtype=torch.float64), h, w), fill, interpolation
        )
    x = img.reshape(-1, c, h, w)
    n = x.shape[0]
    if n == 0 or h == 0 or w == 0:
        return img
    if kind.batched is None:  # pragma: no cover - guards the kind table
        raise RuntimeError(f"op {kind.name!r} has no batched kernel")
    host = torch.full((n,), 0 if arg is None else arg, dtype=kind.arg_dtype or torch.float64)
    static = kind.host_static(host) if kind.host_static is not None else {}
    out = kind.batched(x, to_device(host, img.device), **static)
    return out.reshape(img.shape)
