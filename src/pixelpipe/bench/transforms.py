"""Transform pipelines, pixelpipe vs the reference (timm), images per second on one core.

The first table measures what users get from the defaults: the tutorial path, ``ImageDataset(folder,
transform=create_transform(224, ...))`` read through a plain ``torch.utils.data.DataLoader`` (batch 32, no
workers, normalised float output), with each library's own classes. pixelpipe's dataset hands its default
pipeline the encoded JPEG (crop window drawn from the header, reduced DCT scale for large photos, every stage
on ``uint8`` tensors); timm's decodes with PIL and runs PIL operations.

The second table measures opt-in paths against the matching reference path, in the same rounds:

* ``uint8 out, fused decode``: what ``create_loader``'s workers run, ``create_transform(...,
  use_prefetcher=True)`` on an :class:`~pixelpipe.io.EncodedImage` (normalisation happens later, on the
  batch), against timm's ``use_prefetcher=True`` pipeline on PIL's decode;
* ``backend='pil'``: pixelpipe's bit-exact PIL pipeline through the same dataset and DataLoader as the
  first table.

Rounds alternate between all runners; the tables show medians. Without timm installed (a dev dependency
only) the reference columns read "n/a".

    pixelpipe bench            # full run
    pixelpipe bench --quick    # a short run
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .data import jpeg_set

__all__ = ["OPT_IN", "ROWS", "RowResult", "add_arguments", "bench_row", "main", "run"]

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
#: The opt-in paths of the second table, in order: ``(label, reference runner kind, pixelpipe runner kind)``.
OPT_IN: list[tuple[str, str, str]] = [
    ("uint8 out, fused decode (`create_loader`'s workers)", "ref-uint8", "uint8"),
    ("`backend='pil'` (bit-exact PIL pipeline)", "ref", "pil"),
]
HEADER = "| pipeline | timm | pixelpipe (default) | ratio |"
OPT_IN_HEADER = "| pipeline | opt-in path | timm | pixelpipe | ratio |"
BATCH = 32

#: One timed pass over the JPEG set; returns how many images it delivered.
Runner = Callable[[], int]
Clock = Callable[[], float]


def _ratio(ours: float | None, ref: float | None) -> str:
    return "n/a" if ours is None or ref is None else f"{ours / ref:.2f}x"


def _cell(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate:.1f}"


@dataclass
class RowResult:
    """One pipeline: median images/sec per runner kind (``None``: not measured) and notes.

    Kinds: ``ref`` / ``default`` (the first table), ``ref-uint8`` / ``uint8`` and ``pil`` (opt-in paths).
    """

    name: str
    rates: dict[str, float | None] = field(default_factory=dict)
    skip: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def reference(self) -> float | None:
        """timm's images/sec on the default path."""
        return self.rates.get("ref")

    @property
    def ours(self) -> float | None:
        """pixelpipe's images/sec on the default path."""
        return self.rates.get("default")

    def line(self) -> str:
        """The first table's line.

        >>> RowResult("eval", rates={"ref": None, "default": 10.0}).line()
        '| eval | n/a | 10.0 | n/a |'
        >>> RowResult("train", rates={"ref": 10.0, "default": 25.0}).line()
        '| train | 10.0 | 25.0 | 2.50x |'
        """
        if self.skip:
            return f"| {self.name} | - | - | skipped |"
        ref, ours = self.reference, self.ours
        return f"| {self.name} | {_cell(ref)} | {_cell(ours)} | {_ratio(ours, ref)} |"

    def opt_in_lines(self) -> list[str]:
        """The second table's lines (one per :data:`OPT_IN` path).

        >>> rates = {"ref": 5.0, "ref-uint8": 8.0, "uint8": 20.0, "pil": 5.0}
        >>> RowResult("eval", rates=rates).opt_in_lines()[0]
        "| eval | uint8 out, fused decode (`create_loader`'s workers) | 8.0 | 20.0 | 2.50x |"
        """
        if self.skip:
            return []
        lines = []
        for label, ref_kind, kind in OPT_IN:
            ref, ours = self.rates.get(ref_kind), self.rates.get(kind)
            lines.append(f"| {self.name} | {label} | {_cell(ref)} | {_cell(ours)} | {_ratio(ours, ref)} |")
        return lines


def _folder(images: list[bytes]) -> Path:
    """The JPEG set as a class folder (``<tmp>/c0/<i>.jpg``) for the datasets to read."""
    root = Path(tempfile.mkdtemp(prefix="pixelpipe_bench_"))
    (root / "c0").mkdir()
    for i, data in enumerate(images):
        (root / "c0" / f"{i:04d}.jpg").write_bytes(data)
    return root


def _retrying(tf: Callable[[Any], Any], errors: list[str]) -> Callable[[Any], Any]:
    """The reference's transform, drawn again when it raises (timm's Posterize with 0 bits raises on
    Pillow >= 12 for about one image in 1,500); each failure is counted."""

    def run(img: Any) -> Any:
        for _ in range(10):
            try:
                return tf(img)
            except Exception as e:
                errors.append(f"{type(e).__name__}: {e}")
        return tf(img)

    return run


def _loader_runner(dataset: Any) -> Runner:
    from torch.utils.data import DataLoader

    loader = DataLoader(dataset, batch_size=BATCH, num_workers=0)

    def run() -> int:
        return sum(len(target) for _, target in loader)

    return run


def _reference_runners(
    cfg: dict[str, Any], root: Path, images: list[bytes], errors: list[str]
) -> dict[str, Runner]:
    from PIL import Image
    from timm.data import ImageDataset, create_transform

    default = _retrying(create_transform(224, **cfg), errors)
    uint8 = _retrying(create_transform(224, use_prefetcher=True, **cfg), errors)

    def run_uint8() -> int:
        for data in images:
            uint8(Image.open(io.BytesIO(data)).convert("RGB"))
        return len(images)

    return {"ref": _loader_runner(ImageDataset(str(root), transform=default)), "ref-uint8": run_uint8}


def _ours_runners(cfg: dict[str, Any], root: Path, images: list[bytes]) -> dict[str, Runner]:
    from .. import ImageDataset, create_transform
    from ..io import EncodedImage
    from ..rng import get_rng

    rng = get_rng()
    fused = create_transform(224, use_prefetcher=True, **cfg)

    def run_uint8() -> int:
        for data in images:
            fused(EncodedImage(data), rng=rng)
        return len(images)

    return {
        "default": _loader_runner(ImageDataset(root, transform=create_transform(224, **cfg))),
        "uint8": run_uint8,
        "pil": _loader_runner(ImageDataset(root, transform=create_transform(224, backend="pil", **cfg))),
    }


def _rate(run: Runner, errors: list[str], clock: Clock) -> float | None:
    start = clock()
    try:
        done = run()
    except Exception as e:
        errors.append(f"{type(e).__name__}: {e}")
        return None
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
    """Median images/sec of every runner (see :class:`RowResult`), rounds interleaved.

    Without timm, the reference rates are ``None`` and only pixelpipe is measured.
    """
    images = jpeg_set(kind, n=n, photos=photos)
    root = _folder(images)
    try:
        return _bench_row(name, cfg, rounds, root, images, clock, progress)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _bench_row(
    name: str,
    cfg: dict[str, Any],
    rounds: int,
    root: Path,
    images: list[bytes],
    clock: Clock,
    progress: bool,
) -> RowResult:
    row = RowResult(name)
    try:
        runners = _ours_runners(cfg, root, images)
    except Exception as e:
        row.skip = f"pixelpipe pipeline unavailable ({type(e).__name__}: {e})"
        return row
    ref_errors: list[str] = []
    try:
        runners = {**_reference_runners(cfg, root, images, ref_errors), **runners}
    except ImportError as e:  # timm is a dev dependency only
        row.notes.append(f"reference unavailable ({type(e).__name__}: {e})")
        row.rates.update({"ref": None, "ref-uint8": None})
    except Exception as e:
        row.skip = f"reference unavailable ({type(e).__name__}: {e})"
        return row
    errors: dict[str, list[str]] = {k: [] for k in runners}
    for k, run_ in runners.items():  # warm up (and fill the page cache)
        _rate(run_, errors[k], clock)
    rates: dict[str, list[float]] = {k: [] for k in runners}
    for _ in _progress(range(rounds), rounds, name, progress):  # interleaved rounds
        for k, run_ in runners.items():
            rate = _rate(run_, errors[k], clock)
            if rate is not None:
                rates[k].append(rate)
    for k in runners:
        if errors[k] and not k.startswith("ref"):
            row.skip = f"pixelpipe failed: {errors[k][0]}"
            return row
    row.rates.update({k: statistics.median(r) if r else None for k, r in rates.items()})
    failed = [e for k in runners if k.startswith("ref") for e in errors[k]] + ref_errors
    if failed:
        row.notes.append(f"reference raised {len(failed)} time(s) (drawn again), e.g. {failed[0]}")
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
            print(
                "Default path: `ImageDataset(folder, transform=create_transform(224, ...))` in a plain "
                f"`DataLoader` (batch {BATCH}, no workers; normalised float output), each library's own "
                "classes.\n",
                file=out,
            )
            print(HEADER, file=out)
            print("|---|---:|---:|---:|", file=out, flush=True)
            for i, (name, set_kind, cfg) in enumerate(ROWS, 1):
                if wanted and i not in wanted:
                    continue
                rows_n = max(8, n // 4) if set_kind == "large" else n
                row = bench_row(
                    name, set_kind, cfg, rounds, rows_n, clock=clock, photos=args.photos, progress=progress
                )
                results.append(row)
                print(row.line(), file=out, flush=True)
            print("\nOpt-in paths, measured in the same rounds:\n", file=out)
            print(OPT_IN_HEADER, file=out)
            print("|---|---|---:|---:|---:|", file=out)
            for row in results:
                for line in row.opt_in_lines():
                    print(line, file=out)
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
