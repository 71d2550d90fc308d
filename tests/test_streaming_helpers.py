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


class S3Server:
    """A real S3-compatible server (moto's server mode) on 127.0.0.1, reached with the standard AWS variables.

    ``start()`` sets ``AWS_ENDPOINT_URL`` (and dummy credentials) in ``os.environ`` so that s3fs, boto3 and
    DataLoader workers find it as they would find MinIO or any S3-compatible store; ``stop()`` restores them.
    """

    ENV = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION",
           "AWS_EC2_METADATA_DISABLED", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")  # fmt: skip

    def start(self) -> S3Server:
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self.saved = {k: os.environ.get(k) for k in self.ENV}
        os.environ.update(
            AWS_ENDPOINT_URL=self.endpoint, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        )  # fmt: skip
        return self

    def fs(self):
        import s3fs

        return s3fs.S3FileSystem(skip_instance_cache=True)

    def upload(self, local: Path, url: str) -> None:
        """Upload a local folder's files under the ``s3://bucket/prefix`` URL (the bucket is created)."""
        fs = self.fs()
        bucket = url[len("s3://") :].split("/", 1)[0]
        if not fs.exists(bucket):
            fs.mkdir(bucket)
        for f in sorted(Path(local).iterdir()):
            if f.is_file():
                fs.pipe(f"{url.rstrip('/')}/{f.name}", f.read_bytes())

    def stop(self) -> None:
        self.server.stop()
        for k, v in self.saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class FaultyHTTP:
    """An HTTP server on 127.0.0.1 serving a folder; ``fail[name] = n`` answers 503 to the next n requests.

    ``delay`` seconds are spent before each answer (to overlap concurrent fetches); ``gets[name]`` counts
    the successful requests of each file.
    """

    def __init__(self, folder: Path, delay: float = 0.0) -> None:
        import functools
        import http.server
        import threading

        self.folder, self.delay = Path(folder), delay
        self.fail: dict[str, int] = {}
        self.gets: dict[str, int] = {}
        outer = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                import time

                name = self.path.lstrip("/")
                time.sleep(outer.delay)
                if outer.fail.get(name, 0) > 0:
                    outer.fail[name] -= 1
                    self.send_error(503, "injected failure")
                    return
                outer.gets[name] = outer.gets.get(name, 0) + 1
                super().do_GET()

        handler = functools.partial(Handler, directory=str(self.folder))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)  # fmt: skip
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
