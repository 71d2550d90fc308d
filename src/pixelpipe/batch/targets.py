"""Mixup / CutMix targets: one-hot class indices and mix them by each sample's lambda.

The targets side of :mod:`pixelpipe.batch.mixup` (REFERENCE §8.1, ``timm.data.mixup.one_hot`` and
``mixup_target``): label-smoothed one-hot rows mixed with the partner's, ``lam * y_i + (1 - lam) * y_j``,
for one lambda per batch or one per output row.
"""

from __future__ import annotations

import torch

from .._transfer import to_device
from ..errors import ConfigError

__all__ = ["mixup_target", "one_hot"]


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
