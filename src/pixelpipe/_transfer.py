"""Host-to-device copies that never make the host wait for the device.

The batch paths (the prefetcher, :mod:`pixelpipe.device`, batched Mixup/CutMix and random erasing) draw
their random numbers on the host and move them to the device once per batch. A plain ``t.to('cuda')`` of
a host tensor is a *blocking* copy: the host waits until the copy, and so everything queued before it on
the stream, has run. ``non_blocking=True`` alone does not help from pageable memory (CUDA stages it and
the call still returns only once the data has been read). :func:`to_device` copies from page-locked
(pinned) memory instead, asynchronously, on the current stream; PyTorch's caching host allocator keeps the
pinned block alive until the copy has run, so the source may be dropped at once.

The rule for the files named in ``tests/test_host_sync.py``: no host synchronisation per batch on CUDA;
every remaining ``.item()``, ``.tolist()``, ``.cpu()``, ``.numpy()``, ``bincount``, ``nonzero`` or blocking
copy there carries a ``# host-sync: <why, and how often>`` comment on its line.

Example:
    >>> import torch
    >>> t = torch.arange(3)
    >>> to_device(t, "cpu") is t  # nothing to do
    True
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["cached_constant", "to_device"]


def to_device(t: torch.Tensor, device: torch.device | str) -> torch.Tensor:
    """``t`` on ``device``, copied from the host without a host synchronisation.

    A host tensor bound for CUDA is pinned first (unless it already is) and copied with
    ``non_blocking=True`` on the current stream; for other accelerators the copy is non-blocking too. A
    tensor already on ``device`` is returned as is.

    Args:
        t: the tensor, usually a small host tensor of per-sample parameters.
        device: where it is needed.
    """
    device = torch.device(device)
    if t.device == device or (device.index is None and t.device.type == device.type):
        return t
    if t.device.type == "cpu" and device.type == "cuda":
        src = t if t.is_pinned() else t.pin_memory()
        return src.to(device, non_blocking=True)
    if t.device.type == "cpu":
        return t.to(device, non_blocking=True)
    # device to host or between devices: not a host-to-device copy, not on the batch paths
    return t.to(device)  # host-sync: only when a caller moves device tensors elsewhere (tests, replay)


_CONSTANTS: dict[tuple[str, torch.device, torch.dtype], torch.Tensor] = {}


def cached_constant(name: str, values: Any, dtype: torch.dtype, device: torch.device | str) -> torch.Tensor:
    """A small constant tensor on ``device``, made once per process, device and dtype, then reused.

    The one copy is blocking, so the constant is ready for every stream that later reads it; it happens
    on the first batch only.

    Args:
        name: the constant's key (one name, one value).
        values: nested lists of numbers.
        dtype: its dtype.
        device: its device.

    Example:
        >>> cached_constant("doc-identity", [1.0, 0.0], torch.float32, "cpu")
        tensor([1., 0.])
    """
    device = torch.device(device)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    key = (name, device, dtype)
    out = _CONSTANTS.get(key)
    if out is None:
        out = torch.tensor(values, dtype=dtype).to(device)  # host-sync: once per process, device and constant
        _CONSTANTS[key] = out
    return out
