"""Allocation of large, fresh CPU batch tensors (collate and Mixup outputs, out-of-place erasing).

A fresh batch of tens of megabytes is mapped by the kernel one 4 KiB page at a time on first write; on
virtual machines each fault costs about a microsecond, so for an ImageNet ``uint8`` batch (38 MB) faulting
the pages costs about as much as mixing it. :func:`empty_batch` asks for transparent huge pages for such
allocations (``madvise(MADV_HUGEPAGE)``, what PyTorch itself does with ``THP_MEM_ALLOC_ENABLE=1``), which
cuts that cost about three times where the kernel allows it (``/sys/kernel/mm/transparent_hugepage/enabled``
set to ``madvise`` or ``always``) and is a no-op elsewhere; ``PIXELPIPE_HUGE_PAGES=0`` in the
environment turns the advice off. Inside a DataLoader worker the batch is instead
allocated in shared memory, as :func:`torch.utils.data.default_collate` does, so that sending it to the
main process does not copy it again.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Sequence
from typing import Any

import torch
from torch.utils.data import get_worker_info

__all__ = ["advise_huge_pages", "empty_batch"]

_HUGE = 2 << 20
_MIN_BYTES = 8 << 20  # below this the faults are cheap and the batch may come from the malloc heap
_MADV_HUGEPAGE = 14
_madvise: Any = None


def _libc_madvise() -> Any:
    global _madvise
    if _madvise is None:
        _madvise = False
        if sys.platform.startswith("linux") and os.environ.get("PIXELPIPE_HUGE_PAGES", "1") != "0":
            try:
                fn = ctypes.CDLL(None, use_errno=True).madvise
                fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
                fn.restype = ctypes.c_int
                _madvise = fn
            except (OSError, AttributeError):
                pass
    return _madvise


def advise_huge_pages(t: torch.Tensor) -> None:
    """Ask for huge pages over the 2 MiB-aligned part of ``t``'s storage (CPU, not yet written, large).

    Advisory only: does nothing off Linux, for small or non-CPU tensors, or when the kernel refuses.
    """
    nbytes = t.untyped_storage().nbytes()
    if t.device.type != "cpu" or nbytes < _MIN_BYTES:
        return
    fn = _libc_madvise()
    if not fn:
        return
    start = t.untyped_storage().data_ptr()
    lo = (start + _HUGE - 1) & ~(_HUGE - 1)
    hi = (start + nbytes) & ~(_HUGE - 1)
    if hi > lo:
        fn(lo, hi - lo, _MADV_HUGEPAGE)  # the result is ignored: the advice is optional


def empty_batch(shape: Sequence[int], dtype: torch.dtype) -> torch.Tensor:
    """An uninitialised contiguous CPU tensor for a batch: shared memory in DataLoader workers."""
    shape = tuple(int(s) for s in shape)
    if get_worker_info() is not None:
        numel = 1
        for s in shape:
            numel *= s
        elem = torch.empty(0, dtype=dtype)
        storage = elem._typed_storage()._new_shared(numel, device=elem.device)
        return elem.new(storage).view(shape)
    out = torch.empty(shape, dtype=dtype)
    advise_huge_pages(out)
    return out
