"""Throughput of batch-level augmentation: pixelpipe vs the reference (timm) in the same run.

Rows: ``Mixup`` (mixup 0.8 + CutMix 1.0, switch 0.5, the usual ImageNet recipe) in ``elem``, ``pair`` and
``batch`` modes on a float batch, ``FastCollateMixup`` on a list of ``uint8`` samples, and batched random
erasing when ``pixelpipe.transforms.erasing.RandomErasing`` exists. The reference mutates its input, so it
gets a fresh copy of the batch before every timed call (the copy is not timed); pixelpipe is timed both
returning a new tensor (default) and with ``inplace=True`` on a copy (what the loader's prefetcher does for
erasing). CPU times are process CPU times; use ``--threads 1`` for stable numbers on a shared machine.

Run ``python benchmarks/bench_batch.py`` (``--quick`` for a short smoke run); prints a Markdown table.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from pixelpipe.batch import FastCollateMixup, Mixup

RECIPE = dict(mixup_alpha=0.8, cutmix_alpha=1.0, switch_prob=0.5, label_smoothing=0.1, num_classes=1000)


def timed(fn: Callable[[Any], Any], setup: Callable[[], Any], repeats: int, device: torch.device) -> float:
    """Median seconds of ``fn(setup())`` over ``repeats`` runs after one warm-up; setup is not timed.

    On CPU the clock is the process's CPU time (user + system, so page faults count), which other
    processes on a shared machine disturb less than wall time; on CUDA it is wall time around syncs.
    """
    cuda = device.type == "cuda"
    clock = time.perf_counter if cuda else time.process_time

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize(device)

    times = []
    for k in range(repeats + 1):
        arg = setup()
        sync()
        t0 = clock()
        fn(arg)
        sync()
        if k:
            times.append(clock() - t0)
    return statistics.median(times)


def bench_mixup(device: torch.device, b: int, size: int, repeats: int) -> list[tuple[str, float, float]]:
    from timm.data.mixup import Mixup as RefMixup

    g = torch.Generator().manual_seed(0)
    x = torch.randn(b, 3, size, size, generator=g).to(device)
    t = torch.randint(0, 1000, (b,), generator=g).to(device)
    rows = []
    for mode in ("elem", "pair", "batch"):
        ref = RefMixup(mode=mode, **RECIPE)
        ours = Mixup(mode=mode, **RECIPE)
        ours_inplace = Mixup(mode=mode, inplace=True, **RECIPE)
        t_ref = timed(lambda xc, m=ref: m(xc, t), x.clone, repeats, device)
        t_ours = timed(lambda xc, m=ours: m(xc, t), lambda: x, repeats, device)
        t_inp = timed(lambda xc, m=ours_inplace: m(xc, t), x.clone, repeats, device)
        rows.append((f"Mixup {mode}", t_ref, t_ours))
        rows.append((f"Mixup {mode} (inplace)", t_ref, t_inp))
    return rows


def bench_collate(b: int, size: int, repeats: int) -> list[tuple[str, float, float]]:
    from timm.data.mixup import FastCollateMixup as RefCollate

    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 256, (3, size, size), dtype=np.uint8) for _ in range(b)]

    def fresh() -> list[tuple[np.ndarray, int]]:  # the reference writes into the arrays in pair mode
        return [(im.copy(), i % 1000) for i, im in enumerate(imgs)]

    rows = []
    for mode in ("elem", "pair", "half"):
        ref, ours = RefCollate(mode=mode, **RECIPE), FastCollateMixup(mode=mode, **RECIPE)
        cpu = torch.device("cpu")
        rows.append(
            (f"FastCollateMixup {mode}", timed(ref, fresh, repeats, cpu), timed(ours, fresh, repeats, cpu))
        )
    return rows


def bench_erasing(device: torch.device, b: int, size: int, repeats: int) -> list[tuple[str, float, float]]:
    try:
        from pixelpipe.transforms.erasing import RandomErasing
    except ImportError:
        return []
    from timm.data.random_erasing import RandomErasing as RefErasing

    x = torch.randn(b, 3, size, size, generator=torch.Generator().manual_seed(1)).to(device)
    rows = []
    for mode in ("pixel", "const"):
        kw = dict(probability=0.25, mode=mode, max_count=1, device=str(device))
        ref, ours, ours_inplace = RefErasing(**kw), RandomErasing(**kw), RandomErasing(inplace=True, **kw)
        t_ref = timed(ref, x.clone, repeats, device)
        if mode == "pixel":  # the default returns a new batch: a full copy that the in-place reference skips
            rows.append((f"RandomErasing {mode} p=0.25", t_ref, timed(ours, lambda: x, repeats, device)))
        t_inp = timed(ours_inplace, x.clone, repeats, device)  # as the loader's prefetcher calls it
        rows.append((f"RandomErasing {mode} p=0.25 (inplace)", t_ref, t_inp))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="batch 32, 112 px, 2 repeats")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = ap.parse_args()
    if args.quick:
        args.batch, args.size, args.repeats = 32, 112, 2
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    print(
        f"batch {args.batch} x 3x{args.size}x{args.size}, median of {args.repeats}; "
        f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, {platform.machine()}"
    )
    print()
    print("| device | op | reference ms | pixelpipe ms | pixelpipe img/s | speed-up |")
    print("|---|---|---:|---:|---:|---:|")
    for device in devices:
        rows = bench_mixup(device, args.batch, args.size, args.repeats)
        if device.type == "cpu":
            rows += bench_collate(args.batch, args.size, args.repeats)
        rows += bench_erasing(device, args.batch, args.size, args.repeats)
        name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
        for op, t_ref, t_ours in rows:
            print(
                f"| {name} | {op} | {t_ref * 1e3:.1f} | {t_ours * 1e3:.1f} | {args.batch / t_ours:,.0f} "
                f"| {t_ref / t_ours:.2f}x |"
            )


if __name__ == "__main__":
    main()
