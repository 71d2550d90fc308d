"""Two-sample Kolmogorov-Smirnov helpers for the distribution tests (scipy is not a dependency)."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["ks_critical", "ks_statistic"]


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """The largest gap between the empirical CDFs of ``a`` and ``b``."""
    a, b = np.sort(np.asarray(a, dtype=float)), np.sort(np.asarray(b, dtype=float))
    grid = np.concatenate([a, b])
    fa = np.searchsorted(a, grid, side="right") / a.size
    fb = np.searchsorted(b, grid, side="right") / b.size
    return float(np.abs(fa - fb).max())


def ks_critical(n: int, m: int, c_alpha: float = 1.95) -> float:
    """Critical value for sample sizes ``n`` and ``m``; ``c_alpha=1.95`` is alpha of about 0.001."""
    return c_alpha * math.sqrt((n + m) / (n * m))
