"""Worker memory over one epoch on a 1,000,000-sample index: pixelpipe vs the reference (timm).

Each library runs in a fresh interpreter: its ``ImageDataset`` over a folder reader whose index holds
``--n`` samples (paths like ``n00000123/n00000123_123456.JPEG``; every path resolves to the same small
file, so the epoch costs index look-ups and file opens, not decoding), ``load_bytes=True``, iterated for
one full epoch by a ``DataLoader`` with ``--workers`` forked workers. Each worker records its private
memory (``Private_Clean + Private_Dirty`` from ``/proc/self/smaps_rollup``: pages it no longer shares with
the main process) when it starts and when it has served its last sample, and its peak RSS (``VmHWM``).

The reference keeps the index as a Python list of ``(path, target)`` tuples: reading an entry writes its
reference counts, so a worker copies the page it sits on and its private memory grows through the epoch
until it holds its own copy of the whole list. pixelpipe keeps the index in NumPy buffers that workers only
read, so they stay shared. Linux only.

Run: ``uv run python benchmarks/bench_worker_memory.py [--n 1000000] [--workers 2]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LIBS = ("timm", "pixelpipe")


def _kib(path: str, fields: tuple[str, ...]) -> int:
    with open(path) as f:
        return sum(int(line.split()[1]) for line in f if line.split(":")[0] in fields)


def _private_kib() -> int:
    return _kib("/proc/self/smaps_rollup", ("Private_Clean", "Private_Dirty"))


def _names(n: int) -> list[str]:
    return [f"n{i % 1000:08d}/n{i % 1000:08d}_{i}.JPEG" for i in range(n)]


class _Recorder:
    """Wraps a dataset: each worker stores [private KiB at its first sample, at its latest, VmHWM KiB]."""

    def __init__(self, dataset, stats):
        self.dataset = dataset
        self.stats = stats  # shared (workers, 3) int64 tensor

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        import torch

        info = torch.utils.data.get_worker_info()
        row = self.stats[info.id if info is not None else 0]
        if row[0] == 0:
            row[0] = _private_kib()
        data, target = self.dataset[index]
        if index % 512 == 0:
            row[1] = _private_kib()
            row[2] = _kib("/proc/self/status", ("VmHWM",))
        return len(data), target


def _collate(batch):
    return len(batch)


class _LastSampleSampler:
    """Every index once, in a shuffled order, so the workers touch the whole index."""

    def __init__(self, n, seed=0):
        self.n, self.seed = n, seed

    def __len__(self):
        return self.n

    def __iter__(self):
        import numpy as np

        return iter(np.random.default_rng(self.seed).permutation(self.n).tolist())


def _dataset(lib: str, root: Path, n: int):
    """The library's ``ImageDataset`` over its own folder reader, the index filled in without a scan.

    Each reader looks the sample up in its index as usual, then opens the one real file.
    """
    names = _names(n)
    one_file = os.path.join(str(root), "img.jpg")
    if lib == "timm":
        from timm.data import ImageDataset
        from timm.data.readers.reader_image_folder import ReaderImageFolder

        class TimmReader(ReaderImageFolder):
            def __getitem__(self, index):
                _path, target = self.samples[index]
                return open(one_file, "rb"), target

        reader = TimmReader.__new__(TimmReader)
        reader.root = str(root)
        reader.samples = [(os.path.join(str(root), name), i % 1000) for i, name in enumerate(names)]
        reader.class_to_idx = {f"n{i:08d}": i for i in range(1000)}
        return ImageDataset(str(root), reader=reader, load_bytes=True)
    from pixelpipe import ImageDataset
    from pixelpipe.readers import ReaderImageFolder
    from pixelpipe.readers._files import build_index

    class PixelpipeReader(ReaderImageFolder):
        def __getitem__(self, index):
            _rel, target = self.index[index]
            return open(one_file, "rb"), target

    reader = PixelpipeReader.__new__(PixelpipeReader)
    reader.root = str(root)
    reader.extensions = (".jpeg",)
    reader.index, reader.class_to_idx = build_index(names, [name.split("/")[0] for name in names], None)
    return ImageDataset(str(root), reader=reader, load_bytes=True)


def _child(lib: str, n: int, workers: int) -> dict[str, float]:
    import torch

    root = Path(tempfile.mkdtemp(prefix="bench_workermem_"))
    (root / "img.jpg").write_bytes(b"\xff\xd8" + b"\x00" * 256 + b"\xff\xd9")
    t0 = time.perf_counter()
    dataset = _dataset(lib, root, n)
    build_s = time.perf_counter() - t0
    stats = torch.zeros(workers, 3, dtype=torch.int64).share_memory_()
    loader = torch.utils.data.DataLoader(
        _Recorder(dataset, stats),
        batch_size=1024,
        sampler=_LastSampleSampler(n),
        num_workers=workers,
        collate_fn=_collate,
        multiprocessing_context="fork",
    )
    start = time.perf_counter()
    seen = sum(loader)
    epoch_s = time.perf_counter() - start
    start_mib = stats[:, 0].double().mean().item() / 1024
    end_mib = stats[:, 1].double().mean().item() / 1024
    peak_mib = stats[:, 2].double().mean().item() / 1024
    return {
        "samples": seen,
        "build s": build_s,
        "epoch s": epoch_s,
        "private start MiB": start_mib,
        "private end MiB": end_mib,
        "growth MiB": end_mib - start_mib,
        "peak RSS MiB": peak_mib,
        "growth %": 100.0 * (end_mib - start_mib) / peak_mib,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="samples in the index")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--lib", choices=LIBS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not os.path.exists("/proc/self/smaps_rollup"):
        print("worker memory: needs Linux (/proc/self/smaps_rollup); skipped")
        return 0
    if args.lib:  # child mode: one library, one clean interpreter
        print(json.dumps(_child(args.lib, args.n, args.workers)))
        return 0
    rows = []
    for lib in LIBS:
        cmd = [sys.executable, __file__, "--n", str(args.n), "--workers", str(args.workers), "--lib", lib]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            print(f"{lib}: failed\n{out.stderr[-2000:]}", file=sys.stderr)
            continue
        rows.append((lib, json.loads(out.stdout.strip().splitlines()[-1])))
    cols = ["private start MiB", "private end MiB", "growth MiB", "peak RSS MiB", "growth %", "epoch s"]
    print(
        f"Worker memory over one epoch, {args.n:,}-sample index, {args.workers} forked DataLoader workers "
        "(mean per worker; growth % of the worker's peak RSS)\n"
    )
    print("| library | " + " | ".join(cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for lib, r in rows:
        print(f"| {lib} | " + " | ".join(f"{r[c]:.1f}" for c in cols) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
