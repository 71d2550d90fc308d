"""Each op kind's per-image CPU kernel against its batched kernel at batch size 1 (the measurement an op's
``cpu=`` kernel must pass, see ARCHITECTURE.md, "The op spec").

224 x 224 RGB ``uint8``, channels-last memory (what the decoders return), one thread, median µs per call.

    python benchmarks/bench_op_kernels.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from pixelpipe.ops import KINDS, OpKind
from pixelpipe.ops._image import apply_image
from pixelpipe.ops.geometric import affine_image

ARGS = {"posterize": 5, "solarize": 128, "solarize_add": 60, "gaussian_blur": 1.0, "rotate": 13.0}
GEOMETRIC_ARGS = {"shear_x": 0.2, "shear_y": 0.2, "translate_x": 30.0, "translate_y": 30.0}


def _median_us(fn: Callable[[], object], repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    ramp = np.add.outer(np.arange(224), np.arange(224))[:, :, None] * np.array([0.5, 0.3, 0.2])
    img = torch.from_numpy((ramp + rng.integers(0, 40, (224, 224, 3))).astype(np.uint8)).permute(2, 0, 1)
    print("| kind | per-image CPU kernel µs | batched kernel at B=1 µs |")
    print("|---|---:|---:|")
    for name, kind in KINDS.items():
        arg = ARGS.get(name, GEOMETRIC_ARGS.get(name, 0.1 if name.endswith("_rel") else 1.5))
        modes = ("bilinear", "bicubic", "nearest") if kind.geometric else ("",)
        for mode in modes:
            if kind.geometric and kind.matrix is not None:
                m = kind.matrix(torch.tensor([float(arg)], dtype=torch.float64), 224, 224)
                batched: Callable[[], object] = lambda m=m, mode=mode: affine_image(img, m, 128, mode)  # noqa: E731
            else:
                bare = OpKind(
                    kind.name, kind.pil, kind.batched, None, kind.arg_dtype, host_static=kind.host_static
                )
                batched = lambda bare=bare, arg=arg: apply_image(bare, img, arg)  # noqa: E731
            per = "-"
            interp = mode or "bilinear"
            if kind.cpu is not None:
                us = _median_us(
                    lambda kind=kind, arg=arg, interp=interp: apply_image(kind, img, arg, 128, interp),
                    args.repeat,
                )
                per = f"{us:.0f}"
            label = f"{name}/{mode}" if mode else name
            repeat = max(3, args.repeat // 6) if kind.geometric else args.repeat
            print(f"| {label} | {per} | {_median_us(batched, repeat):.0f} |")


if __name__ == "__main__":
    main()
