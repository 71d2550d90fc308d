"""The collate side of :class:`pixelpipe.batch.mixup.FastCollateMixup`: ``uint8`` samples mixed pair by pair.

Samples are blended straight from the sample arrays into the output batch, in cache-sized ``float32``
chunks, without stacking the batch first (see :func:`_collate_mix_uint8`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ..errors import ConfigError


def _as_arrays(images: Sequence[Any], where: str) -> list[np.ndarray]:
    """The ``uint8`` ``(C, H, W)`` images of one view as NumPy arrays (views, no copy), checked alike."""
    first = images[0]
    if isinstance(first, np.ndarray):
        if not all(isinstance(a, np.ndarray) for a in images):
            raise ConfigError(f"FastCollateMixup: {where} mixes NumPy arrays and other types")
        arrays = list(images)
    elif isinstance(first, torch.Tensor):
        if not all(isinstance(a, torch.Tensor) for a in images):
            raise ConfigError(f"FastCollateMixup: {where} mixes tensors and other types")
        arrays = [a.detach().cpu().numpy() for a in images]  # host-sync: none, host samples in the collate
    else:
        raise ConfigError(
            f"FastCollateMixup: {where} images are {type(first).__name__}; expected uint8 tensors or NumPy "
            "arrays shaped (C, H, W) (build the transform with use_prefetcher=True)"
        )
    a0 = arrays[0]
    if a0.dtype != np.uint8 or a0.ndim != 3:
        raise ConfigError(
            f"FastCollateMixup: {where} images must be uint8 (C, H, W), got {a0.dtype} {tuple(a0.shape)}"
        )
    for a in arrays:
        if a.shape != a0.shape or a.dtype != a0.dtype:
            raise ConfigError(
                f"FastCollateMixup: {where} images differ in shape or type "
                f"({a.dtype} {tuple(a.shape)} vs {a0.dtype} {tuple(a0.shape)})"
            )
    return arrays


_COLLATE_CHUNK = 48 << 10
"""Elements of a sample blended at a time by FastCollateMixup: four float32 buffers of this size fit in L2."""


def _collate_mix_uint8(
    images: Sequence[np.ndarray],
    out: np.ndarray,
    lam: np.ndarray,
    use_cutmix: np.ndarray,
    boxes: np.ndarray,
) -> None:
    """Write the mix of ``uint8`` ``images`` (``B`` arrays) into ``out`` (``(N, C, H, W)``, ``N <= B``).

    Row ``i`` is ``rint(float32(a) * lam + float32(b) * (1 - lam))`` (``a = images[i]``,
    ``b = images[B - 1 - i]``, every step in ``float32``, rounded half-to-even) for blended rows, ``a``
    with ``b``'s box pasted for CutMix rows, ``a`` otherwise: exactly :func:`mix_images` on the stacked
    batch. Rows are produced a mirrored pair ``(i, B - 1 - i)`` at a time, straight from the sample
    arrays into ``out``: no stacked copy of the batch and no batch-sized float temporary. A blended pair
    is converted to ``float32`` once, a cache-sized chunk at a time, and both of its rows are computed from
    that chunk. The loop runs over pairs and chunks; each step is a NumPy call over tens of thousands of
    elements, so the interpreter's share is small at ImageNet sizes.
    """
    b, n = len(images), out.shape[0]
    one = np.float32(1.0)
    size = out[0].size
    chunk = min(size, _COLLATE_CHUNK)
    buf = None
    for i in range(n // 2 if n == b else n):
        j = b - 1 - i
        rows = (i, j) if j < n else (i,)
        blend = [not use_cutmix[r] and lam[r] < 1.0 for r in rows]
        for r, blended in zip(rows, blend):
            if not blended:
                own, other = (i, j) if r == i else (j, i)
                np.copyto(out[r], images[own])
                if use_cutmix[r]:
                    y0, y1, x0, x1 = (int(v) for v in boxes[r])
                    out[r, :, y0:y1, x0:x1] = images[other][:, y0:y1, x0:x1]
        if not any(blend):
            continue
        if buf is None:
            buf = np.empty((4, chunk), dtype=np.float32)
        a, c = images[i].reshape(-1), images[j].reshape(-1)
        # (row, weight of a, weight of c) for the blended rows of the pair
        todo = [
            (out[r].reshape(-1), *((lam[r], one - lam[r]) if r == i else (one - lam[r], lam[r])))
            for r, bl in zip(rows, blend)
            if bl
        ]
        for s in range(0, size, chunk):
            e = min(s + chunk, size)
            fa, fc, t1, t2 = buf[:, : e - s]
            np.copyto(fa, a[s:e])
            np.copyto(fc, c[s:e])
            for k, (dst, wa, wc) in enumerate(todo):
                if k == len(todo) - 1:
                    t1, t2 = fa, fc  # last row of the pair: the converted chunk is no longer needed
                    np.multiply(fa, wa, out=fa)
                    np.multiply(fc, wc, out=fc)
                else:
                    np.multiply(fa, wa, out=t1)
                    np.multiply(fc, wc, out=t2)
                np.add(t1, t2, out=t1)
                np.rint(t1, out=t1)
                np.copyto(dst[s:e], t1, casting="unsafe")  # integers in [0, 255]: exact
