"""End-to-end loader throughput: pixelpipe's ``create_loader`` against the reference's (timm).

Both loaders read the same folder of ImageNet-like JPEGs (about 460x400, quality 90, built from
``../shared/photos`` by ``benchmarks/_data.py``, or by the small builder below without it) with the
standard training recipe: ``RandomResizedCrop(224)``, flip, colour jitter, ``rand-m9-mstd0.5-inc1``,
random erasing ``re_prob=0.25``, ``batch_size=64``, 2 worker processes, ``use_prefetcher=True`` on the CPU
(normalisation and erasing in the main process). pixelpipe's ``ImageDataset`` hands the encoded JPEG to
the transform ``create_loader`` builds, which decodes it with ``torchvision.io`` fused with the random
resized crop (``--with-dataset-decode`` adds the earlier path: the dataset decodes with PIL first).
Epochs of the loaders are interleaved (A B, B A, ...)
after one warm-up epoch each; the Markdown table gives the median images/second and the median of the
per-round ratios, which is steadier than a ratio of medians on a shared machine.

The reference's recipe crashes about once per 1,500 images on Pillow >= 12 (``PosterizeIncreasing`` at 0
bits, REFERENCE "deliberately differs"); its dataset is wrapped to retry such a sample, which costs it
next to nothing.

Run::

    .venv/bin/python benchmarks/bench_loader.py            # 1,280 images, 6 timed epochs each
    .venv/bin/python benchmarks/bench_loader.py --quick    # 320 images, 4 timed epochs each
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
# $PIXELPIPE_PHOTOS first, as pixelpipe.bench.data (a worktree has no ../shared/photos next to it)
PHOTOS = Path(os.environ.get("PIXELPIPE_PHOTOS") or HERE.parents[1] / "shared" / "photos")
RECIPE = dict(
    is_training=True,
    auto_augment="rand-m9-mstd0.5-inc1",
    re_prob=0.25,
    interpolation="bilinear",
)


def _build_folder(root: Path, num_images: int, num_classes: int = 10, seed: int = 0) -> Path:
    """ImageNet-like JPEGs: random crops of the shared photos (or generated images), about 460x400."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    sources = []
    if PHOTOS.is_dir():
        for p in sorted(PHOTOS.iterdir()):
            if p.suffix.lower() in (".jpg", ".png"):
                sources.append(Image.open(p).convert("RGB"))
    if not sources:  # a machine without the shared photos: smooth random colour fields
        for _ in range(4):
            small = rng.integers(0, 256, size=(12, 14, 3), dtype=np.uint8)
            sources.append(Image.fromarray(small).resize((700, 600), Image.BICUBIC))
    for i in range(num_images):
        src = sources[i % len(sources)]
        w, h = int(rng.integers(420, 500)), int(rng.integers(360, 440))
        scale = max(w / src.width, h / src.height) * float(rng.uniform(1.0, 1.6))
        size = (max(w, round(src.width * scale)), max(h, round(src.height * scale)))
        img = src.resize(size, Image.BILINEAR)
        x0, y0 = int(rng.integers(0, img.width - w + 1)), int(rng.integers(0, img.height - h + 1))
        cls = root / f"class{i % num_classes:03d}"
        cls.mkdir(parents=True, exist_ok=True)
        img.crop((x0, y0, x0 + w, y0 + h)).save(cls / f"img{i:05d}.jpg", quality=90)
    return root


def _dataset_folder(root: Path, num_images: int, num_classes: int = 10) -> Path:
    """Fill ``root`` with ``class*/`` folders of the shared benchmark JPEGs (``_data.jpeg_set``)."""
    sys.path.insert(0, str(HERE))
    try:
        from _data import jpeg_set
    except ImportError:  # the shared builder is not there: build a comparable set here
        return _build_folder(root, num_images, num_classes)
    finally:
        sys.path.remove(str(HERE))
    for i, data in enumerate(jpeg_set("imagenet", n=num_images)):
        cls = root / f"class{i % num_classes:03d}"
        cls.mkdir(parents=True, exist_ok=True)
        (cls / f"img{i:05d}.jpg").write_bytes(data)
    return root


class _RetryDataset(torch.utils.data.Dataset):
    """Retry a sample whose random augmentation crashed (the reference on current Pillow)."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset

    @property
    def transform(self) -> Any:
        return self.dataset.transform

    @transform.setter
    def transform(self, value: Any) -> None:
        self.dataset.transform = value

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Any:
        for _ in range(4):
            try:
                return self.dataset[index]
            except ValueError:
                continue
        return self.dataset[index]


def _pixelpipe_loader(root: Path, args: argparse.Namespace, dataset_decodes: bool = False) -> Any:
    """pixelpipe's ``create_loader`` (its transform decodes: fused crop + tensor pipeline); with
    ``dataset_decodes`` the transform is swapped for the same, unfused stages after the fact, so the dataset
    decodes with its ``image_backend`` as before the fused path (the ``--with-dataset-decode`` row)."""
    from pixelpipe.datasets import ImageDataset
    from pixelpipe.factories import create_loader
    from pixelpipe.transforms import Compose

    ds = ImageDataset(root, image_backend=args.backend)
    loader = create_loader(
        ds, (3, 224, 224), args.batch, num_workers=args.workers, device="cpu", seed=0, **RECIPE
    )
    if dataset_decodes:
        ds.transform = Compose(ds.transform.transforms)
    return loader


def _timm_loader(root: Path, args: argparse.Namespace) -> Any:
    from timm.data import ImageDataset, create_loader

    ds = _RetryDataset(ImageDataset(str(root)))
    return create_loader(
        ds, (3, 224, 224), args.batch, num_workers=args.workers, device=torch.device("cpu"), **RECIPE
    )


def _children_cpu() -> float | None:
    """CPU seconds used so far by this process's live children (the DataLoader workers); Linux only."""
    try:
        tck = os.sysconf("SC_CLK_TCK")
        pids: list[str] = []
        for task in Path("/proc/self/task").iterdir():
            pids += (task / "children").read_text().split()
        total = 0.0
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tck
        return total
    except (OSError, ValueError, IndexError):
        return None


def _children() -> set[str]:
    try:
        return {
            pid
            for task in Path("/proc/self/task").iterdir()
            for pid in (task / "children").read_text().split()
        }
    except OSError:
        return set()


def _peak_rss_mib(pids: set[str]) -> float | None:
    """Sum of the peak resident sets (``VmHWM``) of ``pids`` (a loader's workers), MiB; Linux only."""
    total = 0
    try:
        for pid in pids:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
    except (OSError, ValueError):
        return None
    return total / 1024 if pids else None


def _epoch(loader: Any) -> tuple[int, float, float | None]:
    """Images, wall seconds, and CPU seconds (this process + workers) of one epoch."""
    n = 0
    c0, p0 = _children_cpu(), time.process_time()
    start = time.perf_counter()
    for x, _ in loader:
        n += x.shape[0]
    wall = time.perf_counter() - start
    c1, p1 = _children_cpu(), time.process_time()
    cpu = None if c0 is None or c1 is None else (c1 - c0) + (p1 - p0)
    return n, wall, cpu


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="320 images, 4 timed epochs")
    p.add_argument("--images", type=int, default=None, help="images in the folder (default 1280)")
    p.add_argument("--epochs", type=int, default=None, help="timed epochs per loader (default 6)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--backend", choices=("pil", "tensor"), default="pil", help="pixelpipe image_backend")
    p.add_argument("--root", type=Path, default=None, help="reuse or build the JPEG folder here")
    p.add_argument("--only", choices=("pixelpipe", "timm"), default=None)
    p.add_argument(
        "--with-dataset-decode",
        action="store_true",
        help="also time pixelpipe with the dataset decoding first (image_backend, default PIL)",
    )
    args = p.parse_args(argv)
    num_images = args.images or (320 if args.quick else 1280)
    epochs = args.epochs or (4 if args.quick else 6)

    tmp = None
    root = args.root
    if root is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench_loader_")
        root = Path(tmp.name)
    if not any(root.rglob("*.jpg")):
        _dataset_folder(root, num_images)
    num_files = sum(1 for _ in root.rglob("*.jpg"))

    makers: dict[str, Any] = {"pixelpipe": _pixelpipe_loader, "timm": _timm_loader}
    if args.only:
        makers = {args.only: makers[args.only]}
    if args.with_dataset_decode:
        makers["pixelpipe, dataset decode"] = lambda r, a: _pixelpipe_loader(r, a, dataset_decodes=True)
    loaders = {name: make(root, args) for name, make in makers.items()}
    workers: dict[str, set[str]] = {}
    for name, loader in loaders.items():
        before = _children()
        _epoch(loader)  # warm-up: worker start, caches
        workers[name] = _children() - before  # persistent workers: this loader's from now on
    rates: dict[str, list[float]] = {name: [] for name in loaders}
    cpu_ms: dict[str, list[float]] = {name: [] for name in loaders}
    names = list(loaders)
    for r in range(epochs):  # A B, B A, A B, ...: slow drifts in machine load hit both alike
        for name in names if r % 2 == 0 else names[::-1]:
            n, dt, cpu = _epoch(loaders[name])
            rates[name].append(n / dt)
            if cpu is not None:
                cpu_ms[name].append(cpu / n * 1000)

    print(
        f"\nLoader throughput, {num_files} JPEGs (~460x400), batch {args.batch}, {args.workers} workers, "
        f"train recipe rand-m9-mstd0.5-inc1 + re_prob 0.25, device cpu, prefetcher on; "
        f"median of {epochs} epochs (torch {torch.__version__}; pixelpipe decodes in its transform, fused "
        f"RandomResizedCrop; 'dataset decode': image_backend={args.backend!r} then the same stages)\n"
    )
    print(
        "| loader | images/s (median) | min | max | vs timm (median of per-round ratios) | CPU ms/image "
        "| peak worker RSS MiB (sum) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, r in rates.items():
        ratio = "-"
        if "timm" in rates:
            ratio = f"{statistics.median(a / b for a, b in zip(r, rates['timm'])):.2f}x"
        cpu = f"{statistics.median(cpu_ms[name]):.2f}" if cpu_ms[name] else "-"
        peak = _peak_rss_mib(workers[name])
        peak_s = "-" if peak is None else f"{peak:.0f}"
        stats = f"{statistics.median(r):.1f} | {min(r):.1f} | {max(r):.1f}"
        print(f"| {name} | {stats} | {ratio} | {cpu} | {peak_s} |")
    print(
        "\nCPU ms/image: CPU time of the main process and its workers per image (less sensitive to other "
        "load on a shared machine than images/s). Peak worker RSS: the sum of the workers' peak resident "
        "sets (shared pages counted in each)."
    )
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
