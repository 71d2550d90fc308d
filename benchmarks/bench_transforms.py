"""Transform pipelines, pixelpipe vs the reference (timm), images per second on one core.

A thin wrapper around :mod:`pixelpipe.bench.transforms` (also ``pixelpipe bench``); see there for what is
measured. Same flags and output as ``pixelpipe bench``.

    python benchmarks/bench_transforms.py            # full run
    python benchmarks/bench_transforms.py --quick    # a short run
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Seed the reference's global random sources (timm draws from them), then run the benchmark."""
    import random

    import numpy as np

    from pixelpipe.bench.transforms import main as bench_main

    # pixelpipe never draws from these; the reference does, so seeding them keeps its draws repeatable.
    np.random.seed(0)
    random.seed(0)
    return bench_main(argv)


if __name__ == "__main__":
    sys.exit(main())
