"""Mixup and CutMix on whole batches, vectorised on any device, and mixing inside the collate function.

Mixup (Zhang et al., 2017, "mixup: Beyond Empirical Risk Minimization", arXiv:1710.09412) blends two
images, ``lam * x_i + (1 - lam) * x_j``; CutMix (Yun et al., 2019, arXiv:1905.04899) pastes a box of
``x_j`` into ``x_i``. Either way the one-hot (optionally label-smoothed) targets are mixed by the same
``lam``. The behaviour follows the reference's ``timm.data.mixup`` (REFERENCE §8): the same arguments,
defaults, modes and sampling distributions, and the partner of sample ``i`` is always sample ``B - 1 - i``.

Design. :meth:`Mixup.sample_params` draws every random number of a call (on the host, from one NumPy
generator: a few numbers per sample) and returns a :class:`MixupParams` of ``(N,)`` / ``(N, 4)`` tensors
on the batch's device; :func:`mix_images` and :func:`mixup_target` apply them as pure functions. A call can
be replayed with ``mixup.apply(x, params)``. On accelerators the images are mixed with masks and one
gather, without a Python loop over the batch. On CPU, where mixing is bound by memory traffic, large
floating samples are mixed one mirrored pair at a time (one ``lerp`` per blended sample, a box-sized slice
copy per CutMix sample, nothing for unmixed samples in place), and small ones by the batched kernels over
blocks of a few pairs that stay in cache; both give the same bits. :class:`FastCollateMixup` blends
``uint8`` samples pair by pair straight from the sample arrays into the output batch, in cache-sized
float32 chunks, without stacking the batch first; inside DataLoader workers its output is allocated in
shared memory, as ``default_collate`` does.

Differences from the reference:

* The input batch is **not modified**: :class:`Mixup` returns a new tensor. ``Mixup(..., inplace=True)``
  writes into the input instead (as the reference does) and saves one batch-sized allocation.
* Batch-size checks raise :class:`~pixelpipe.errors.ConfigError` naming the batch size (the reference
  ``assert``\\ s); invalid arguments (unknown ``mode``, no alpha > 0, bad ``cutmix_minmax``, ``prob``...)
  raise at construction instead of being ignored or asserted at call time.
* ``mode='half'`` is supported by :class:`Mixup` as well (the reference's tensor ``Mixup`` silently treats
  it as ``'batch'``): the first ``B / 2`` samples are mixed with the second half and returned.
* :class:`FastCollateMixup` returns ``float32`` targets in every mode (the reference's ``half`` mode gives
  ``float64``), and accepts AugMix tuple samples (every view of a sample gets the same mixing).
* Box sampling: see :mod:`pixelpipe.batch.bbox`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import torch
from torch.utils.data import default_collate

from .._checks import check_int, check_prob, check_real
from .._transfer import to_device
from ..errors import ConfigError
from ..rng import get_rng
from ._memory import advise_huge_pages, empty_batch
from .bbox import check_minmax, cutmix_bbox_and_lam

__all__ = [
    "MIXUP_MODES",
    "FastCollateMixup",
    "Mixup",
    "MixupParams",
    "mix_images",
    "mixup_target",
    "one_hot",
]

MIXUP_MODES = ("batch", "pair", "elem", "half")
"""How lambdas are shared: one per batch, per mirrored pair, per sample, or per sample of the first half."""


def one_hot(x: torch.Tensor, num_classes: int, on_value: float = 1.0, off_value: float = 0.0) -> torch.Tensor:
    """Class indices to a dense ``(N, num_classes)`` ``float32`` matrix on ``x``'s device.

    Example:
        >>> one_hot(torch.tensor([2, 0]), 3, on_value=0.9, off_value=0.05)
        tensor([[0.0500, 0.0500, 0.9000],
                [0.9000, 0.0500, 0.0500]])
    """
    idx = x.long().reshape(-1, 1)
    out = torch.full((idx.shape[0], int(num_classes)), float(off_value), device=idx.device)
    return out.scatter_(1, idx, float(on_value))


def mixup_target(
    target: torch.Tensor,
    num_classes: int,
    lam: float | torch.Tensor = 1.0,
    smoothing: float = 0.0,
    multi_label: bool = False,
    *,
    partner: torch.Tensor | None = None,
) -> torch.Tensor:
    """Soft targets ``lam * y_i + (1 - lam) * y_partner(i)`` with label smoothing.

    ``y`` is one-hot with ``1 - smoothing + smoothing / num_classes`` on the class and
    ``smoothing / num_classes`` elsewhere; with ``multi_label`` the targets are already dense
    ``(B, num_classes)`` and are smoothed towards ``0.5``. Smoothing applies even when ``lam == 1``.

    Args:
        target: ``(B,)`` class indices, or ``(B, num_classes)`` with ``multi_label``.
        num_classes: number of classes.
        lam: a scalar, or one lambda per output row (``(N,)`` or ``(N, 1)`` tensor).
        smoothing: label-smoothing amount in ``[0, 1]``.
        multi_label: mix dense multi-label targets.
        partner: ``(N,)`` partner index of each output row (default ``B - 1 - i`` for every row).

    Returns:
        ``(N, num_classes)`` ``float32`` on ``target``'s device.

    Example:
        >>> mixup_target(torch.tensor([0, 1]), 5, lam=0.75, smoothing=0.1)[0]
        tensor([0.6950, 0.2450, 0.0200, 0.0200, 0.0200])
    """
    if multi_label:
        if target.ndim != 2 or target.shape[1] != num_classes:
            raise ConfigError(
                f"mixup_target: multi_label targets must be shaped (batch, {num_classes}), "
                f"got {tuple(target.shape)}"
            )
        y = target.float() * (1.0 - smoothing) + 0.5 * smoothing
    else:
        idx = target.long().reshape(-1)
        if partner is None:
            other = idx.flip(0)
        else:
            other = idx.index_select(0, to_device(partner, idx.device))
            idx = idx[: partner.shape[0]]
        off = smoothing / num_classes
        return _mix_one_hot(idx, other, num_classes, 1.0 - smoothing + off, off, _lam_column(lam, idx.device))
    if partner is None:
        y_self, y_other = y, y.flip(0)
    else:
        partner = to_device(partner, y.device)
        y_self, y_other = y[: partner.shape[0]], y.index_select(0, partner)
    lam = _lam_column(lam, y.device)
    # y and y_other are this call's own copies: mix in place (the roundings of y_self * lam + ...)
    return y_self.mul_(lam).add_(y_other.mul_(1.0 - lam))


def _lam_column(lam: float | torch.Tensor, device: torch.device) -> float | torch.Tensor:
    """A scalar lambda as is, a tensor as a ``float32`` column on ``device``."""
    if isinstance(lam, torch.Tensor):
        return to_device(lam, device).to(torch.float32).reshape(-1, 1)
    return lam


def _mix_one_hot(
    idx: torch.Tensor,
    other: torch.Tensor,
    num_classes: int,
    on: float,
    off: float,
    lam: float | torch.Tensor,
) -> torch.Tensor:
    """``one_hot(idx) * lam + one_hot(other) * (1 - lam)``, smoothed, without the dense one-hot matrices.

    A row takes at most four values (each one-hot is ``on`` or ``off``), computed once per row with the same
    ``float32`` operations as the dense formula, so the bits are the same; then one fill and two scatters.
    """
    # columns: (own, partner) one-hot values (off, off), (on, off), (off, on), (on, on); filled on the
    # device (no host-to-device copy, so no synchronisation on accelerators)
    own = torch.full((1, 4), off, device=idx.device)
    own[:, 1::2] = on
    partner = torch.full((1, 4), off, device=idx.device)
    partner[:, 2:] = on
    values = (own * lam + partner * (1.0 - lam)).expand(idx.shape[0], 4)
    out = values[:, :1].expand(idx.shape[0], num_classes).contiguous()
    same = (idx == other).unsqueeze(1)
    out.scatter_(1, other.unsqueeze(1), torch.where(same, values[:, 3:], values[:, 2:3]))
    return out.scatter_(1, idx.unsqueeze(1), torch.where(same, values[:, 3:], values[:, 1:2]))


@dataclass(frozen=True)
class MixupParams:
    """The random parameters of one Mixup/CutMix call, one row per output sample.

    Attributes:
        lam: ``(N,)`` ``float32`` target lambda: the mixup ratio, the kept area for CutMix (after the
            box-area correction), 1 for samples left unmixed.
        use_cutmix: ``(N,)`` bool, true where the sample gets a CutMix box rather than a blend.
        boxes: ``(N, 4)`` ``int64`` half-open boxes ``(y0, y1, x0, x1)`` (empty where unused).
        partner: ``(N,)`` ``int64`` index, in the input batch, of the sample mixed into each output row.
    """

    lam: torch.Tensor
    use_cutmix: torch.Tensor
    boxes: torch.Tensor
    partner: torch.Tensor

    def to(self, device: torch.device | str, non_blocking: bool = True) -> MixupParams:
        """The same parameters on ``device``: from the host without a host sync (pinned, non-blocking; see
        :func:`pixelpipe._transfer.to_device`). ``non_blocking`` is accepted for symmetry with tensors."""
        return MixupParams(*(to_device(getattr(self, f.name), device) for f in fields(self)))


_CPU_BLOCK_BYTES = 2 << 20
"""On CPU, samples are mixed a block of about this many bytes at a time (cache blocking, see mix_images)."""


def _avoid_sync(t: torch.Tensor) -> bool:
    """True on accelerators, where reading values on the host (``any``, ``nonzero``) would stall."""
    return t.device.type != "cpu"


def _mix_rows(
    xs: torch.Tensor,
    xp: torch.Tensor,
    lam: torch.Tensor,
    use_cutmix: torch.Tensor,
    boxes: torch.Tensor,
    out: torch.Tensor,
) -> None:
    """Write the mix of rows ``xs`` with partner rows ``xp`` into ``out`` (may alias ``xs``)."""
    k = xs.shape[0]
    h, w_ = xs.shape[-2:]
    lead = (k,) + (1,) * (xs.ndim - 3)  # weights broadcast over the channel (and view) dims
    row = (k, 1, 1)
    inside = None
    if _avoid_sync(xs) or bool(use_cutmix.any()):  # host-sync: none, read on CPU tensors only
        # 1 inside the box of a CutMix row, else 0, as an outer product (much cheaper than where/masks).
        rows = torch.arange(h, device=xs.device)
        cols = torch.arange(w_, device=xs.device)
        in_y = (rows >= boxes[:, 0:1]) & (rows < boxes[:, 1:2]) & use_cutmix[:, None]
        in_x = (cols >= boxes[:, 2:3]) & (cols < boxes[:, 3:4])
        inside = in_y.float()[:, :, None] * in_x.float()[:, None, :]
    if xs.is_floating_point():
        # Weight of the partner: 1 - lam for blended rows, 1 inside a CutMix box, 0 elsewhere: one pass.
        pw = torch.where(use_cutmix, 0.0, 1.0 - lam).float().view(row)
        if inside is not None:
            pw = torch.maximum(pw, inside)
        torch.lerp(xs, xp, pw.to(xs.dtype).view(*lead, *pw.shape[1:]), out=out)
        return
    # Integers: blend rows in float32 and round half-to-even (clipped); paste boxes with bit masks (exact).
    # On CPU only the blended rows go through float; elsewhere every row does (weight 1 if not blended).
    blended = ~use_cutmix & (lam < 1)
    info = torch.iinfo(xs.dtype)
    if not _avoid_sync(xs):
        if out.data_ptr() != xs.data_ptr():
            out.copy_(xs)
        idx = blended.nonzero().squeeze(1)  # host-sync: none, the CPU branch
        if idx.numel():
            w = lam.index_select(0, idx).float().view(-1, *([1] * (xs.ndim - 1)))
            mixed = xs.index_select(0, idx).float().mul_(w)
            mixed.add_(xp.index_select(0, idx).float().mul_(1.0 - w))
            out.index_copy_(0, idx, mixed.round_().clamp_(info.min, info.max).to(xs.dtype))
    else:
        w = torch.where(blended, lam, 1.0).float().view(k, *([1] * (xs.ndim - 1)))
        mixed = xs.float().mul_(w).add_(xp.float().mul_(1.0 - w))
        out.copy_(mixed.round_().clamp_(info.min, info.max))
    if inside is not None:
        ones = -inside.to(xs.dtype).view(*lead, h, w_)  # all bits set inside a box (wraps for unsigned)
        diff = torch.bitwise_xor(out, xp).bitwise_and_(ones)
        out.bitwise_xor_(diff)


_CPU_ROW_BYTES = 64 << 10
"""On CPU, floating batches whose samples are at least this large are mixed sample by sample (see
_mix_pairs_cpu); smaller ones go through the batched kernels, whose cost is not dominated by the rows."""

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


def _memory_format(x: torch.Tensor) -> torch.memory_format:
    """The layout a new output for ``x`` gets: channels-last if ``x`` is (and is not also NCHW-contiguous)."""
    if x.is_contiguous():
        return torch.contiguous_format
    if x.ndim == 4 and x.is_contiguous(memory_format=torch.channels_last):
        return torch.channels_last
    if x.ndim == 5 and x.is_contiguous(memory_format=torch.channels_last_3d):
        return torch.channels_last_3d
    return torch.contiguous_format


def mix_images(x: torch.Tensor, params: MixupParams, *, inplace: bool = False) -> torch.Tensor:
    """Apply :class:`MixupParams` to a batch; pure apart from the opt-in ``inplace``.

    Output row ``i`` is ``lam_i * x[i] + (1 - lam_i) * x[partner_i]`` for blended samples, ``x[i]`` with
    ``x[partner_i]``'s box pasted in for CutMix samples, and ``x[i]`` where ``lam_i == 1``. Integer
    batches (``uint8``) are blended in ``float32`` and rounded half-to-even, then clipped to the dtype's
    range, like the reference's collate-time mixing.

    On an accelerator the whole batch is mixed at once (a gather, then one blend whose per-pixel weight
    holds the CutMix boxes). On CPU, where that is bound by memory traffic, mirrored pairs of samples
    (``i`` and ``B - 1 - i``) are mixed together: pair by pair for large floating samples (only what
    changes is written), else a few pairs at a time so that a sample and its partner are still in cache.
    All paths give identical results.

    Args:
        x: ``(B, ..., H, W)`` batch on any device; ``B >= N`` (``N`` output rows, ``B / 2`` in half mode).
        params: from :meth:`Mixup.sample_params` (moved to ``x``'s device if needed).
        inplace: write the result into ``x[:N]`` and return that view.

    Returns:
        ``(N, ..., H, W)`` tensor, ``x``'s dtype, device and memory format (``channels_last`` in,
        ``channels_last`` out; other layouts give a contiguous tensor unless ``inplace``).

    Example:
        >>> x = torch.arange(4.0).reshape(2, 1, 1, 2)
        >>> p = MixupParams(torch.tensor([0.75, 0.75]), torch.zeros(2, dtype=torch.bool),
        ...                 torch.zeros(2, 4, dtype=torch.long), torch.tensor([1, 0]))
        >>> mix_images(x, p).flatten().tolist()
        [0.5, 1.5, 1.5, 2.5]
    """
    if x.ndim < 3:
        raise ConfigError(f"mix_images: x must be a batch shaped (B, ..., H, W), got {tuple(x.shape)}")
    if x.is_complex() or x.dtype == torch.bool:
        raise ConfigError(f"mix_images: unsupported dtype {x.dtype}; use a floating or integer batch")
    if params.lam.device != x.device:
        params = params.to(x.device, non_blocking=True)
    n, b = params.lam.shape[0], x.shape[0]
    if n > b:
        raise ConfigError(f"mix_images: params are for {n} output samples but the batch has {b}")
    lam, cut, boxes = params.lam, params.use_cutmix, params.boxes
    if inplace:
        out = x[:n]
    else:
        out = torch.empty((n, *x.shape[1:]), dtype=x.dtype, device=x.device, memory_format=_memory_format(x))
        advise_huge_pages(out)
    half = b // 2
    row_bytes = x[0].numel() * max(4, x.element_size())  # integer rows are blended in float32
    step = max(1, _CPU_BLOCK_BYTES // max(1, row_bytes))
    mirrored = (
        not _avoid_sync(x)
        and b % 2 == 0
        and n in (b, half)
        and torch.equal(params.partner, torch.arange(b - 1, b - 1 - n, -1))
    )
    if mirrored and x.is_floating_point() and x[0].numel() * x.element_size() >= _CPU_ROW_BYTES:
        _mix_pairs_cpu(x, lam, cut, boxes, out)
        return out
    if not mirrored or step >= half:
        xp = x.index_select(0, params.partner)  # a copy, so writing into x[:n] below is safe
        _mix_rows(x[:n], xp, lam, cut, boxes, out)
        return out
    for s in range(0, half, step):
        e = min(s + step, half)
        lo, hi = b - e, b - s  # the partners of rows s..e-1, in reverse order
        first, second = x[s:e], x[lo:hi]
        partners_first = second.flip(0)  # copies: taken before any write, so inplace is safe
        partners_second = first.flip(0) if n == b else None
        _mix_rows(first, partners_first, lam[s:e], cut[s:e], boxes[s:e], out[s:e])
        if partners_second is not None:
            _mix_rows(second, partners_second, lam[lo:hi], cut[lo:hi], boxes[lo:hi], out[lo:hi])
    return out


def _check_prob(value: float, name: str) -> float:
    return check_prob(value, name, "Mixup")


class Mixup:
    """Mixup / CutMix for a batch of images and class targets, on whatever device the batch is on.

    Args:
        mixup_alpha: Beta(alpha, alpha) parameter of the mixup lambda; mixup is active when > 0.
        cutmix_alpha: Beta parameter of the CutMix lambda; CutMix is active when > 0.
        cutmix_minmax: ``(min, max)`` box side ratios; activates CutMix with boxes of random sides instead of
            ``cutmix_alpha`` (which is then set to 1), lambda taken from the box area.
        prob: probability of mixing a batch (``batch``) or a sample / pair (the other modes).
        switch_prob: probability of CutMix rather than mixup when both are active.
        mode: ``'batch'`` (one lambda and box for the batch), ``'pair'`` (one per pair ``i``,
            ``B - 1 - i``, applied symmetrically), ``'elem'`` (one per sample), or ``'half'`` (one per sample
            of the first half, which alone is returned).
        correct_lam: set the CutMix lambda to the kept area once the box is clipped to the image.
        label_smoothing: label smoothing of the targets, applied even to unmixed samples.
        num_classes: number of classes.
        multi_label: targets are dense ``(B, num_classes)`` multi-label vectors.
        inplace: write the mixed images into the input batch (and return it) instead of a new tensor.

    Attribute ``mixup_enabled`` (default true) can be cleared by a training loop to stop mixing; labels
    are still smoothed.

    Example:
        >>> mix = Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, mode="elem", num_classes=10)
        >>> x, y = torch.rand(4, 3, 8, 8), torch.tensor([0, 1, 2, 3])
        >>> xm, ym = mix(x, y, rng=np.random.default_rng(0))
        >>> xm.shape, ym.shape, bool(torch.allclose(ym.sum(1), torch.ones(4)))
        (torch.Size([4, 3, 8, 8]), torch.Size([4, 10]), True)
        >>> params = mix.sample_params(4, x.shape, rng=np.random.default_rng(0))
        >>> torch.equal(mix.apply(x, params), xm)  # replay
        True
    """

    def __init__(
        self,
        mixup_alpha: float = 1.0,
        cutmix_alpha: float = 0.0,
        cutmix_minmax: Sequence[float] | None = None,
        prob: float = 1.0,
        switch_prob: float = 0.5,
        mode: str = "batch",
        correct_lam: bool = True,
        label_smoothing: float = 0.1,
        num_classes: int = 1000,
        multi_label: bool = False,
        *,
        inplace: bool = False,
    ) -> None:
        self.mixup_alpha = check_real(mixup_alpha, "mixup_alpha", "Mixup", lo=0.0)
        self.cutmix_alpha = check_real(cutmix_alpha, "cutmix_alpha", "Mixup", lo=0.0)
        self.cutmix_minmax = None
        if cutmix_minmax is not None:
            self.cutmix_minmax = check_minmax(cutmix_minmax, "cutmix_minmax")
            self.cutmix_alpha = 1.0  # the box comes from minmax; alpha only has to make CutMix active
        if self.mixup_alpha < 0 or self.cutmix_alpha < 0:
            raise ConfigError(
                f"Mixup: alphas must be >= 0, got mixup_alpha={mixup_alpha}, cutmix_alpha={cutmix_alpha}"
            )
        if self.mixup_alpha == 0 and self.cutmix_alpha == 0:
            raise ConfigError("Mixup: nothing to do; set mixup_alpha > 0, cutmix_alpha > 0 or cutmix_minmax")
        self.mix_prob = _check_prob(prob, "prob")
        self.switch_prob = _check_prob(switch_prob, "switch_prob")
        if mode not in MIXUP_MODES:
            raise ConfigError(f"Mixup: mode must be one of {MIXUP_MODES}, got {mode!r}")
        self.mode = mode
        self.correct_lam = bool(correct_lam)
        self.label_smoothing = _check_prob(label_smoothing, "label_smoothing")
        self.num_classes = check_int(num_classes, "num_classes", "Mixup", lo=1)
        self.multi_label = bool(multi_label)
        self.inplace = bool(inplace)
        self.mixup_enabled = True

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(mixup_alpha={self.mixup_alpha}, cutmix_alpha={self.cutmix_alpha}, "
            f"cutmix_minmax={self.cutmix_minmax}, prob={self.mix_prob}, switch_prob={self.switch_prob}, "
            f"mode={self.mode!r}, correct_lam={self.correct_lam}, label_smoothing={self.label_smoothing}, "
            f"num_classes={self.num_classes})"
        )

    def _draw(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``n`` lambdas (float64, 1 where unmixed) and CutMix flags, as the reference samples them."""
        lam = np.ones(n)
        use_cutmix = np.zeros(n, dtype=bool)
        if not self.mixup_enabled:
            return lam, use_cutmix
        if self.mixup_alpha > 0 and self.cutmix_alpha > 0:
            use_cutmix = rng.random(n) < self.switch_prob
            lam_mix = np.where(
                use_cutmix,
                rng.beta(self.cutmix_alpha, self.cutmix_alpha, n),
                rng.beta(self.mixup_alpha, self.mixup_alpha, n),
            )
        elif self.mixup_alpha > 0:
            lam_mix = rng.beta(self.mixup_alpha, self.mixup_alpha, n)
        else:
            use_cutmix = np.ones(n, dtype=bool)
            lam_mix = rng.beta(self.cutmix_alpha, self.cutmix_alpha, n)
        active = (rng.random(n) < self.mix_prob) & (lam_mix < 1.0)
        return np.where(active, lam_mix, 1.0), use_cutmix & active

    def sample_params(
        self,
        batch_size: int,
        img_shape: Sequence[int],
        device: torch.device | str | None = None,
        rng: np.random.Generator | None = None,
    ) -> MixupParams:
        """Draw the parameters of one call for a batch of ``batch_size`` images shaped ``img_shape``.

        Args:
            batch_size: input batch size; must be even.
            img_shape: a shape ending with ``(H, W)`` (the batch's shape is fine).
            device: where the returned tensors live (default CPU).
            rng: NumPy generator (default :func:`pixelpipe.rng.get_rng`).

        Raises:
            ConfigError: ``batch_size`` is odd or below 2.
        """
        b = int(batch_size)
        if b < 2 or b % 2:
            raise ConfigError(
                f"Mixup (mode={self.mode!r}) needs an even batch size >= 2 to pair samples, got "
                f"batch_size={b}. Drop the last incomplete batch (DataLoader drop_last=True)."
            )
        rng = rng if rng is not None else get_rng()
        n = {"batch": 1, "elem": b, "pair": b // 2, "half": b // 2}[self.mode]
        lam, use_cutmix = self._draw(n, rng)
        boxes = np.zeros((n, 4), dtype=np.int64)
        if use_cutmix.any():
            box, lam_cut = cutmix_bbox_and_lam(
                img_shape, lam[use_cutmix], self.cutmix_minmax, self.correct_lam, rng=rng
            )
            boxes[use_cutmix] = np.stack(box, axis=1)
            lam[use_cutmix] = lam_cut
        if self.mode == "batch":
            lam, use_cutmix, boxes = np.repeat(lam, b), np.repeat(use_cutmix, b), np.repeat(boxes, b, axis=0)
        elif self.mode == "pair":
            lam, use_cutmix = np.concatenate([lam, lam[::-1]]), np.concatenate([use_cutmix, use_cutmix[::-1]])
            boxes = np.concatenate([boxes, boxes[::-1]])
        partner = (b - 1) - np.arange(len(lam))
        host = MixupParams(
            lam=torch.from_numpy(lam.astype(np.float32)),
            use_cutmix=torch.from_numpy(use_cutmix),
            boxes=torch.from_numpy(np.ascontiguousarray(boxes)),
            partner=torch.from_numpy(partner),
        )
        return host if device is None else host.to(device, non_blocking=True)

    def apply(self, x: torch.Tensor, params: MixupParams) -> torch.Tensor:
        """Mix a batch with given parameters (no randomness): see :func:`mix_images`."""
        return mix_images(x, params, inplace=self.inplace)

    def mix_targets(self, target: torch.Tensor, params: MixupParams) -> torch.Tensor:
        """Smoothed, mixed ``float32`` targets for ``params`` (one row per output sample)."""
        return mixup_target(
            target,
            self.num_classes,
            params.lam,
            self.label_smoothing,
            self.multi_label,
            partner=params.partner,
        )

    def __call__(
        self, x: torch.Tensor, target: torch.Tensor, *, rng: np.random.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mix ``x`` ``(B, C, H, W)`` and ``target`` ``(B,)``; returns ``(x_mixed, soft_targets)``.

        ``x_mixed`` is a new tensor unless ``inplace``; in ``half`` mode both hold ``B / 2`` rows.
        """
        if not isinstance(x, torch.Tensor) or x.ndim < 3:
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ConfigError(f"Mixup: x must be a tensor shaped (B, C, H, W), got {got}")
        if len(target) != len(x):
            raise ConfigError(f"Mixup: {len(target)} targets for a batch of {len(x)} images")
        params = self.sample_params(len(x), x.shape, x.device, rng)
        return self.apply(x, params), self.mix_targets(target, params)


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


class FastCollateMixup(Mixup):
    """A collate function that stacks ``uint8`` samples and applies Mixup/CutMix on the way.

    Takes the arguments of :class:`Mixup` (``inplace`` is ignored: the stacked batch is always a new
    tensor). Samples are ``(image, target)`` pairs, images ``uint8`` tensors or NumPy arrays shaped
    ``(C, H, W)``; blends are rounded half-to-even back to ``uint8``. With AugMix-style samples whose image
    is a tuple of ``S`` views, every view of a sample gets the same mixing and the output is split-major
    (row ``i + j * N`` is view ``j`` of sample ``i``), targets repeated ``S`` times.

    Returns ``(images, targets)``: ``uint8`` ``(N, C, H, W)`` (``N = B``, or ``B / 2`` in ``half`` mode)
    and ``float32`` ``(N, num_classes)``.

    Example:
        >>> collate = FastCollateMixup(cutmix_alpha=1.0, mode="half", num_classes=4)
        >>> batch = [(np.full((3, 8, 8), 10 * i, np.uint8), i) for i in range(4)]
        >>> x, y = collate(batch, rng=np.random.default_rng(0))
        >>> x.dtype, tuple(x.shape), y.dtype, tuple(y.shape)
        (torch.uint8, (2, 3, 8, 8), torch.float32, (2, 4))
    """

    def __call__(  # type: ignore[override]
        self, batch: Sequence[tuple[Any, Any]], _: Any = None, *, rng: np.random.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if len(batch) == 0 or not isinstance(batch[0], (tuple, list)) or len(batch[0]) < 2:
            raise ConfigError("FastCollateMixup: expected a non-empty list of (image, target) samples")
        images = [s[0] for s in batch]
        splits = isinstance(images[0], (tuple, list))
        if splits:
            num_splits = len(images[0])
            if any(not isinstance(v, (tuple, list)) or len(v) != num_splits for v in images):
                raise ConfigError(f"FastCollateMixup: every sample must have {num_splits} views")
            views = [_as_arrays([v[j] for v in images], f"view {j}:") for j in range(num_splits)]
            if any(v[0].shape != views[0][0].shape for v in views):
                raise ConfigError("FastCollateMixup: the views of a sample differ in shape")
        else:
            views = [_as_arrays(images, "batch:")]
        target = default_collate([s[1] for s in batch])
        b, shape = len(batch), views[0][0].shape
        params = self.sample_params(b, (b, *shape), "cpu", rng)
        n = params.lam.shape[0]
        # split-major: row i + j * N is view j of sample i, every view mixed with the same parameters
        out = empty_batch((len(views), n, *shape), torch.uint8)
        # host-sync: none for the three: CPU parameters (sampled on "cpu" above)
        lam = params.lam.numpy()  # host-sync: none, CPU
        cut = params.use_cutmix.numpy()  # host-sync: none, CPU
        boxes = params.boxes.numpy()  # host-sync: none, CPU
        out_np = out.numpy()  # host-sync: none, a host batch in the collate
        for j, arrays in enumerate(views):
            _collate_mix_uint8(arrays, out_np[j], lam, cut, boxes)
        y = self.mix_targets(target, params)
        if splits:
            y = y.repeat(num_splits, 1)
        return out.reshape(-1, *shape), y
