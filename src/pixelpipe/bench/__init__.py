"""Benchmarks that ship with pixelpipe: ``pixelpipe bench`` (transform pipelines vs the reference).

:mod:`pixelpipe.bench.data` builds the benchmark JPEG sets locally (from a photos folder, or generated);
:mod:`pixelpipe.bench.transforms` runs the pipelines and prints the markdown table with ratios.
"""

from __future__ import annotations

from .data import find_photos, jpeg_set
from .transforms import ROWS, RowResult, bench_row, run

__all__ = ["ROWS", "RowResult", "bench_row", "find_photos", "jpeg_set", "run"]
