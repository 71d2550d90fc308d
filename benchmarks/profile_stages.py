"""Where the time goes: per-stage CPU milliseconds per image, pixelpipe and the reference (timm).

Stages of each pipeline run one after another over the same JPEGs (the benchmark's ImageNet-sized set, one
thread, process CPU time, best of ``--rounds``): decode, the primary stage (random resized crop + flip, or
resize + centre crop for eval), the augmentation stage and the final conversion to a ``uint8`` tensor.
The reference decodes with PIL (``Image.open(...).convert('RGB')``); pixelpipe with ``torchvision.io``.

    uv run python benchmarks/profile_stages.py [--images 64] [--rounds 3]
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

PIPELINES = {
    "eval": dict(),
    "rand-m9-mstd0.5-inc1": dict(is_training=True, auto_augment="rand-m9-mstd0.5-inc1"),
    "augmix-m3-w3-d2": dict(is_training=True, auto_augment="augmix-m3-w3-d2"),
}


def _stage(fn: Callable[[Any], Any], inputs: Sequence[Any], rounds: int) -> tuple[float, list[Any]]:
    best, outs = float("inf"), []
    for _ in range(rounds):
        start = time.process_time()
        outs = []
        for x in inputs:
            try:
                outs.append(fn(x))
            except ValueError:  # the reference's Posterize(0 bits) crash on Pillow >= 12: keep the input
                outs.append(x)
        best = min(best, time.process_time() - start)
    return best / len(inputs) * 1e3, outs


def _stages(tf: Any, separate: Any, decode: Callable[[bytes], Any], images: list[bytes], rounds: int, **kw):
    cells = {}
    cells["decode"], x = _stage(decode, images, rounds)
    if separate is None:  # eval: one Compose of resize, centre crop, conversion
        cells["resize + crop"], x = _stage(
            lambda img: tf.transforms[1](tf.transforms[0](img, **kw), **kw), x, rounds
        )
        cells["augment"] = 0.0
        cells["to tensor"], x = _stage(lambda img: tf.transforms[2](img, **kw), x, rounds)
    else:
        primary, secondary, final = separate
        cells["crop + flip"], x = _stage(lambda img: primary(img, **kw), x, rounds)
        cells["augment"], x = _stage(lambda img: secondary(img, **kw), x, rounds)
        cells["to tensor"], x = _stage(lambda img: final(img, **kw), x, rounds)
    cells["total"] = sum(v for k, v in cells.items())
    return cells


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    import numpy as np
    import torch
    from PIL import Image
    from timm.data import create_transform as timm_create_transform

    from pixelpipe.bench.data import jpeg_set
    from pixelpipe.factories import create_transform
    from pixelpipe.io import decode_tensor
    from pixelpipe.rng import get_rng, manual_seed

    torch.set_num_threads(1)
    manual_seed(0)
    random.seed(0)
    np.random.seed(0)
    rng = get_rng()
    images = jpeg_set("imagenet", n=args.images)
    print(f"CPU ms per image by stage, {len(images)} ImageNet-sized JPEGs, 1 thread, best of {args.rounds}\n")
    print("| pipeline | library | decode | crop/resize (+ flip) | augment | to tensor | total |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, cfg in PIPELINES.items():
        train = cfg.get("is_training", False)
        ref_tf = timm_create_transform(224, use_prefetcher=True, **cfg)
        ref_sep = timm_create_transform(224, use_prefetcher=True, separate=True, **cfg) if train else None
        ours_tf = create_transform(224, use_prefetcher=True, **cfg)
        ours_sep = create_transform(224, use_prefetcher=True, separate=True, **cfg) if train else None
        rows = {
            "timm": _stages(
                ref_tf, ref_sep, lambda d: Image.open(io.BytesIO(d)).convert("RGB"), images, args.rounds
            ),
            "pixelpipe": _stages(ours_tf, ours_sep, decode_tensor, images, args.rounds, rng=rng),
        }
        for lib, c in rows.items():
            crop = c.get("crop + flip", c.get("resize + crop", 0.0))
            print(
                f"| {name} | {lib} | {c['decode']:.2f} | {crop:.2f} | {c['augment']:.2f} | "
                f"{c['to tensor']:.2f} | {c['total']:.2f} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
