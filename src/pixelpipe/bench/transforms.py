"""Transform pipelines, pixelpipe vs the reference (timm), images per second on one core.

Both sides start from the same JPEG bytes and include decoding: the reference opens with PIL and converts
to RGB, then runs its ``create_transform(..., use_prefetcher=True)`` (uint8 tensor out). pixelpipe decodes
with ``torchvision.io`` straight to a uint8 tensor (train, as ``create_loader`` does: the crop window is drawn
from the header first and large JPEGs are decoded at reduced DCT scale where the output resolution allows)
and runs the stages of its own ``create_transform`` (uint8 tensor out): all on tensors ("tensor"), or with
the augmentation stage on PIL ("hybrid"). Rounds alternate between the runners; the table shows medians and
the best ratio. Without timm installed (a dev dependency only) the reference column reads "n/a".

    pixelpipe bench            # full run
    pixelpipe bench --quick    # a short run
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from .data import jpeg_set

__all__ = ["ROWS", "RowResult", "add_arguments", "bench_row", "main", "run"]

#: (table label, JPEG set kind, ``create_transform`` keyword arguments) per row.
ROWS: list[tuple[str, str, dict[str, Any]]] = [
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
#: Row names accepted by ``--rows`` besides 1-based numbers.
ROW_NAMES = {"eval": 1, "rand": 2, "rand-n3": 3, "augmix": 4, "large": 5}
HEADER = "| pipeline | reference | pixelpipe (tensor) | pixelpipe (hybrid) | best ratio |"

Runner = Callable[[bytes], object]
Clock = Callable[[], float]


@dataclass
class RowResult:
    """One table row: median images/sec (``None``: not measured) and notes."""

    name: str
    reference: float | None = None
    ours: list[float] = field(default_factory=list)
    skip: str | None = None
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        """The markdown table line.

        >>> RowResult("eval", reference=None, ours=[10.0]).line()
        '| eval | n/a | 10.0 | - | n/a |'
        >>> RowResult("train", reference=10.0, ours=[20.0, 25.0]).line()
        '| train | 10.0 | 20.0 | 25.0 | 2.50x |'
        """
        if self.skip:
            return f"| {self.name} | - | - | - | skipped |"
        cells = " | ".join(f"{r:.1f}" for r in self.ours) + (" | -" if len(self.ours) == 1 else "")
        if self.reference is None:
            return f"| {self.name} | n/a | {cells} | n/a |"
        return f"| {self.name} | {self.reference:.1f} | {cells} | {max(self.ours) / self.reference:.2f}x |"


def _reference_runner(cfg: dict[str, Any]) -> Runner:
    from PIL import Image
    from timm.data import create_transform

    tf = create_transform(224, use_prefetcher=True, **cfg)

    def run(data: bytes) -> object:
        return tf(Image.open(io.BytesIO(data)).convert("RGB"))

    return run


def _ours_runner(cfg: dict[str, Any], path: str = "tensor") -> Runner:
    """pixelpipe's pipeline on uint8 tensors.

    Eval: the public path, ``pixelpipe.io.decode_tensor`` then ``create_transform``. Train with
    ``path='tensor'``: what ``create_loader``'s workers run, ``fuse_decode(create_transform(...))`` on an
    :class:`~pixelpipe.io.EncodedImage` (the crop window drawn from the header and the decode fused with the
    random resized crop, reduced DCT scale where it keeps the output resolution; flip and augmentation on the
    uint8 tensor, the augment ops through the OpenCV/Pillow CPU backend); ``path='hybrid'``: the random
    resized crop is decided from the JPEG header and decoded at reduced DCT scale where that keeps the output
    resolution (:class:`~pixelpipe.transforms.DecodeRandomResizedCrop`), resized on tensors and handed over
    as a PIL image, the flip and augmentation stage run on PIL, one conversion back at the end.
    """
    from ..io import EncodedImage, decode_tensor
    from ..rng import get_rng
    from ..transforms import Compose, DecodeRandomResizedCrop, create_transform
    from ..transforms.decode_crop import fuse_decode

    rng = get_rng()
    if not cfg.get("is_training"):
        tf = create_transform(224, use_prefetcher=True, **cfg)
        return lambda data: tf(decode_tensor(data), rng=rng)
    primary, secondary, final = create_transform(224, use_prefetcher=True, separate=True, **cfg)
    if path == "tensor":  # the loader's path: decode fused with the crop, every stage on tensors
        fused = fuse_decode(create_transform(224, use_prefetcher=True, **cfg))
        return lambda data: fused(EncodedImage(data), rng=rng)
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


def _rate(run: Runner, images: list[bytes], errors: list[str], clock: Clock) -> float:
    start = clock()
    done = 0
    for data in images:
        try:
            run(data)
            done += 1
        except Exception as e:  # the reference crashes on some draws (Posterize with 0 bits on Pillow >= 12)
            errors.append(f"{type(e).__name__}: {e}")
    return done / max(clock() - start, 1e-9)


def _progress(iterable: Iterable[int], total: int, desc: str, show: bool) -> Iterable[int]:
    if not show:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="round", leave=False, dynamic_ncols=True)


def bench_row(
    name: str,
    kind: str,
    cfg: dict[str, Any],
    rounds: int,
    n: int,
    *,
    clock: Clock = time.process_time,
    photos: str | None = None,
    progress: bool = False,
) -> RowResult:
    """Median images/sec of the reference and pixelpipe's tensor path (+ hybrid path when training).

    Without timm, the reference is ``None`` and only pixelpipe is measured.
    """
    row = RowResult(name)
    try:
        runners = [_ours_runner(cfg, "tensor")]
        if cfg.get("is_training"):
            runners.append(_ours_runner(cfg, "hybrid"))
    except Exception as e:
        row.skip = f"pixelpipe pipeline unavailable ({type(e).__name__}: {e})"
        return row
    has_ref = True
    try:
        runners.insert(0, _reference_runner(cfg))
    except ImportError as e:  # timm is a dev dependency only
        has_ref = False
        row.notes.append(f"reference unavailable ({type(e).__name__}: {e})")
    except Exception as e:
        row.skip = f"reference unavailable ({type(e).__name__}: {e})"
        return row
    images = jpeg_set(kind, n=n, photos=photos)
    errors: list[list[str]] = [[] for _ in runners]
    for run_ in runners:  # warm up
        _rate(run_, images[:4], [], clock)
    rates: list[list[float]] = [[] for _ in runners]
    for _ in _progress(range(rounds), rounds, name, progress):  # interleaved rounds
        for i, run_ in enumerate(runners):
            rates[i].append(_rate(run_, images, errors[i], clock))
    ours_from = 1 if has_ref else 0
    for errs in errors[ours_from:]:
        if errs:
            row.skip = f"pixelpipe failed: {errs[0]}"
            return row
    medians = [statistics.median(r) for r in rates]
    if has_ref:
        row.reference = medians[0]
        if errors[0]:
            row.notes.append(f"reference raised {len(errors[0])} time(s), e.g. {errors[0][0]}")
    row.ours = medians[ours_from:]
    return row


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The benchmark's flags (shared by ``pixelpipe bench`` and ``benchmarks/bench_transforms.py``)."""
    parser.add_argument("--quick", action="store_true", help="fewer images and rounds (32 x 3)")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds per row (default 5)")
    parser.add_argument("--images", type=int, default=None, help="JPEGs per round (default 64)")
    parser.add_argument(
        "--rows",
        default="",
        help="comma-separated rows to run: 1-based numbers or names (" + ", ".join(ROW_NAMES) + ")",
    )
    parser.add_argument("--wall", action="store_true", help="wall-clock time instead of process CPU time")
    parser.add_argument(
        "--photos",
        default=None,
        help="folder of photos to cut the JPEGs from (default: $PIXELPIPE_PHOTOS, or the checkout's "
        "../shared/photos; otherwise generated images)",
    )


def _parse_rows(spec: str) -> set[int]:
    wanted = set()
    for part in (x.strip() for x in spec.split(",")):
        if not part:
            continue
        if part in ROW_NAMES:
            wanted.add(ROW_NAMES[part])
        elif part.isdigit() and 1 <= int(part) <= len(ROWS):
            wanted.add(int(part))
        else:
            raise ValueError(f"unknown row {part!r}: use 1-{len(ROWS)} or one of {', '.join(ROW_NAMES)}")
    return wanted


def run(args: argparse.Namespace, out: TextIO | None = None, progress: bool | None = None) -> list[RowResult]:
    """Run the benchmark for parsed ``args`` (see :func:`add_arguments`), printing the table to ``out``.

    ``progress``: a tqdm bar over rounds; by default only when stderr is a terminal. Uses one torch thread
    while it runs and restores the previous setting afterwards.
    """
    import torch

    out = sys.stdout if out is None else out
    progress = sys.stderr.isatty() if progress is None else progress
    for flag in ("rounds", "images"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise ValueError(f"--{flag} must be at least 1, got {value}")
    wanted = _parse_rows(args.rows)
    clock = time.perf_counter if args.wall else time.process_time
    rounds = args.rounds or (3 if args.quick else 5)
    n = args.images or (32 if args.quick else 64)

    from .. import rng as prng

    prng.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    results: list[RowResult] = []
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            kind = "wall-clock" if args.wall else "process CPU"
            setup = f"1 thread, {n} JPEGs x {rounds} rounds (median), decode included"
            print(f"images/sec ({kind} time), {setup}\n", file=out)
            print(HEADER, file=out)
            print("|---|---:|---:|---:|---:|", file=out, flush=True)
            for i, (name, set_kind, cfg) in enumerate(ROWS, 1):
                if wanted and i not in wanted:
                    continue
                rows_n = max(8, n // 4) if set_kind == "large" else n
                row = bench_row(
                    name, set_kind, cfg, rounds, rows_n, clock=clock, photos=args.photos, progress=progress
                )
                results.append(row)
                print(row.line(), file=out, flush=True)
    finally:
        torch.set_num_threads(threads)
    notes = [f"{r.name}: {note}" for r in results for note in ([r.skip] if r.skip else r.notes)]
    for note in notes:
        print(f"\nnote: {note}", file=out)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """The benchmark as a stand-alone command (``python -m pixelpipe.bench.transforms``)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        run(args)
    except (ValueError, FileNotFoundError) as e:
        parser.error(str(e))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
