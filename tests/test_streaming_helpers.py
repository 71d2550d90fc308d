"""Helpers for the streaming tests: tiny webdataset shards whose ``cls`` is a unique sample id."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import textwrap
from collections.abc import Sequence
from pathlib import Path

from PIL import Image


def png(value: int, size: int = 8) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), (value % 256, (value * 7) % 256, 3)).save(buf, format="PNG")
    return buf.getvalue()


def add(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    tf.addfile(ti, io.BytesIO(data))


def write_wds(
    root: Path,
    lengths: Sequence[int],
    prefix: str = "train",
    info: bool = True,
    corrupt: Sequence[int] = (),
    image: bool = True,
) -> list[str]:
    """Shards ``<prefix>-NNNNNN.tar``; sample ``i`` has ``cls`` = ``i``; ``corrupt`` ids get bad bytes."""
    root.mkdir(parents=True, exist_ok=True)
    files, i = [], 0
    for s, n in enumerate(lengths):
        name = f"{prefix}-{s:06d}.tar"
        with tarfile.open(root / name, "w") as tf:
            for _ in range(n):
                data = b"not an image" if i in corrupt else (png(i) if image else f"id{i}".encode())
                add(tf, f"s{i:05d}.png", data)
                add(tf, f"s{i:05d}.cls", str(i).encode())
                i += 1
        files.append(name)
    if info:
        entry = {"num_samples": i, "filenames": files, "shard_lengths": list(lengths)}
        (root / "_info.json").write_text(json.dumps({"splits": {prefix: entry}}))
    return files


def run_script(tmp_path: Path, body: str, *args: str, timeout: float = 120) -> str:
    """Run ``body`` (dedented) as a fresh Python process; return its stdout, fail with its stderr."""
    script = tmp_path / f"script_{abs(hash(body)) % 10**8}.py"
    script.write_text(textwrap.dedent(body))
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parent), OMP_NUM_THREADS="1")
    env.pop("RANK", None)
    env.pop("WORLD_SIZE", None)
    proc = subprocess.run(
        [sys.executable, str(script), *args], capture_output=True, text=True, timeout=timeout, env=env
    )
    if proc.returncode != 0:
        raise AssertionError(f"script failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout
