"""Mixup / CutMix on CPU for large floating samples: one mirrored pair of samples at a time.

The CPU path of :func:`pixelpipe.batch.mixing.mix_images`: each output row is written once, touching only
what changes (see :func:`_mix_pairs_cpu`); the result is bit-identical to the batched kernel's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

_INT_OF_SIZE = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}
_BLEND, _CUT = 1, 2  # row kinds in _CpuPairs (0: unmixed)


def _bits(t: torch.Tensor) -> np.ndarray:
    """A NumPy view of a CPU tensor's bits as same-size integers (NumPy has no ``bfloat16``), for copies.

    NumPy copies a strided CutMix box faster than ``Tensor.copy_`` (up to twice as fast for small boxes),
    with less overhead per call.
    """
    return t.detach().view(_INT_OF_SIZE[t.element_size()]).numpy()  # host-sync: none, CPU tensors only


class _CpuPairs:
    """One :func:`_mix_pairs_cpu` call: the rows' kinds, partner weights and boxes, NumPy views, scratch."""

    def __init__(
        self,
        x: torch.Tensor,
        lam: torch.Tensor,
        use_cutmix: torch.Tensor,
        boxes: torch.Tensor,
        out: torch.Tensor,
    ) -> None:
        self.out, self.xn, self.on = out, _bits(x), _bits(out)
        self.rows = x.unbind(0)  # once: cheaper than indexing x a few times per pair
        self.kind = [
            _CUT if cut else _BLEND if lam_r < 1.0 else 0
            for lam_r, cut in zip(lam.tolist(), use_cutmix.tolist())  # host-sync: none, CPU path only
        ]
        # the partner's weight, as the batched kernel rounds it
        self.weight = (1.0 - lam.float()).to(x.dtype).tolist()  # host-sync: none, CPU path only
        # flat: a list of 4-lists (or of slices) would be hundreds of live objects for the cyclic GC
        self.box = boxes.reshape(-1).tolist()  # host-sync: none, CPU path only
        self._sample: torch.Tensor | None = None
        self._flat: np.ndarray | None = None

    def order(self, count: int, b: int) -> list[int]:
        """The first rows ``i`` of the ``count`` pairs ``(i, b - 1 - i)``, grouped by kind.

        Pairs with two blended rows come first, then one, then none; among equals, fewer CutMix rows
        first. The order of the pairs does not change the result, but in place grouping pays: strided box
        copies interleaved with whole-sample blends make the blends slower (about 10% of the mix for
        ``pair`` mode on a 2-core Xeon VM, likely through the hardware prefetchers).
        """
        kind, n = self.kind, len(self.kind)

        def key(i: int) -> tuple[int, int]:
            rows = (kind[i], kind[b - 1 - i] if b - 1 - i < n else 0)
            return -rows.count(_BLEND), rows.count(_CUT)

        return sorted(range(count), key=key)

    def region(self, r: int) -> tuple[Any, slice, slice]:
        """Index of row ``r``'s CutMix box in a sample."""
        y0, y1, x0, x1 = self.box[4 * r : 4 * r + 4]
        return ..., slice(y0, y1), slice(x0, x1)

    def overlap(self, r: int, s: int) -> bool:
        """Whether the (half-open) boxes of rows ``r`` and ``s`` share a pixel."""
        p, q = self.box[4 * r : 4 * r + 4], self.box[4 * s : 4 * s + 4]
        return max(p[0], q[0]) < min(p[1], q[1]) and max(p[2], q[2]) < min(p[3], q[3])

    def write_row(self, r: int, own: int, other: int) -> None:
        """Output row ``r`` (not in place) from samples ``own`` and ``other``."""
        kind, dst = self.kind[r], self.out[r]
        if kind == _BLEND:
            torch.lerp(self.rows[own], self.rows[other], self.weight[r], out=dst)
            return
        dst.copy_(self.rows[own])
        if kind == _CUT:
            box = self.region(r)
            self.on[r][box] = self.xn[other][box]

    def mix_pair_inplace(self, i: int, j: int) -> None:
        """Rows ``i`` and ``j = B - 1 - i``, both outputs, in place.

        The row written first, ``f``, changes its sample where the second, ``g``, may still read it: that
        part (the whole sample if ``g`` is blended, else ``g``'s box) is saved first. A blended row goes
        first when the other is a CutMix row, so that only a box is saved; two CutMix rows with disjoint
        boxes save nothing.
        """
        kind = self.kind
        if not kind[i] or not kind[j]:
            if kind[i]:
                self.write_inplace(i, j)
            if kind[j]:
                self.write_inplace(j, i)
            return
        f, g = (j, i) if kind[i] == _CUT and kind[j] == _BLEND else (i, j)
        if kind[g] == _BLEND:
            self._blend_both(f, g)
        elif kind[f] == _BLEND or self.overlap(f, g):
            saved = self._save_box(f, g)
            self.write_inplace(f, g)
            self.xn[g][self.region(g)] = saved
        else:
            self.write_inplace(f, g)
            self.write_inplace(g, f)

    def write_inplace(self, r: int, other: int) -> None:
        """Row ``r`` in place, from sample ``other`` as it is now."""
        if self.kind[r] == _BLEND:
            self.rows[r].lerp_(self.rows[other], self.weight[r])
        else:
            box = self.region(r)
            self.xn[r][box] = self.xn[other][box]

    def _blend_both(self, f: int, g: int) -> None:
        """Two blended rows in place: sample ``f`` is copied to scratch, then both are blended."""
        if self._sample is None:
            self._sample = torch.empty_like(self.rows[0])
        saved = self._sample.copy_(self.rows[f])
        self.write_inplace(f, g)
        self.rows[g].lerp_(saved, self.weight[g])

    def _save_box(self, f: int, g: int) -> np.ndarray:
        """A contiguous copy of sample ``f`` in row ``g``'s box (scratch reused across pairs)."""
        src = self.xn[f][self.region(g)]
        if self._flat is None:
            self._flat = np.empty(self.xn[0].size, dtype=self.xn.dtype)
        saved = self._flat[: src.size].reshape(src.shape)
        np.copyto(saved, src)
        return saved


def _mix_pairs_cpu(
    x: torch.Tensor, lam: torch.Tensor, use_cutmix: torch.Tensor, boxes: torch.Tensor, out: torch.Tensor
) -> None:
    """Mirrored pairs on CPU, floating point: each output row written once, touching only what changes.

    A blended row is one ``lerp`` of the sample and its partner, a CutMix row a copy (none in place) and a
    box-sized slice copy (in NumPy, on the tensors' bits), an unmixed row a copy (nothing in place).
    Against the batched kernel this skips the per-pixel weights, the partner copies and, in place, every
    pixel outside the CutMix boxes; the results are bit-identical (weights 0 and 1 make ``lerp`` return
    one of its inputs). A Python loop over the pairs is the fastest way on a CPU for large samples (a few
    microseconds of interpreter time per ~0.5 MB row, which is memory-bound); small samples use the
    batched kernels. In place, what the second row of a pair still reads from the first one's sample is
    saved before the first is written (see :meth:`_CpuPairs.mix_pair_inplace`).
    """
    b, n = x.shape[0], out.shape[0]
    pairs = _CpuPairs(x, lam, use_cutmix, boxes, out)
    inplace = out.data_ptr() == x.data_ptr()
    count = n // 2 if n == b else n
    # in place, pairs are grouped by kind; a new output is filled in order (its fresh pages are faulted in
    # 2 MiB at a time, and rows in order reuse each one while it is in cache)
    for i in pairs.order(count, b) if inplace else range(count):
        j = b - 1 - i
        if not inplace:
            pairs.write_row(i, i, j)
            if j < n:
                pairs.write_row(j, j, i)
        elif j < n:
            pairs.mix_pair_inplace(i, j)
        elif pairs.kind[i]:  # half mode: the partner is never written
            pairs.write_inplace(i, j)
