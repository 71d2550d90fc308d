"""CutMix boxes: sampling and lambda correction.

CutMix (Yun et al., 2019, "CutMix: Regularization Strategy to Train Strong Classifiers with Localizable
Features", arXiv:1905.04899) pastes a rectangle of one image into another and mixes the labels by the area
that was kept. This module follows the box helpers of the reference (``timm.data.mixup``, REFERENCE §8.1):

* :func:`rand_bbox`, :func:`rand_bbox_minmax` and :func:`cutmix_bbox_and_lam` keep the reference's
  signatures and return NumPy integers (or arrays when ``count`` is given, or ``lam`` is an array); their
  draws come from one NumPy generator (``rng``, default :func:`pixelpipe.rng.get_rng`).
* :func:`cutmix_boxes` is the same box and lambda for a ``(N,)`` tensor of lambdas, drawn from a
  ``torch.Generator`` on its device (what :meth:`pixelpipe.batch.Mixup.make_params` uses): the same
  distributions, and nothing read back to the host.

Boxes are half-open: rows ``y0 <= y < y1`` and columns ``x0 <= x < x1``.

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

from .._transfer import to_device
from ..errors import ConfigError
from ..rng import get_rng

__all__ = [
    "cutmix_bbox_and_lam",
    "cutmix_boxes",
    "rand_bbox",
    "rand_bbox_minmax",
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
    count: int | tuple[int, ...] | None = None,
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
        count: number of boxes, or the shape of the box arrays (``None``: one box, returned as scalars).
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


def _uniform_below(high: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """An integer uniform in ``[0, high)`` for each entry of ``high`` (``int64``, ``>= 1``), drawn on the
    generator's device (``torch.randint`` takes scalar bounds only)."""
    u = torch.rand(high.shape, generator=generator, device=generator.device, dtype=torch.float64)
    return torch.minimum((u * high).to(torch.int64), high - 1)


def cutmix_boxes(
    lam: torch.Tensor,
    img_shape: Sequence[int],
    ratio_minmax: Sequence[float] | None = None,
    correct_lam: bool = True,
    *,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One CutMix box per lambda, and the lambda that matches it, drawn from ``generator`` on its device.

    The distributions of :func:`cutmix_bbox_and_lam` (:func:`rand_bbox` with no margin, or
    :func:`rand_bbox_minmax`), for all entries of ``lam`` at once, with no read back to the host.

    Args:
        lam: ``(N,)`` mixing ratios (float; moved to the generator's device if needed).
        img_shape: a shape ending with ``(H, W)``.
        ratio_minmax: ``(min, max)`` side ratios, or ``None``.
        correct_lam: return the kept fraction ``1 - box_area / (H * W)`` (always with ``ratio_minmax``).
        generator: the source of randomness.

    Returns:
        ``int64`` ``(N, 4)`` half-open boxes ``(y0, y1, x0, x1)`` and ``float64`` ``(N,)`` lambdas.

    Example:
        >>> gen = torch.Generator().manual_seed(0)
        >>> boxes, lam = cutmix_boxes(torch.tensor([0.5, 0.75]), (32, 32), generator=gen)
        >>> area = (boxes[:, 1] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 2])
        >>> boxes.shape, bool(torch.equal(lam, 1 - area / 1024))
        (torch.Size([2, 4]), True)
    """
    h, w = _hw(img_shape)
    gen = generator
    dev = gen.device
    lam64 = to_device(lam, dev).to(torch.float64)
    n = tuple(lam64.shape)
    if ratio_minmax is not None:
        lo, hi = check_minmax(ratio_minmax)

        def side(s: int) -> torch.Tensor:
            a, b = int(s * lo), int(s * hi)
            return torch.randint(a, max(b, a + 1), n, generator=gen, device=dev)

        cut_h, cut_w = side(h), side(w)
        y0 = _uniform_below(h - cut_h + 1, gen)
        x0 = _uniform_below(w - cut_w + 1, gen)
        y1, x1 = y0 + cut_h, x0 + cut_w
    else:
        ratio = torch.sqrt((1.0 - lam64).clamp(0.0, 1.0))
        cut_h = (h * ratio).to(torch.int64)
        cut_w = (w * ratio).to(torch.int64)
        cy = torch.randint(0, h, n, generator=gen, device=dev)
        cx = torch.randint(0, w, n, generator=gen, device=dev)
        y0 = (cy - cut_h // 2).clamp(0, h)
        y1 = (cy + (cut_h + 1) // 2).clamp(0, h)
        x0 = (cx - cut_w // 2).clamp(0, w)
        x1 = (cx + (cut_w + 1) // 2).clamp(0, w)
    if correct_lam or ratio_minmax is not None:
        lam64 = 1.0 - ((y1 - y0) * (x1 - x0)).to(torch.float64) / float(h * w)
    return torch.stack([y0, y1, x0, x1], dim=-1), lam64
