"""CutMix boxes: sampling, lambda correction and masks.

CutMix (Yun et al., 2019, "CutMix: Regularization Strategy to Train Strong Classifiers with Localizable
Features", arXiv:1905.04899) pastes a rectangle of one image into another and mixes the labels by the area
that was kept. This module follows the box helpers of the reference (``timm.data.mixup``, REFERENCE §8.1):

* :func:`rand_bbox`, :func:`rand_bbox_minmax` and :func:`cutmix_bbox_and_lam` keep the reference's
  signatures and return NumPy integers (or arrays when ``count`` is given, or ``lam`` is an array);
* :func:`rand_bbox_batch`, :func:`rand_bbox_minmax_batch` and :func:`cutmix_bbox_and_lam_batch` take and
  return ``(B,)`` tensors, boxes as one ``(B, 4)`` ``int64`` tensor of ``(y0, y1, x0, x1)``;
* :func:`box_mask` turns ``(B, 4)`` boxes into a ``(B, H, W)`` boolean mask on the boxes' device.

Boxes are half-open: rows ``y0 <= y < y1`` and columns ``x0 <= x < x1``. Random draws come from one NumPy
generator (``rng``, default :func:`pixelpipe.rng.get_rng`); a box is a handful of integers, so it is drawn on
the host and only the result moves to the device.

Differences from the reference snapshot (1.0.29), both as in later upstream releases:

* ``rand_bbox_minmax`` may start a box at the last valid row or column (inclusive upper bound for the
  origin); the snapshot never did, which biased boxes away from the bottom and right borders.
* ``rand_bbox`` makes an unclipped box exactly ``int(H * sqrt(1 - lam))`` rows tall (the extra row of an
  odd size goes below the centre); the snapshot made odd sizes one row short.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..errors import ConfigError
from ..rng import get_rng

__all__ = [
    "box_mask",
    "cutmix_bbox_and_lam",
    "cutmix_bbox_and_lam_batch",
    "rand_bbox",
    "rand_bbox_batch",
    "rand_bbox_minmax",
    "rand_bbox_minmax_batch",
]

ArrayLike = float | np.ndarray


def _hw(img_shape: Sequence[int]) -> tuple[int, int]:
    if len(img_shape) < 2:
        raise ConfigError(f"img_shape must end with (H, W), got {tuple(img_shape)!r}")
    h, w = int(img_shape[-2]), int(img_shape[-1])
    if h < 1 or w < 1:
        raise ConfigError(f"img_shape must have H, W >= 1, got {tuple(img_shape)!r}")
    return h, w


def check_minmax(minmax: Sequence[float], name: str = "minmax") -> tuple[float, float]:
    """Validate a ``(min, max)`` box-size ratio pair: ``0 <= min < max <= 1``."""
    try:
        lo, hi = (float(v) for v in minmax)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be two ratios (min, max), got {minmax!r}") from None
    if not 0.0 <= lo < hi <= 1.0:
        raise ConfigError(f"{name} must satisfy 0 <= min < max <= 1, got {minmax!r}")
    return lo, hi


def rand_bbox(
    img_shape: Sequence[int],
    lam: ArrayLike,
    margin: float = 0.0,
    count: int | None = None,
    *,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A CutMix box of ``(1 - lam)`` of the image area, centred uniformly, clipped to the image.

    The box is ``int(H * sqrt(1 - lam))`` by ``int(W * sqrt(1 - lam))`` before clipping. Its centre row is
    uniform in ``[margin_y, H - margin_y)`` with ``margin_y = int(margin * cut_h)``, likewise for columns.

    Args:
        img_shape: a shape ending with ``(H, W)``.
        lam: the mixing ratio in ``[0, 1]``; a scalar, or an array giving one box per value.
        margin: keep the centre this fraction of the box size away from the borders.
        count: number of boxes for a scalar ``lam`` (``None``: one box, returned as scalars).
        rng: NumPy generator (default :func:`pixelpipe.rng.get_rng`).

    Returns:
        ``(y0, y1, x0, x1)``, half-open bounds.

    Example:
        >>> y0, y1, x0, x1 = rand_bbox((3, 32, 32), 0.75, rng=np.random.default_rng(0))
        >>> int(y1 - y0) <= 16 and int(x1 - x0) <= 16
        True
    """
    h, w = _hw(img_shape)
    rng = rng if rng is not None else get_rng()
    lam_arr = np.asarray(lam, dtype=np.float64)
    size = count if lam_arr.ndim == 0 else lam_arr.shape
    ratio = np.sqrt(np.clip(1.0 - lam_arr, 0.0, 1.0))
    cut_h = (h * ratio).astype(np.int64)
    cut_w = (w * ratio).astype(np.int64)
    m_y = (margin * cut_h).astype(np.int64)
    m_x = (margin * cut_w).astype(np.int64)
    if np.any(h - 2 * m_y < 1) or np.any(w - 2 * m_x < 1):
        raise ConfigError(f"margin={margin} leaves no room for the box centre in a {h}x{w} image")
    cy = rng.integers(m_y, h - m_y, size=size)
    cx = rng.integers(m_x, w - m_x, size=size)
    y0 = np.clip(cy - cut_h // 2, 0, h)
    y1 = np.clip(cy + (cut_h + 1) // 2, 0, h)
    x0 = np.clip(cx - cut_w // 2, 0, w)
    x1 = np.clip(cx + (cut_w + 1) // 2, 0, w)
    return y0, y1, x0, x1


def rand_bbox_minmax(
    img_shape: Sequence[int],
    minmax: Sequence[float],
    count: int | None = None,
    *,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A CutMix box whose sides are random fractions of the image sides, placed uniformly inside it.

    Height is uniform in ``[int(H * min), int(H * max))`` (at least the lower bound), width likewise, and
    the top-left corner uniform over every position that keeps the box inside the image, the last row and
    column included.

    Args:
        img_shape: a shape ending with ``(H, W)``.
        minmax: ``(min, max)`` side ratios with ``0 <= min < max <= 1``.
        count: number of boxes (``None``: one box, returned as scalars).
        rng: NumPy generator (default :func:`pixelpipe.rng.get_rng`).

    Returns:
        ``(y0, y1, x0, x1)``, half-open bounds.

    Example:
        >>> y0, y1, x0, x1 = rand_bbox_minmax((8, 8), (0.25, 0.75), count=1000, rng=np.random.default_rng(0))
        >>> bool((y1 <= 8).all() and (y1 - y0 >= 2).all() and (y1 - y0 < 6).all())
        True
        >>> bool((y1 == 8).any())  # a box can touch the bottom border
        True
    """
    h, w = _hw(img_shape)
    lo, hi = check_minmax(minmax)
    rng = rng if rng is not None else get_rng()

    def side(n: int) -> np.ndarray:
        a, b = int(n * lo), int(n * hi)
        return rng.integers(a, max(b, a + 1), size=count)

    cut_h, cut_w = side(h), side(w)
    y0 = rng.integers(0, h - cut_h + 1, size=count)
    x0 = rng.integers(0, w - cut_w + 1, size=count)
    return y0, y0 + cut_h, x0, x0 + cut_w


def cutmix_bbox_and_lam(
    img_shape: Sequence[int],
    lam: ArrayLike,
    ratio_minmax: Sequence[float] | None = None,
    correct_lam: bool = True,
    count: int | None = None,
    *,
    rng: np.random.Generator | None = None,
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], ArrayLike]:
    """A CutMix box and the lambda that matches it.

    With ``ratio_minmax`` the box comes from :func:`rand_bbox_minmax` (``lam`` only sets the count), else
    from :func:`rand_bbox`. When ``correct_lam`` is true or ``ratio_minmax`` is set, the returned lambda is
    the kept fraction of the image, ``1 - box_area / (H * W)``; otherwise ``lam`` is returned unchanged.

    Example:
        >>> (y0, y1, x0, x1), lam = cutmix_bbox_and_lam((32, 32), 0.5, rng=np.random.default_rng(1))
        >>> bool(lam == 1 - (y1 - y0) * (x1 - x0) / 1024)
        True
    """
    h, w = _hw(img_shape)
    lam_arr = np.asarray(lam, dtype=np.float64)
    if ratio_minmax is not None:
        n = count if lam_arr.ndim == 0 else lam_arr.shape
        y0, y1, x0, x1 = rand_bbox_minmax(img_shape, ratio_minmax, count=n, rng=rng)
    else:
        y0, y1, x0, x1 = rand_bbox(img_shape, lam, count=count, rng=rng)
    if correct_lam or ratio_minmax is not None:
        lam = 1.0 - (y1 - y0) * (x1 - x0) / float(h * w)
    return (y0, y1, x0, x1), lam


def _host_lam(lam: torch.Tensor | np.ndarray | Sequence[float]) -> tuple[np.ndarray, torch.device]:
    if isinstance(lam, torch.Tensor):
        return lam.detach().reshape(-1).double().cpu().numpy(), lam.device
    return np.asarray(lam, dtype=np.float64).reshape(-1), torch.device("cpu")


def _boxes_tensor(parts: Sequence[np.ndarray], n: int, device: torch.device) -> torch.Tensor:
    arr = np.stack([np.broadcast_to(np.asarray(p, dtype=np.int64), (n,)) for p in parts], axis=1)
    return torch.from_numpy(np.ascontiguousarray(arr)).to(device)


def rand_bbox_batch(
    img_shape: Sequence[int],
    lam: torch.Tensor,
    margin: float = 0.0,
    *,
    rng: np.random.Generator | None = None,
) -> torch.Tensor:
    """:func:`rand_bbox` for a ``(B,)`` tensor of lambdas: one box per sample, as a ``(B, 4)`` tensor.

    Boxes are drawn on the host (a ``lam`` on an accelerator is copied to the host) and returned on
    ``lam``'s device as ``int64`` rows ``(y0, y1, x0, x1)``.

    Example:
        >>> boxes = rand_bbox_batch((16, 16), torch.tensor([1.0, 0.75]), rng=np.random.default_rng(0))
        >>> boxes.shape, int(boxes[0, 1] - boxes[0, 0])
        (torch.Size([2, 4]), 0)
    """
    lam_np, device = _host_lam(lam)
    return _boxes_tensor(rand_bbox(img_shape, lam_np, margin, rng=rng), len(lam_np), device)


def rand_bbox_minmax_batch(
    img_shape: Sequence[int],
    minmax: Sequence[float],
    batch_size: int,
    device: torch.device | str | None = None,
    *,
    rng: np.random.Generator | None = None,
) -> torch.Tensor:
    """:func:`rand_bbox_minmax` for ``batch_size`` samples, as a ``(B, 4)`` ``int64`` tensor on ``device``.

    Example:
        >>> rand_bbox_minmax_batch((16, 16), (0.2, 0.8), 3, rng=np.random.default_rng(0)).shape
        torch.Size([3, 4])
    """
    parts = rand_bbox_minmax(img_shape, minmax, count=int(batch_size), rng=rng)
    return _boxes_tensor(parts, int(batch_size), torch.device(device or "cpu"))


def cutmix_bbox_and_lam_batch(
    img_shape: Sequence[int],
    lam: torch.Tensor,
    ratio_minmax: Sequence[float] | None = None,
    correct_lam: bool = True,
    *,
    rng: np.random.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`cutmix_bbox_and_lam` per sample: ``(B, 4)`` boxes and ``(B,)`` lambdas (``float32``).

    Example:
        >>> lam = torch.full((4,), 0.5)
        >>> boxes, lam = cutmix_bbox_and_lam_batch((8, 8), lam, rng=np.random.default_rng(0))
        >>> area = (boxes[:, 1] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 2])
        >>> torch.allclose(lam, 1 - area / 64.0)
        True
    """
    lam_np, device = _host_lam(lam)
    parts, lam_out = cutmix_bbox_and_lam(img_shape, lam_np, ratio_minmax, correct_lam, rng=rng)
    boxes = _boxes_tensor(parts, len(lam_np), device)
    lam_t = torch.from_numpy(np.asarray(lam_out, dtype=np.float32).reshape(-1)).to(device)
    return boxes, lam_t


def box_mask(boxes: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """A ``(B, H, W)`` boolean mask, true inside each sample's half-open box ``(y0, y1, x0, x1)``.

    Example:
        >>> box_mask(torch.tensor([[1, 3, 0, 2]]), 4, 3).int()[0]
        tensor([[0, 0, 0],
                [1, 1, 0],
                [1, 1, 0],
                [0, 0, 0]], dtype=torch.int32)
    """
    dev = boxes.device
    rows = torch.arange(height, device=dev)
    cols = torch.arange(width, device=dev)
    in_y = (rows >= boxes[:, 0:1]) & (rows < boxes[:, 1:2])
    in_x = (cols >= boxes[:, 2:3]) & (cols < boxes[:, 3:4])
    return in_y[:, :, None] & in_x[:, None, :]
