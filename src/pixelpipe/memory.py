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
import math
import os
import sys
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import get_worker_info

__all__ = ["BatchBuffers", "advise_huge_pages", "empty_batch"]

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
    if t.device.type == "cpu":
        _advise_range(t.untyped_storage().data_ptr(), t.untyped_storage().nbytes())


def empty_batch(shape: Sequence[int], dtype: torch.dtype) -> torch.Tensor:
    """An uninitialised contiguous CPU tensor for a batch: shared memory in DataLoader workers."""
    shape = tuple(int(s) for s in shape)
    if get_worker_info() is not None:
        elem = torch.empty(0, dtype=dtype)
        storage = elem._typed_storage()._new_shared(math.prod(shape), device=elem.device)
        return elem.new(storage).view(shape)
    out = torch.empty(shape, dtype=dtype)
    advise_huge_pages(out)
    return out


class BatchBuffers:
    """Large CPU batch tensors whose memory is reused once nothing references the previous batch.

    A loader that makes a fresh float batch every step pays for the kernel mapping (and zeroing) its pages
    each time: about as much as the arithmetic that fills it. Here each batch is a view of one of ``keep``
    NumPy buffers; a buffer is handed out again only when no tensor of its last batch is alive any more
    (the batch's storage holds a small NumPy view of the buffer, watched through a weak reference), so
    a batch the caller keeps is never overwritten: when every buffer is still in use, a fresh tensor is
    allocated instead. Small batches (under 8 MiB) and non-CPU tensors are allocated normally.

    Example:
        >>> pool = BatchBuffers(keep=1)
        >>> a = pool.empty((4, 3, 512, 512), torch.float32)
        >>> b = pool.empty((4, 3, 512, 512), torch.float32)  # a is alive: other memory
        >>> a.data_ptr() != b.data_ptr()
        True
        >>> ptr = a.data_ptr()
        >>> del a
        >>> pool.empty((4, 3, 512, 512), torch.float32).data_ptr() == ptr
        True
    """

    def __init__(self, keep: int = 2) -> None:
        self.keep = int(keep)
        self._slots: list[tuple[np.ndarray, weakref.ref[np.ndarray] | None]] = []

    def empty(
        self,
        shape: Sequence[int],
        dtype: torch.dtype,
        memory_format: torch.memory_format = torch.contiguous_format,
    ) -> torch.Tensor:
        """An uninitialised CPU tensor of ``shape`` and ``dtype`` in ``memory_format``."""
        shape = tuple(int(s) for s in shape)
        nbytes = math.prod(shape) * dtype.itemsize
        if nbytes < _MIN_BYTES or self.keep < 1:
            return torch.empty(shape, dtype=dtype, memory_format=memory_format)
        for k, (buf, lease) in enumerate(self._slots):
            if buf.nbytes == nbytes and (lease is None or lease() is None):
                return self._lease(k, shape, dtype, memory_format)
        buf = np.empty(nbytes, dtype=np.uint8)
        _advise_range(buf.ctypes.data, nbytes)
        if len(self._slots) < self.keep:
            self._slots.append((buf, None))
            return self._lease(len(self._slots) - 1, shape, dtype, memory_format)
        for k, (_, lease) in enumerate(self._slots):  # a buffer of another size, now free: replace it
            if lease is None or lease() is None:
                self._slots[k] = (buf, None)
                return self._lease(k, shape, dtype, memory_format)
        out = torch.from_numpy(buf).view(dtype)  # every buffer is in use: this one is not kept
        return out.as_strided(shape, _strides(shape, dtype, memory_format))

    def _lease(
        self, k: int, shape: tuple[int, ...], dtype: torch.dtype, memory_format: torch.memory_format
    ) -> torch.Tensor:
        buf = self._slots[k][0]
        lease = buf[:]  # a new view object: the batch's storage holds it, and it dies with the storage
        self._slots[k] = (buf, weakref.ref(lease))
        out = torch.from_numpy(lease).view(dtype)
        return out.as_strided(shape, _strides(shape, dtype, memory_format))


def _strides(
    shape: tuple[int, ...], dtype: torch.dtype, memory_format: torch.memory_format
) -> tuple[int, ...]:
    return torch.empty(shape, dtype=dtype, device="meta", memory_format=memory_format).stride()


def _advise_range(start: int, nbytes: int) -> None:
    """Huge-page advice over the 2 MiB-aligned part of ``[start, start + nbytes)`` (large ranges only)."""
    fn = _libc_madvise()
    if not fn or nbytes < _MIN_BYTES:
        return
    lo = (start + _HUGE - 1) & ~(_HUGE - 1)
    hi = (start + nbytes) & ~(_HUGE - 1)
    if hi > lo:
        fn(lo, hi - lo, _MADV_HUGEPAGE)  # the result is ignored: the advice is optional
