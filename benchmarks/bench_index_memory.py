"""Memory of a 1,000,000-sample index: pixelpipe's SampleIndex vs a Python list of (path, target) tuples.

For each layout, a fresh interpreter builds the index and reports:

* ``build MiB``: growth of the resident set size (RSS) after building and dropping temporaries;
* ``worker copy MiB`` (Linux): a forked child (a DataLoader worker) reads every entry once; this is how
  much of the parent's memory the child had to copy (growth of its ``Private_Dirty``). Reading a list of
  tuples writes reference counts into every object, so the whole list is copied into each worker; the
  NumPy buffers are only read, so they stay shared.

Run: ``uv run python benchmarks/bench_index_memory.py [--n 1000000]``. No GPU, no network.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys


def _status_kib(field: str, path: str = "/proc/self/status") -> int:
    with open(path) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def _private_dirty_kib() -> int:
    try:
        with open("/proc/self/smaps_rollup") as f:
            return sum(int(line.split()[1]) for line in f if line.startswith("Private_Dirty:"))
    except OSError:
        return -1


def _names(n: int) -> list[str]:
    return [f"n{i % 1000:08d}/n{i % 1000:08d}_{i}.JPEG" for i in range(n)]


def _measure(layout: str, n: int) -> dict[str, float]:
    import numpy as np

    from pixelpipe.readers import SampleIndex

    gc.collect()
    rss0 = _status_kib("VmRSS")
    if layout == "list of tuples":
        index = [(name, i % 1000) for i, name in enumerate(_names(n))]
        nbytes = float("nan")
    else:
        index = SampleIndex(_names(n), np.arange(n, dtype=np.int64) % 1000)
        nbytes = index.nbytes / 2**20
    gc.collect()
    build = (_status_kib("VmRSS") - rss0) / 1024
    copied = float("nan")
    if hasattr(os, "fork") and _private_dirty_kib() >= 0:
        rd, wr = os.pipe()
        pid = os.fork()
        if pid == 0:  # the "worker": read every entry, as a sampler-driven epoch would
            before = _private_dirty_kib()
            total = 0
            for i in range(len(index)):
                _name, target = index[i]
                total += target
            os.write(wr, str(_private_dirty_kib() - before).encode())
            os._exit(0)
        os.close(wr)
        os.waitpid(pid, 0)
        copied = int(os.read(rd, 64) or b"-1") / 1024
        os.close(rd)
    return {"build MiB": build, "arrays MiB": nbytes, "worker copy MiB": copied}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="number of index entries")
    parser.add_argument("--layout", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.layout:  # child mode: one layout, one clean interpreter
        print(json.dumps(_measure(args.layout, args.n)))
        return
    rows = []
    for layout in ("list of tuples", "SampleIndex"):
        out = subprocess.run(
            [sys.executable, __file__, "--n", str(args.n), "--layout", layout],
            check=True,
            capture_output=True,
            text=True,
        )
        rows.append((layout, json.loads(out.stdout.strip().splitlines()[-1])))
    cols = ["build MiB", "arrays MiB", "worker copy MiB"]
    print(f"{args.n:,} entries (paths like 'n00000123/n00000123_123456.JPEG', int targets)\n")
    print(f"| {'layout':<16} | " + " | ".join(f"{c:>15}" for c in cols) + " |")
    print(f"|{'-' * 18}|" + "|".join("-" * 17 for _ in cols) + "|")
    for layout, r in rows:
        cells = ("-" if r[c] != r[c] else f"{r[c]:.1f}" for c in cols)  # NaN: not applicable
        print(f"| {layout:<16} | " + " | ".join(f"{v:>15}" for v in cells) + " |")


if __name__ == "__main__":
    main()
