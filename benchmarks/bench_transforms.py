"""Transform pipelines, pixelpipe vs the reference (timm), images per second on one core.

Both sides start from the same JPEG bytes and include decoding: the reference opens with PIL and converts
to RGB, then runs its ``create_transform(..., use_prefetcher=True)`` (uint8 tensor out). pixelpipe decodes
with ``torchvision.io`` straight to a uint8 tensor (train: the crop window is drawn from the header first and
large JPEGs are decoded at reduced DCT scale where the output resolution allows) and runs the stages of its
own ``create_transform`` (uint8 tensor out): all on tensors ("tensor"), or with the augmentation stage on PIL
("hybrid"). Rounds alternate between the runners; the table shows medians and the best ratio.

    python benchmarks/bench_transforms.py            # full run
    python benchmarks/bench_transforms.py --quick    # a short run
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import jpeg_set

ROWS = [
    ("eval `create_transform(224)`", "imagenet", dict()),
    ("train `rand-m9-mstd0.5-inc1`", "imagenet", dict(is_training=True, auto_augment="rand-m9-mstd0.5-inc1")),
    ("train `rand-m9-n3-mstd0.5`", "imagenet", dict(is_training=True, auto_augment="rand-m9-n3-mstd0.5")),
    ("train `augmix-m3-w3-d2`", "imagenet", dict(is_training=True, auto_augment="augmix-m3-w3-d2")),
    (
        "train `rand-m9-mstd0.5-inc1`, large photos",
        "large",
        dict(is_training=True, auto_augment="rand-m9-mstd0.5-inc1"),
    ),
]


def _reference_runner(cfg: dict) -> Callable[[bytes], object]:
    from PIL import Image
    from timm.data import create_transform

    tf = create_transform(224, use_prefetcher=True, **cfg)

    def run(data: bytes):
        return tf(Image.open(io.BytesIO(data)).convert("RGB"))

    return run


def _ours_runner(cfg: dict, path: str = "tensor") -> Callable[[bytes], object]:
    """pixelpipe's pipeline on uint8 tensors.

    Eval: ``torchvision.io`` decode, then ``create_transform``. Train, ``path='tensor'``: the public path,
    ``pixelpipe.io.decode_tensor`` then ``create_transform`` (crop, flip and augmentation all on the uint8
    tensor, the augment ops through the OpenCV/Pillow CPU backend); ``path='hybrid'``: the random resized
    crop is decided from the JPEG header and decoded at reduced DCT scale where that keeps the output
    resolution (:class:`~pixelpipe.transforms.DecodeRandomResizedCrop`), resized on tensors and handed over
    as a PIL image, the flip and augmentation stage run on PIL, one conversion back at the end.
    """
    from torchvision.io import ImageReadMode, decode_jpeg

    from pixelpipe.rng import get_rng
    from pixelpipe.transforms import Compose, DecodeRandomResizedCrop, create_transform

    rng = get_rng()
    if not cfg.get("is_training"):
        tf = create_transform(224, use_prefetcher=True, **cfg)

        def run_eval(data: bytes):
            img = decode_jpeg(torch.frombuffer(bytearray(data), dtype=torch.uint8), mode=ImageReadMode.RGB)
            return tf(img, rng=rng)

        return run_eval
    primary, secondary, final = create_transform(224, use_prefetcher=True, separate=True, **cfg)
    if path == "tensor":  # the public path: decode_tensor + create_transform, every stage on tensors
        from pixelpipe.io import decode_tensor

        tf = create_transform(224, use_prefetcher=True, **cfg)
        return lambda data: tf(decode_tensor(data), rng=rng)
    # decode + crop + resize to a PIL image in one step, flip and augment on PIL, convert once at the end
    pipe = Compose(
        [
            DecodeRandomResizedCrop(rrc=primary[0], output="pil"),
            *primary.transforms[1:],
            *secondary.transforms,
            *final.transforms,
        ]
    )
    return lambda data: pipe(data, rng=rng)


CLOCK = time.process_time  # CPU time of this process: robust on a shared machine (1 thread, so ~ wall time)


def _rate(run: Callable[[bytes], object], images: list[bytes], errors: list[str]) -> float:
    start = CLOCK()
    done = 0
    for data in images:
        try:
            run(data)
            done += 1
        except Exception as e:  # the reference crashes on some draws (Posterize with 0 bits on Pillow >= 12)
            errors.append(f"{type(e).__name__}: {e}")
    return done / (CLOCK() - start)


def bench_row(kind: str, cfg: dict, rounds: int, n: int) -> tuple[list[float], list[str], str | None]:
    """Median images/sec of [reference, pixelpipe tensor path, pixelpipe hybrid path (train only)]."""
    try:
        runners = [_ours_runner(cfg, "tensor")]
        if cfg.get("is_training"):
            runners.append(_ours_runner(cfg, "hybrid"))
    except Exception as e:
        return [], [], f"pixelpipe pipeline unavailable ({type(e).__name__}: {e})"
    try:
        runners.insert(0, _reference_runner(cfg))
    except Exception as e:
        return [], [], f"reference unavailable ({type(e).__name__}: {e})"
    images = jpeg_set(kind, n=n)
    errors: list[list[str]] = [[] for _ in runners]
    for run in runners:  # warm up
        _rate(run, images[:4], [])
    rates: list[list[float]] = [[] for _ in runners]
    for _ in range(rounds):  # interleaved rounds
        for i, run in enumerate(runners):
            rates[i].append(_rate(run, images, errors[i]))
    for errs in errors[1:]:
        if errs:
            return [], [], f"pixelpipe failed: {errs[0]}"
    return [statistics.median(r) for r in rates], errors[0], None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer images and rounds")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--images", type=int, default=None)
    parser.add_argument("--rows", default="", help="comma-separated row numbers (1-based) to run")
    parser.add_argument("--wall", action="store_true", help="wall-clock time instead of process CPU time")
    args = parser.parse_args(argv)
    global CLOCK
    CLOCK = time.perf_counter if args.wall else time.process_time
    rounds = args.rounds or (3 if args.quick else 5)
    n = args.images or (32 if args.quick else 64)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    import numpy as np

    import pixelpipe.rng

    pixelpipe.rng.manual_seed(0)
    np.random.seed(0)
    import random

    random.seed(0)
    wanted = {int(x) for x in args.rows.split(",") if x}
    clock = "wall-clock" if args.wall else "process CPU"
    print(f"images/sec ({clock} time), 1 thread, {n} JPEGs x {rounds} rounds (median), decode included\n")
    print("| pipeline | reference | pixelpipe (tensor) | pixelpipe (hybrid) | best ratio |")
    print("|---|---:|---:|---:|---:|")
    notes = []
    for i, (name, kind, cfg) in enumerate(ROWS, 1):
        if wanted and i not in wanted:
            continue
        rows_n = max(8, n // 4) if kind == "large" else n
        rates, ref_errors, skip = bench_row(kind, cfg, rounds, rows_n)
        if skip:
            print(f"| {name} | - | - | - | skipped |")
            notes.append(f"{name}: {skip}")
            continue
        ref, ours = rates[0], rates[1:]
        cells = " | ".join(f"{r:.1f}" for r in ours) + (" | -" if len(ours) == 1 else "")
        print(f"| {name} | {ref:.1f} | {cells} | {max(ours) / ref:.2f}x |", flush=True)
        if ref_errors:
            notes.append(f"{name}: reference raised {len(ref_errors)} time(s), e.g. {ref_errors[0]}")
    for note in notes:
        print(f"\nnote: {note}")


if __name__ == "__main__":
    main()
