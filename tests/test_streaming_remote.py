"""Remote shards: ``pipe:`` commands and ``http://`` URLs (a loopback HTTP server) through ReaderWds."""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import shlex
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pixelpipe.errors import ConfigError, DatasetNotFoundError, SampleError
from pixelpipe.factories import create_dataset
from pixelpipe.streaming.gopen import StreamError, open_stream
from pixelpipe.streaming.shards import load_dataset_info
from pixelpipe.streaming.tar import TarShardSource, count_tar_samples, iter_tar_samples
from test_streaming_helpers import write_wds

LENGTHS = [4, 0, 3, 5]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``(url, folder)``: the folder served on 127.0.0.1 (ephemeral port) for the test's duration."""
    folder = tmp_path / "www"
    folder.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", folder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _targets(ds) -> list[int]:
    return [int(t) for _, t in ds]


def test_pipe_cat_gives_the_local_samples(tmp_path):
    files = write_wds(tmp_path, LENGTHS, image=False)
    for name in files:
        local = str(tmp_path / name)
        piped = f"pipe:cat {shlex.quote(local)}"
        assert list(iter_tar_samples(piped)) == list(iter_tar_samples(local))
        assert list(iter_tar_samples(piped, start=2)) == list(iter_tar_samples(local, start=2))
        assert count_tar_samples(piped) == count_tar_samples(local)
    spec = f"pipe:cat {shlex.quote(str(tmp_path))}/train-{{000000..000003}}.tar"
    ds = create_dataset("wds/", root=tmp_path, split=spec, image_backend="bytes")
    assert _targets(ds) == list(range(sum(LENGTHS)))  # lengths from _info.json, by shard base name
    assert ds.reader.source.shard_lengths == LENGTHS


def test_pipe_stopped_early_is_killed_and_a_shell_pipeline_works(tmp_path):
    write_wds(tmp_path, [50], image=False)
    shard = shlex.quote(str(tmp_path / "train-000000.tar"))
    it = iter_tar_samples(f"pipe:cat {shard} | cat")
    assert next(it)[0] == "s00000"
    it.close()  # no ResourceWarning, no error: the command is killed
    with open_stream("pipe:yes") as s:  # never ends on its own
        assert s.read(4) == b"y\ny\n"


def test_failing_pipe_and_missing_url_raise_naming_them(tmp_path, http_root):
    with pytest.raises(StreamError, match=r"'exit 3'.*exit status 3"):
        list(iter_tar_samples("pipe:exit 3"))
    failing = open_stream("pipe:echo oops >&2; false")
    assert failing.read() == b""
    with pytest.raises(StreamError, match=r"'echo oops >&2; false'.*exit status 1.*oops"):
        failing.close()
    url, _ = http_root
    with pytest.raises(DatasetNotFoundError, match=rf"{url}nope-0\.tar.*HTTP 404"):
        list(iter_tar_samples(url + "nope-0.tar"))
    with pytest.raises(StreamError, match=r"http://127\.0\.0\.1:1/x\.tar"):
        open_stream("http://127.0.0.1:1/x.tar", timeout=5)
    with pytest.raises(ConfigError, match="'nosuchscheme'"):  # s3:// goes to fsspec (test_streaming_s3)
        open_stream("nosuchscheme://bucket/x.tar")


def test_http_split_whole_epoch_and_resume(http_root):
    url, folder = http_root
    write_wds(folder, LENGTHS, image=False)
    assert load_dataset_info(url)["splits"]["train"]["shard_lengths"] == LENGTHS
    ds = create_dataset("wds/Remote", root=url, split="train", image_backend="bytes")
    assert len(ds) == sum(LENGTHS) and _targets(ds) == list(range(sum(LENGTHS)))
    assert ds.reader.source.shard_name(0) == url + "train-000000.tar"

    spec = url + "train-{000002..000003}.tar"  # brace expansion on a URL, lengths from the info
    sub = create_dataset("wds/", root=url, split=spec, image_backend="bytes")
    assert _targets(sub) == list(range(4, 12))

    def make():
        return create_dataset(
            "wds/", root=url, split="train", is_training=True, batch_size=1, image_backend="bytes", seed=3,
            sample_shuffle_size=4, sample_initial_size=2,
        )  # fmt: skip

    full = _targets(make())
    assert sorted(full) == list(range(sum(LENGTHS)))
    first_ds = make()
    it = iter(first_ds)
    first = [int(next(it)[1]) for _ in range(5)]
    state = first_ds.state_dict(num_batches=5)
    with contextlib.suppress(AttributeError):
        it.close()
    resumed = make()
    resumed.load_state_dict(state)
    rest = _targets(resumed)
    assert first + rest == full


def test_remote_shards_need_lengths(tmp_path, http_root):
    url, folder = http_root
    write_wds(folder, [2, 3], image=False, info=False)
    with pytest.raises(ConfigError, match=r"shard_lengths.*_info\.json"):
        create_dataset("wds/", root=url, split="train-{000000..000001}.tar|5")
    src = TarShardSource([url + "train-000000.tar", url + "train-000001.tar"], count_remote=True)
    assert src.shard_lengths == [2, 3]
    assert load_dataset_info(url) == {}


def test_corrupt_remote_shard_error_names_url(http_root):
    url, folder = http_root
    write_wds(folder, [2, 2], image=False)
    (folder / "train-000001.tar").write_bytes(b"\0garbage" * 10)
    ds = create_dataset("wds/", root=url, split="train", image_backend="bytes")
    with pytest.raises(SampleError, match=r"train-000001\.tar"):
        list(ds)
    (folder / "_info.json").write_text(json.dumps([1, 2]))
    with pytest.raises(ConfigError, match=r"_info\.json.*JSON object"):
        load_dataset_info(url)
