"""Every benchmark, pixelpipe against the reference (timm) in the same run: one command, one report.

Runs, each in its own interpreter so peak memory is per section:

1. transforms (``pixelpipe bench``): the pipelines of the performance targets, one thread, decode
   included, rounds interleaved, medians and ratios;
2. loader (``bench_loader.py``): ``create_loader`` end to end, 2 workers, batch 64, train recipe, with the
   workers' peak resident memory;
3. batch (``bench_batch.py``): Mixup / CutMix / FastCollateMixup / batched erasing;
4. worker memory (``bench_worker_memory.py``): private memory of DataLoader workers over one epoch on a
   1,000,000-sample index.

The JPEG sets are cut from ``../shared/photos`` when that folder exists (else generated). The report
(Markdown) goes to stdout and, with ``--out``, to a file with the machine's description and each
section's peak RSS, e.g. ``benchmarks/results/<machine>.md``.

    uv run python benchmarks/run.py --quick                 # a few minutes
    uv run python benchmarks/run.py --out benchmarks/results/cpu-2core.md
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: (title, command arguments after the interpreter, extra arguments with --quick)
SECTIONS: list[tuple[str, list[str], list[str]]] = [
    ("Transforms (one thread, decode included)", ["-m", "pixelpipe.bench.transforms"], ["--quick"]),
    ("Loader end to end", [str(HERE / "bench_loader.py")], ["--quick"]),
    ("Batch augmentation", [str(HERE / "bench_batch.py"), "--threads", "1"], ["--quick"]),
    ("Worker memory over one epoch", [str(HERE / "bench_worker_memory.py")], ["--n", "200000"]),
]


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import PIL
    import torch
    import torchvision

    try:
        import timm

        ref = f"timm {timm.__version__}"
    except ImportError:
        ref = "timm not installed"
    return (
        f"{cpu}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}, "
        f"torch {torch.__version__}, torchvision {torchvision.__version__}, Pillow {PIL.__version__}, {ref}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs of every section")
    parser.add_argument("--only", default="", help="comma-separated section numbers (1-4) to run")
    parser.add_argument("--out", type=Path, default=None, help="also write the report to this file")
    args = parser.parse_args(argv)
    wanted = {int(x) for x in args.only.split(",") if x.strip()} if args.only else set()
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    lines = [
        "# pixelpipe vs timm benchmarks",
        "",
        f"{datetime.date.today().isoformat()}; {_machine()}; {'quick' if args.quick else 'full'} run.",
        "",
    ]
    print("\n".join(lines), flush=True)
    failed = 0
    for number, (title, cmd, quick) in enumerate(SECTIONS, 1):
        if wanted and number not in wanted:
            continue
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, *cmd, *(quick if args.quick else [])], capture_output=True, text=True, env=env
        )
        seconds = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        peak_note = f"{peak / 1024:.0f} MiB" if peak > before else "below an earlier section's"
        body = proc.stdout.strip() if proc.returncode == 0 else f"failed:\n\n```\n{proc.stderr[-3000:]}\n```"
        failed += proc.returncode != 0
        section = [
            f"## {number}. {title}",
            "",
            body,
            "",
            f"_{seconds:.0f} s; peak RSS of the benchmark process: {peak_note}._",
            "",
        ]
        print("\n".join(section), flush=True)
        lines += section
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines))
        print(f"written to {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
