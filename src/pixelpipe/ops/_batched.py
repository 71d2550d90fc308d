"""Shared plumbing of the batched kernels (:mod:`pixelpipe.ops`, public in :mod:`pixelpipe.batch.ops`):
argument types and checks, per-sample arguments, exact division, the mask gating every op goes through,
and the fill colour every tier resolves the same way."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from .._transfer import to_device

Arg = torch.Tensor | float | int
Fill = float | Sequence[float] | torch.Tensor


def fill_values(fill: float | Sequence[float], channels: int) -> tuple[int, ...]:
    """The fill colour as one integer per channel: one number fills every channel, an RGB colour on a
    1-channel image becomes its Pillow luma, missing channels get 255 (opaque alpha).

    Example:
        >>> fill_values((128, 64, 0), 1), fill_values(7, 3), fill_values((1, 2, 3), 4)
        ((76,), (7, 7, 7), (1, 2, 3, 255))
    """
    vals = [float(fill)] if isinstance(fill, (int, float)) else [float(v) for v in fill]
    if channels == 1 and len(vals) >= 3:
        r, g, b = (round(float(v)) for v in vals[:3])
        vals = [float((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16)]
    if len(vals) == 1:
        vals = vals * channels
    vals = (vals + [255.0] * channels)[:channels]
    return tuple(round(v) for v in vals)


# --- helpers --------------------------------------------------------------------------------------------


def _check(img: torch.Tensor) -> None:
    if not isinstance(img, torch.Tensor) or img.dtype != torch.uint8 or img.ndim != 4:
        got = f"{img.dtype} {tuple(img.shape)}" if isinstance(img, torch.Tensor) else type(img).__name__
        raise TypeError(f"expected a uint8 tensor shaped (B, C, H, W), got {got}")


def _per_sample(value: Arg, n: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """``value`` as a ``(n,)`` tensor of ``dtype`` on ``device`` (a number is broadcast)."""
    t = value if isinstance(value, torch.Tensor) else torch.as_tensor(value)
    t = to_device(t, device)
    if t.ndim == 0:
        return t.to(dtype).expand(n)
    if t.shape != (n,):
        raise ValueError(f"expected a per-sample argument shaped ({n},), got {tuple(t.shape)}")
    return t.to(dtype)


def _col(t: torch.Tensor) -> torch.Tensor:
    return t.reshape(-1, 1, 1, 1)


# Exact division. ``number / tensor`` is computed as ``reciprocal(tensor) * number`` (and on CUDA
# ``tensor / number`` as ``tensor * (1 / number)``), which can be 1 ulp off Pillow's and Python's division
# and flip a truncation. Dividing by a tensor on the same device is a true division everywhere.


def _div(a: torch.Tensor, b: float) -> torch.Tensor:
    return a / torch.full_like(a, b)


def _rdiv(a: float, b: torch.Tensor) -> torch.Tensor:
    return torch.full_like(b, a) / b


def _gated(
    kernel: Callable[..., torch.Tensor],
    img: torch.Tensor,
    mask: torch.Tensor | None,
    args: Sequence[torch.Tensor],
    **static: Any,
) -> torch.Tensor:
    """``kernel(img, *args)`` on the samples selected by ``mask``; the others are copied unchanged."""
    if img.numel() == 0:
        return img.clone()
    if mask is None:
        return kernel(img.contiguous(), *args, **static)
    mask = mask if isinstance(mask, torch.Tensor) else torch.as_tensor(mask)
    mask = mask.to(torch.bool).reshape(-1)
    if mask.numel() != img.shape[0]:
        raise ValueError(f"mask has {mask.numel()} entries for a batch of {img.shape[0]}")
    # the selected samples' indices, read on the host: free for a host mask (the batched policies pass
    # CPU masks), one sync per call for a device mask (the public per-op functions only)
    idx = to_device(mask.nonzero().view(-1), img.device)  # host-sync: only for a device mask, once per call
    out = img.clone()
    if idx.numel():
        sub = kernel(img.index_select(0, idx), *(a.index_select(0, idx) for a in args), **static)
        out.index_copy_(0, idx, sub)
    return out


def _unary(kernel: Callable[..., torch.Tensor], img: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    _check(img)
    return _gated(kernel, img, mask, ())


def _with_arg(
    kernel: Callable[..., torch.Tensor],
    img: torch.Tensor,
    arg: Arg,
    mask: torch.Tensor | None,
    dtype: torch.dtype,
    **static: Any,
) -> torch.Tensor:
    _check(img)
    return _gated(kernel, img, mask, (_per_sample(arg, img.shape[0], img.device, dtype),), **static)
