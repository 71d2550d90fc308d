"""Mixup / CutMix applied to images: the parameters of one call and the pure function that applies them.

:class:`MixupParams` holds what :meth:`pixelpipe.batch.mixup.Mixup.sample_params` draws; :func:`mix_images`
applies it. On accelerators the images are mixed with masks and one gather, without a Python loop over the
batch. On CPU, where mixing is bound by memory traffic, large floating samples are mixed one mirrored pair
at a time (:mod:`pixelpipe.batch._cpu_pairs`), and small ones by the batched kernels over blocks of a few
pairs that stay in cache; both give the same bits.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch

from .._transfer import to_device
from ..errors import ConfigError
from ..memory import advise_huge_pages
from ._cpu_pairs import _mix_pairs_cpu

__all__ = ["MixupParams", "mix_images"]


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
