"""Object storage and the shard cache: a real S3-compatible server (moto) and an HTTP server on 127.0.0.1.

Nothing here mocks a client: s3fs talks HTTP to moto's server, found through ``AWS_ENDPOINT_URL`` as a user
would point it at MinIO; the fault tests use a loopback HTTP server that fails requests on demand.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
from pathlib import Path

import pytest
from torch.utils.data import DataLoader

from pixelpipe.errors import ConfigError, DatasetNotFoundError, SampleError
from pixelpipe.factories import create_dataset
from pixelpipe.shard_writer import write_shards
from pixelpipe.streaming.cache import ShardCache, parse_size
from pixelpipe.streaming.gopen import StreamError, open_stream
from pixelpipe.synthetic import write_shapes_folder
from test_streaming_helpers import FaultyHTTP, write_wds

LENGTHS = [4, 0, 3, 5, 2]
N = sum(LENGTHS)


def _targets(ds) -> list[int]:
    return [int(t) for _, t in ds]


@pytest.fixture(scope="module")
def s3_shards(s3_server, tmp_path_factory) -> str:
    """``s3://pp-test/wds``: the LENGTHS shards (``cls`` = sample id) and their ``_info.json``."""
    local = tmp_path_factory.mktemp("wds")
    write_wds(local, LENGTHS)
    s3_server.upload(local, "s3://pp-test/wds")
    return "s3://pp-test/wds"


def test_s3_url_read_like_a_local_folder(s3_shards, tmp_path):
    with open_stream(s3_shards + "/_info.json") as f:
        assert b"shard_lengths" in f.read()
    with pytest.raises(DatasetNotFoundError, match="s3://pp-test/wds/nope"):
        open_stream(s3_shards + "/nope")
    ds = create_dataset("wds/", root=s3_shards, split="train", image_backend="bytes")
    assert _targets(ds) == list(range(N))  # streamed, no cache
    assert ds.reader.source.shard_name(0) == s3_shards + "/train-000000.tar"
    cached = create_dataset("wds/", root=s3_shards, split="train", cache_dir=tmp_path / "c")
    img, _ = next(iter(cached))
    assert img.mode == "RGB" and _targets(cached) == list(range(N))
    cache = cached.reader.cache
    assert sorted(os.path.basename(p).split("-", 1)[1] for p, *_ in cache.entries()) == [
        f"train-{i:06d}.tar" for i, n in enumerate(LENGTHS) if n
    ]  # the empty shard is never read
    fetched = cache.num_fetched
    cached.set_epoch(1)
    assert _targets(cached) == list(range(N)) and cache.num_fetched == fetched  # second epoch: from disk


def test_pixelpipe_shard_writes_to_s3(s3_server, tmp_path):
    src = tmp_path / "src"
    write_shapes_folder(src, per_class=3, size=16)
    s3_server.fs().mkdir("pp-out")
    entry = write_shards(src, "s3://pp-out/shapes", max_count=4, split="train", progress=False)
    assert sum(entry["shard_lengths"]) == entry["num_samples"] and max(entry["shard_lengths"]) == 4
    assert s3_server.fs().exists("pp-out/shapes/_info.json")
    local = create_dataset("", root=src, split="train")
    ds = create_dataset("wds/", root="s3://pp-out/shapes", split="train", cache_dir=tmp_path / "c")
    assert len(ds) == len(local) == entry["num_samples"]
    assert sorted(_targets(ds)) == sorted(int(t) for _, t in local)


def test_s3_with_workers_and_prefetch(s3_shards, tmp_path):
    ds = create_dataset(
        "wds/", root=s3_shards, split="train", image_backend="bytes", is_training=True, batch_size=2,
        cache_dir=tmp_path / "c", cache_limit="10MB", sample_shuffle_size=4, sample_initial_size=2, seed=1,
    )  # fmt: skip
    ds.set_loader_cfg(num_workers=2, batch_size=2, drop_last=True)
    loader = DataLoader(ds, batch_size=2, num_workers=2, drop_last=True)
    seen = [int(t) for _, y in loader for t in y]
    assert set(seen) == set(range(N)) and len(seen) == len(ds)
    assert len(ds.reader.cache.entries()) == len(LENGTHS) - 1  # the empty shard is never read


def test_missing_shard_raises_naming_url_or_is_skipped_whole(s3_server, tmp_path):
    local = tmp_path / "wds"
    write_wds(local, [3, 4, 2])
    (local / "train-000000.tar").unlink()
    s3_server.upload(local, "s3://pp-missing/wds")
    url = "s3://pp-missing/wds/train-000000.tar"
    for cache_dir in (None, tmp_path / "c"):
        ds = create_dataset("wds/", root="s3://pp-missing/wds", split="train", cache_dir=cache_dir)
        with pytest.raises(SampleError, match=url):
            list(ds)
        skip = create_dataset(
            "wds/", root="s3://pp-missing/wds", split="train", cache_dir=cache_dir, on_error="skip",
            max_skips=2,  # a whole missing shard does not count as consecutive bad samples
        )  # fmt: skip
        assert len(list(skip)) == 9  # counts never change: the missing samples are stood in for
        report = skip.skip_report()
        assert report.num_skipped == 3 and {r.shard for r in report.records} == {url}
        assert "does not exist" in report.records[0].error


def test_transient_failures_are_retried_with_backoff(tmp_path):
    write_wds(tmp_path / "www", [3, 2], image=False)
    server = FaultyHTTP(tmp_path / "www")
    try:
        url = server.url
        for cache_dir in (tmp_path / "c", None):  # the cache's download, then a streamed shard
            server.fail["train-000001.tar"] = 2  # fails twice, then succeeds
            ds = create_dataset(
                "wds/", root=url, split="train", image_backend="bytes", cache_dir=cache_dir, retries=2
            )
            ds.reader.source.backoff = 0.01
            if ds.reader.cache is not None:
                ds.reader.cache.backoff = 0.01
            assert _targets(ds) == list(range(5))
            assert server.fail["train-000001.tar"] == 0
        server.fail["train-000000.tar"] = 3  # one failure more than the retries allow
        cache = ShardCache(tmp_path / "c2", retries=2, backoff=0.01)
        with pytest.raises(StreamError, match=rf"{url}train-000000\.tar.*after 3 attempts.*503"):
            cache.fetch(url + "train-000000.tar")
        assert cache.entries() == [] and os.listdir(tmp_path / "c2" / ".tmp") == []
        server.fail["nope.tar"] = 5
        with pytest.raises(DatasetNotFoundError):  # a 404 is not retried
            ShardCache(tmp_path / "c3", retries=0).fetch(url + "missing.tar")
    finally:
        server.close()


def _fill(cache: ShardCache, url: str, size: int) -> None:
    with cache.acquire(url) as local:
        assert os.path.getsize(local) == size


def test_cache_limit_evicts_lru_but_never_a_shard_being_read(tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    for i in range(6):
        (www / f"s{i}.bin").write_bytes(bytes([i]) * 1000)
    server = FaultyHTTP(www)
    try:
        cache = ShardCache(tmp_path / "c", limit=2500)
        with cache.acquire(server.url + "s0.bin") as pinned:  # being read while the others arrive
            for i in range(1, 6):
                _fill(cache, server.url + f"s{i}.bin", 1000)
                assert os.path.exists(pinned)
                assert cache.size() <= 2500 + 1000  # the limit, plus the shard being read
            _fill(cache, server.url + "s5.bin", 1000)  # a hit: s5 is now the most recently used
        _fill(cache, server.url + "s1.bin", 1000)  # s0 is no longer read: as the oldest, it goes
        names = sorted(os.path.basename(p).split("-", 1)[1] for p, *_ in cache.entries())
        assert cache.size() <= 2500 and names == ["s1.bin", "s5.bin"]
        assert server.gets["s5.bin"] == 1 and server.gets["s1.bin"] == 2
        with pytest.raises(ConfigError, match="cache limit"):
            ShardCache(tmp_path / "c", limit="lots")
        assert parse_size("1.5 GiB") == 1610612736
    finally:
        server.close()


def _fetch_in_process(cache_dir: str, url: str, out: str) -> None:
    cache = ShardCache(cache_dir)
    with cache.acquire(url) as local, open(local, "rb") as f:
        Path(out).write_bytes(f.read())


def test_two_processes_fetch_one_shard_once(tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    data = os.urandom(300_000)
    (www / "big.tar").write_bytes(data)
    server = FaultyHTTP(www, delay=0.5)  # both processes ask while the first download runs
    try:
        ctx = mp.get_context("spawn")
        args = [(str(tmp_path / "c"), server.url + "big.tar", str(tmp_path / f"out{i}")) for i in range(2)]
        procs = [ctx.Process(target=_fetch_in_process, args=a) for a in args]
        for p in procs:
            p.start()
        for p in procs:
            p.join(120)
            assert p.exitcode == 0
        assert (tmp_path / "out0").read_bytes() == (tmp_path / "out1").read_bytes() == data
        assert server.gets["big.tar"] == 1  # the second process waited for the first download
        assert os.listdir(tmp_path / "c" / ".tmp") == []
    finally:
        server.close()


def test_every_wait_has_a_timeout(tmp_path):
    from pixelpipe.streaming.cache import _flock

    cache = ShardCache(tmp_path / "c", timeout=0.3)
    url = "pipe:echo hello"
    lock = cache._lock(cache.path(url), ".fetch")
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:  # another "process" stuck fetching this shard
        with _flock(lock, True, 5, "test"):
            held.set()
            release.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    held.wait(5)
    try:
        with pytest.raises(StreamError, match=r"timed out after 0\.3s waiting for another process fetching"):
            cache.fetch(url)
    finally:
        release.set()
        t.join()
    assert Path(cache.fetch(url)).read_bytes() == b"hello\n"


def test_hfids_parquet_from_s3(s3_server, tmp_path):
    datasets = pytest.importorskip("datasets")
    from test_streaming_helpers import png

    feats = datasets.Features({"image": datasets.Image(), "label": datasets.ClassLabel(names=["a", "b"])})
    local = tmp_path / "hf"
    local.mkdir()
    for split, n in (("train", 7), ("validation", 3)):
        images = [{"bytes": png(i), "path": None} for i in range(n)]
        rows = {"image": images, "label": [i % 2 for i in range(n)]}
        datasets.Dataset.from_dict(rows, features=feats).to_parquet(str(local / f"{split}-00000.parquet"))
    s3_server.upload(local, "s3://pp-hf/data")
    for cache_dir in (None, tmp_path / "c"):
        ds = create_dataset("hfids/s3://pp-hf/data", split="train", cache_dir=cache_dir)
        assert len(ds) == 7 and [int(t) for _, t in ds] == [i % 2 for i in range(7)]
        val = create_dataset("hfids/s3://pp-hf/data/validation-*.parquet", split="validation",
                             cache_dir=cache_dir)  # fmt: skip
        assert len(val) == 3 and next(iter(val))[0].mode == "RGB"


def test_next_shard_is_prefetched_while_one_is_read(tmp_path):
    import time

    write_wds(tmp_path / "www", [3, 3, 3], image=False)
    server = FaultyHTTP(tmp_path / "www")
    try:
        ds = create_dataset(
            "wds/", root=server.url, split="train", image_backend="bytes", cache_dir=tmp_path / "c"
        )
        it = iter(ds)
        assert int(next(it)[1]) == 0  # reading shard 0 ...
        cache = ds.reader.cache
        want = cache.path(server.url + "train-000001.tar")
        deadline = time.monotonic() + 10
        while not os.path.exists(want) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert os.path.exists(want)  # ... shard 1 arrives without being asked for
        assert not os.path.exists(cache.path(server.url + "train-000002.tar"))  # one shard ahead only
        assert [int(t) for _, t in it] == list(range(1, 9))
        assert all(server.gets[f"train-00000{i}.tar"] == 1 for i in range(3))  # each fetched once
    finally:
        server.close()
