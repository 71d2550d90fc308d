"""Device-side augmentation vs the reference's CPU path: images per second per CPU core, GPU time per batch.

A thin wrapper around :mod:`pixelpipe.bench.device` (also ``pixelpipe bench --augment-on device``); see
there for what is measured. On a GPU machine add ``--resnet`` for the ResNet-50 step overhead; ``--write``
records the report in ``benchmarks/results/device_<machine>.md``.

    python benchmarks/bench_device.py --quick                 # a short run
    python benchmarks/bench_device.py --resnet --write        # the full run on a GPU machine
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Seed the reference's global random sources (timm draws from them), then run the benchmark."""
    import random

    import numpy as np

    from pixelpipe.bench.device import main as bench_main

    np.random.seed(0)
    random.seed(0)
    return bench_main(argv)


if __name__ == "__main__":
    sys.exit(main())
