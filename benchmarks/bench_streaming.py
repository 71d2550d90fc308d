"""Streaming throughput: webdataset shards from a local S3 server against local disk, cold and warm cache.

The shards (ImageNet-sized JPEGs, ``--per-shard`` samples each, plus ``_info.json``) are written to a local
folder and uploaded to an S3-compatible server started on 127.0.0.1 (moto's server mode, found through
``AWS_ENDPOINT_URL`` as MinIO or any S3-compatible store would be). One epoch is read with
``create_dataset('wds/', ...)`` and a ``DataLoader`` (``--workers`` workers, batch 64), either as encoded
bytes (the streaming path alone) or decoded to RGB PIL images:

* ``local``: the shards on local disk;
* ``s3 stream``: read from S3 with no cache (each worker streams its part of each shard);
* ``s3 cold cache``: ``cache_dir`` empty at the start: each shard is downloaded once into the cache (the
  next one prefetched while one is read), then read from disk;
* ``s3 warm cache``: the same cache, a second epoch: nothing is downloaded.

Reported: images/s and MB/s (shard bytes read per second), median of ``--repeats`` epochs.

moto is a Python server running in this process's machine, sharing its CPU cores, so the S3 rows are a
floor set by the server rather than by pixelpipe; the comparison that carries over to real object stores is
``warm cache`` against ``local``.

Run: ``uv run python benchmarks/bench_streaming.py [--quick] [--write]`` (needs the dev dependencies:
moto, s3fs). No GPU; no network beyond 127.0.0.1.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import platform
import statistics
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def _write_shards(folder: Path, jpegs: list[bytes], n: int, per_shard: int) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    files, lengths, total = [], [], 0
    for s, start in enumerate(range(0, n, per_shard)):
        name = f"train-{s:06d}.tar"
        with tarfile.open(folder / name, "w") as tf:
            for i in range(start, min(start + per_shard, n)):
                for ext, data in (("jpg", jpegs[i % len(jpegs)]), ("cls", str(i % 1000).encode())):
                    ti = tarfile.TarInfo(f"{i:08d}.{ext}")
                    ti.size = len(data)
                    tf.addfile(ti, io.BytesIO(data))
        files.append(name)
        lengths.append(min(per_shard, n - start))
        total += (folder / name).stat().st_size
    info = {"splits": {"train": {"num_samples": n, "filenames": files, "shard_lengths": lengths}}}
    (folder / "_info.json").write_text(json.dumps(info))
    return total


def _epoch(root: str, cache_dir: str | None, workers: int, decode: bool, epoch: int = 0) -> float:
    from torch.utils.data import DataLoader

    from pixelpipe.factories import create_dataset

    ds = create_dataset("wds/", root=root, split="train", image_backend="pil" if decode else "bytes",
                        cache_dir=cache_dir)  # fmt: skip
    ds.set_loader_cfg(num_workers=workers, batch_size=64)
    ds.set_epoch(epoch)
    loader = DataLoader(ds, batch_size=64, num_workers=workers, collate_fn=list)
    t0 = time.perf_counter()
    n = sum(len(b) for b in loader)
    elapsed = time.perf_counter() - t0
    if n != len(ds):
        raise RuntimeError(f"read {n} samples, expected {len(ds)}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=4096, help="samples (default 4096)")
    parser.add_argument("--per-shard", type=int, default=256, help="samples per shard (default 256)")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers (default 2)")
    parser.add_argument("--repeats", type=int, default=3, help="epochs per row; the median is reported")
    parser.add_argument("--quick", action="store_true", help="1024 samples, 1 repeat")
    parser.add_argument("--write", action="store_true", help="write benchmarks/results/streaming.md")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.repeats = 1024, 1
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from _data import jpeg_set
    from moto.server import ThreadedMotoServer

    tmp = Path(tempfile.mkdtemp(prefix="pixelpipe_bench_stream_"))
    jpegs = jpeg_set("imagenet", n=128)
    nbytes = _write_shards(tmp / "shards", jpegs, args.n, args.per_shard)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ.update(AWS_ENDPOINT_URL=f"http://{host}:{port}", AWS_ACCESS_KEY_ID="bench",
                      AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1",
                      AWS_EC2_METADATA_DISABLED="true")  # fmt: skip
    import s3fs

    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    fs.mkdir("bench")
    for f in sorted((tmp / "shards").iterdir()):
        fs.put_file(str(f), f"bench/shards/{f.name}")
    s3 = "s3://bench/shards"
    rows = []
    try:
        for decode in (False, True):
            times: dict[str, list[float]] = {
                "local": [],
                "s3 stream": [],
                "s3 cold cache": [],
                "s3 warm cache": [],
            }
            for r in range(args.repeats):
                times["local"].append(_epoch(str(tmp / "shards"), None, args.workers, decode))
                times["s3 stream"].append(_epoch(s3, None, args.workers, decode))
                cache = str(tmp / f"cache-{int(decode)}-{r}")
                times["s3 cold cache"].append(_epoch(s3, cache, args.workers, decode))
                times["s3 warm cache"].append(_epoch(s3, cache, args.workers, decode, epoch=1))
            for name, ts in times.items():
                t = statistics.median(ts)
                rows.append((name, "decoded (PIL)" if decode else "bytes", args.n / t, nbytes / t / 1e6, t))
    finally:
        server.stop()
    cpu, shards = os.cpu_count(), -(-args.n // args.per_shard)
    head = (
        f"`benchmarks/bench_streaming.py` ({time.strftime('%Y-%m-%d')}, {platform.machine()}, {cpu} CPUs, "
        f"Python {platform.python_version()}): {args.n} ImageNet-sized JPEGs in {shards} "
        f"shards ({nbytes / 1e6:.0f} MB), DataLoader with {args.workers} workers, batch 64, median of "
        f"{args.repeats} epochs. S3: moto's server on 127.0.0.1 (Python, sharing the CPUs).\n"
    )
    table = ["| source | samples as | images/s | MB/s | s/epoch |", "|---|---|---:|---:|---:|"]
    table += [f"| {a} | {b} | {c:,.0f} | {d:,.1f} | {e:.2f} |" for a, b, c, d, e in rows]
    text = head + "\n" + "\n".join(table) + "\n"
    print(text)
    if args.write:
        out = Path(__file__).parent / "results" / "streaming.md"
        out.write_text("# Streaming throughput: local S3 server vs local disk\n\n" + text)
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
