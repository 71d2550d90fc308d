"""Untrusted dataset metadata: the file lists that come with the data never run, escape or fetch.

A real shard folder (one shard of 6 samples) gets an ``_info.json`` whose ``filenames`` list has a second,
hostile entry. Each attack is refused when the dataset is created, with a ``ConfigError`` naming the info
file and the entry, and three tripwires prove that nothing happened:

* a marker file that a ``pipe:`` command would create;
* FIFOs (outside the root, and a shard inside it): opening one for reading blocks until a writer comes, so
  a watcher thread polls for a blocked reader (a non-blocking open for writing succeeds only then), notes
  it and lets it go (the reader sees end-of-file instead of hanging);
* a listening socket on 127.0.0.1 that notes every connection.

The same rule covers ``save_to_disk`` folders (``hfds/``, ``hfids/``), the shard writer and the command
line; what the caller writes (``root=``, a shard spec in ``split=``, ``pipe:`` commands, URLs) still works.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import posixpath
import re
import shlex
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from _fuzz import fuzz_settings
from pixelpipe.cli import main as cli_main
from pixelpipe.errors import ConfigError, DatasetNotFoundError
from pixelpipe.factories import create_dataset
from pixelpipe.shard_writer import write_shards
from pixelpipe.streaming.gopen import is_remote, join_url, local_path
from pixelpipe.streaming.shards import load_dataset_info
from pixelpipe.streaming.untrusted import check_data_name
from pixelpipe.synthetic import write_shapes_folder
from test_streaming_helpers import write_wds

SHARD = "train-000000.tar"


# --- tripwires ------------------------------------------------------------------------------------------


@dataclass
class Tripwires:
    """A marker a command would create, FIFOs an open would block on, a port a fetch would reach."""

    marker: Path
    fifos: list[Path]
    port: int
    opened: list[str] = field(default_factory=list)
    connections: list[str] = field(default_factory=list)

    def tripped(self) -> list[str]:
        """What happened so far: ``[]`` when nothing ran, nothing was opened and nothing connected."""
        out = [f"opened {p}" for p in self.opened] + [f"connection from {c}" for c in self.connections]
        return out + ([f"command ran: {self.marker} exists"] if self.marker.exists() else [])


def _release_readers(fifos: list[Path], opened: list[str]) -> None:
    """Note and release any reader blocked on one of ``fifos`` (a non-blocking writer open finds it)."""
    for fifo in fifos:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # ENXIO: nobody has it open for reading
            continue
        opened.append(str(fifo))
        os.close(fd)  # the reader gets end-of-file


@contextlib.contextmanager
def tripwires(folder: Path, inside: tuple[str, ...] = ()) -> Iterator[Tripwires]:
    """Set the tripwires: ``folder/outside.tar`` and ``folder/data/<inside>`` are FIFOs."""
    fifos = [folder / "outside.tar", *(folder / "data" / name for name in inside)]
    for fifo in fifos:
        if not fifo.exists():
            os.mkfifo(fifo)
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.01)
    wires = Tripwires(folder / "marker", fifos, server.getsockname()[1])
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            _release_readers(fifos, wires.opened)
            with contextlib.suppress(OSError):
                conn, addr = server.accept()
                wires.connections.append(f"{addr[0]}:{addr[1]}")
                conn.close()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield wires
    finally:
        stop.set()
        thread.join(timeout=10)
        _release_readers(fifos, wires.opened)
        server.close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """``tmp_path/data``: one real shard (6 samples) and a well-formed ``_info.json``."""
    write_wds(tmp_path / "data", [6])
    return tmp_path


def _write_info(root: Path, filenames: list, lengths: list[int] | None = None, name: str = "_info.json"):
    entry: dict = {"filenames": filenames}
    if lengths is not None:
        entry["shard_lengths"] = lengths
        entry["num_samples"] = sum(lengths)
    (root / "_info.json").unlink(missing_ok=True)
    path = root / name
    path.write_text(json.dumps({"splits": {"train": entry}}))
    return path


# Each attack as a function of the folder and the tripwires' port: the entry an attacker would list.
ATTACKS: dict[str, Callable[[Path, int], str]] = {
    "pipe-command": lambda f, port: f"pipe:touch {shlex.quote(str(f / 'marker'))}; cat {f / 'data' / SHARD}",
    "pipe-no-space": lambda f, port: f"pipe:touch${{IFS}}{f / 'marker'}",
    "parent": lambda f, port: "../outside.tar",
    "parent-nested": lambda f, port: "sub/../../outside.tar",
    "parent-dot": lambda f, port: "./../outside.tar",
    "absolute": lambda f, port: str(f / "outside.tar"),
    "absolute-double-slash": lambda f, port: "//" + str(f / "outside.tar").lstrip("/"),
    "http": lambda f, port: f"http://127.0.0.1:{port}/x.tar",
    "https": lambda f, port: f"https://127.0.0.1:{port}/x.tar",
    "ftp": lambda f, port: f"ftp://127.0.0.1:{port}/x.tar",
    "file-url": lambda f, port: f"file://{f / 'outside.tar'}",
    "file-url-relative": lambda f, port: "file:outside.tar",
    "s3": lambda f, port: "s3://bucket/x.tar",
    "gs": lambda f, port: "gs://bucket/x.tar",
    "hf": lambda f, port: "hf://datasets/someone/x/x.tar",
    "data-url": lambda f, port: "data:application/x-tar;base64,AAAA",
    "scheme-inside": lambda f, port: f"sub/http://127.0.0.1:{port}/x.tar",
    "drive-letter": lambda f, port: "C:outside.tar",
    "nul": lambda f, port: f"{SHARD}\x00../outside.tar",
    "backslash": lambda f, port: "..\\outside.tar",
    "backslash-plain": lambda f, port: "sub\\train-000000.tar",
    "empty": lambda f, port: "",
}


def _check_refused(err: pytest.ExceptionInfo, info_path: Path | str, entry: object) -> None:
    text = str(err.value)
    assert str(info_path) in text, text
    assert repr(entry) in text, text


def test_tripwires_notice_what_they_guard(folder):
    """The tripwires are not vacuous: an open, a connection and the command each show up."""
    from pixelpipe.streaming.gopen import open_stream

    with tripwires(folder, inside=("fifo-0.tar",)) as wires:
        with open(folder / "outside.tar", "rb") as f:  # blocks until the watcher lets it go
            assert f.read() == b""
        with open_stream(str(folder / "data" / "fifo-0.tar")) as f:
            assert f.read() == b""
        with socket.create_connection(("127.0.0.1", wires.port), timeout=5):
            pass
        with open_stream(ATTACKS["pipe-command"](folder, wires.port)) as f:
            f.read()
        deadline = time.monotonic() + 5
        while len(wires.connections) < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert wires.opened == [str(folder / "outside.tar"), str(folder / "data" / "fifo-0.tar")]
    assert len(wires.connections) == 1 and (folder / "marker").exists()
    assert len(wires.tripped()) == 4


# --- wds/: the four attacks of the issue and their relatives ------------------------------------------


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_hostile_info_entry_is_refused_at_creation(folder, attack):
    root = folder / "data"
    with tripwires(folder) as wires:
        entry = ATTACKS[attack](folder, wires.port)
        info = _write_info(root, [SHARD, entry], [6, 1])
        with pytest.raises(ConfigError) as err:
            create_dataset("wds/toy", root=str(root), split="train")
    _check_refused(err, info, entry)
    assert wires.tripped() == []


@pytest.mark.parametrize("attack", ["pipe-command", "parent", "absolute", "http"])
@pytest.mark.parametrize("info_name", ["_info.json", "info.json"])
def test_the_issue_attacks_without_shard_lengths_and_in_info_json(folder, attack, info_name):
    """No ``shard_lengths``: the reader would open every shard to count it, so the check comes first.

    The first shard is a FIFO inside the root: the well-formed entry is not opened either.
    """
    root = folder / "data"
    with tripwires(folder, inside=("fifo-0.tar",)) as wires:
        entry = ATTACKS[attack](folder, wires.port)
        info = _write_info(root, ["fifo-0.tar", entry], name=info_name)
        with pytest.raises(ConfigError) as err:
            create_dataset("wds/toy", root=root, split="train", is_training=True, batch_size=2)
    _check_refused(err, info, entry)
    assert wires.tripped() == []


def test_a_hostile_entry_in_another_split_refuses_the_file(folder):
    """The info file is checked whole: a user naming the good split still gets the error, not a half trust."""
    root = folder / "data"
    info = {
        "splits": {
            "train": {"filenames": [SHARD], "shard_lengths": [6]},
            "val": {"filenames": ["pipe:touch marker"], "shard_lengths": [1]},
        }
    }
    (root / "_info.json").write_text(json.dumps(info))
    with pytest.raises(ConfigError, match=r"_info\.json.*'val'.*filenames\[0\].*'pipe:touch marker'"):
        create_dataset("wds/toy", root=root, split="train")
    with pytest.raises(ConfigError, match="pipe:touch marker"):
        load_dataset_info(root)


@pytest.mark.parametrize("filenames", ["pipe:touch marker", {"a": SHARD}, 5])
def test_filenames_must_be_a_list(folder, filenames):
    root = folder / "data"
    (root / "_info.json").write_text(json.dumps({"splits": {"train": {"filenames": filenames}}}))
    with pytest.raises(ConfigError, match=r"_info\.json.*'filenames' must be a list"):
        create_dataset("wds/toy", root=root, split="train")


def test_non_string_entry_and_non_object_splits_are_refused(folder):
    root = folder / "data"
    _write_info(root, [SHARD, 7], [6, 1])
    with pytest.raises(ConfigError, match=r"filenames\[1\]: entry 7 must be a file name"):
        create_dataset("wds/toy", root=root, split="train")
    (root / "_info.json").write_text(json.dumps({"splits": ["train"]}))
    with pytest.raises(ConfigError, match=r"'splits' must be an object"):
        create_dataset("wds/toy", root=root, split="train")


# --- what stays working -------------------------------------------------------------------------------


def _targets(ds) -> list[int]:
    return [int(t) for _, t in ds]


@pytest.mark.parametrize("spelling", [SHARD, f"./{SHARD}", f"sub/{SHARD}", f"sub/./{SHARD}"])
def test_well_formed_info_keeps_working(folder, spelling):
    root = folder / "data"
    if spelling.startswith("sub/"):
        (root / "sub").mkdir()
        (root / SHARD).rename(root / "sub" / SHARD)
    _write_info(root, [spelling], [6])
    with tripwires(folder) as wires:
        ds = create_dataset("wds/toy", root=root, split="train", image_backend="bytes")
        assert _targets(ds) == list(range(6))
        file_root = create_dataset("wds/toy", root=f"file://{root}", split="train", image_backend="bytes")
        assert _targets(file_root) == list(range(6))
    assert wires.tripped() == []


def test_caller_written_specs_stay_trusted(folder):
    """``pipe:`` commands, absolute paths and ``..`` in ``split=`` come from the caller: they work."""
    root = folder / "data"
    shard = root / SHARD
    piped = create_dataset(
        "wds/", root=root, split=f"pipe:cat {shlex.quote(str(shard))}|6", image_backend="bytes"
    )
    assert _targets(piped) == list(range(6))
    absolute = create_dataset("wds/", root=root, split=f"{shard}", image_backend="bytes")
    assert _targets(absolute) == list(range(6))
    (root / "sub").mkdir()
    parent = create_dataset("wds/", root=root / "sub", split=f"../{SHARD}", image_backend="bytes")
    assert _targets(parent) == list(range(6))


def test_pipe_root_appends_only_shell_literal_names(folder):
    """A ``pipe:`` root (the caller's command) reads its info file; listed names cannot add shell syntax."""
    root = folder / "data"
    pipe_root = f"pipe:cat {root}"
    ds = create_dataset("wds/", root=pipe_root, split="train", image_backend="bytes")
    assert _targets(ds) == list(range(6)) and ds.reader.source.paths == [f"{pipe_root}/{SHARD}"]
    with tripwires(folder) as wires:
        for entry in (
            f"{SHARD};touch${{IFS}}{folder / 'marker'}",
            f"$(touch {folder / 'marker'})",
            "a b.tar",
        ):
            _write_info(root, [SHARD, entry], [6, 1])
            with pytest.raises(ConfigError, match="shell would interpret") as err:
                create_dataset("wds/", root=pipe_root, split="train")
            _check_refused(err, f"{pipe_root}/_info.json", entry)
    assert wires.tripped() == []


# --- remote roots -------------------------------------------------------------------------------------


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def _serve(folder: Path) -> Iterator[tuple[str, list[str]]]:
    """``(url, requested paths)``: ``folder`` served on 127.0.0.1, every request's path noted."""
    requests: list[str] = []

    class Noting(_Handler):
        def do_GET(self) -> None:
            requests.append(self.path)
            super().do_GET()

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Noting, directory=str(folder))
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_remote_root_info_may_name_urls_under_its_own_prefix(tmp_path):
    www = tmp_path / "www"
    write_wds(www / "shards", [6], image=False)
    with _serve(www) as (url, requests):
        root = url + "shards/"
        _write_info(www / "shards", [root + SHARD], [6])
        ds = create_dataset("wds/", root=root, split="train", image_backend="bytes")
        assert _targets(ds) == list(range(6)) and ds.reader.source.paths == [root + SHARD]
        _write_info(www / "shards", [SHARD], [6])  # relative: the same shard
        assert _targets(
            create_dataset("wds/", root=url + "shards", split="train", image_backend="bytes")
        ) == [*range(6)]
        assert all(r.startswith("/shards/") for r in requests), requests


def test_remote_root_info_naming_another_host_or_prefix_is_refused(tmp_path):
    www, elsewhere = tmp_path / "www", tmp_path / "elsewhere"
    write_wds(www / "shards", [6], image=False)
    write_wds(elsewhere, [6], image=False)
    (www / "secret.tar").write_bytes((www / "shards" / SHARD).read_bytes())
    with _serve(www) as (url, requests), _serve(elsewhere) as (other, other_requests):
        root = url + "shards/"
        hostile = [
            other + SHARD,  # another host (port)
            url + "secret.tar",  # the same host, outside the prefix
            url + "shards-evil/" + SHARD,  # a prefix of the prefix, not under it
            root + "../secret.tar",
            root + "%2e%2e/secret.tar",
            "%2E%2E/secret.tar",
            "../secret.tar",
            "/secret.tar",
            f"pipe:curl -s {other}{SHARD}",
            root,
        ]
        for entry in hostile:
            info = _write_info(www / "shards", [SHARD, entry], [6, 6])
            requests.clear()
            with pytest.raises(ConfigError) as err:
                create_dataset("wds/", root=root, split="train")
            _check_refused(err, url + "shards/_info.json", entry)
            assert requests == ["/shards/_info.json"], (entry, requests)  # only the info file was read
        assert other_requests == []
    assert info.exists()


# --- other places that read lists shipped with the data -----------------------------------------------


def test_shard_writer_refuses_a_hostile_info_before_writing(folder, tmp_path):
    src = tmp_path / "src"
    write_shapes_folder(src, per_class=2, size=16)
    out = folder / "data"
    _write_info(out, [SHARD, "../outside.tar"], [6, 1])
    before = sorted(os.listdir(out))
    with pytest.raises(ConfigError, match=r"_info\.json.*'\.\./outside\.tar'"):
        write_shards(src, out, split="val", progress=False)
    assert sorted(os.listdir(out)) == before  # nothing written
    _write_info(out, [SHARD], [6])
    entry = write_shards(src, out, split="val", max_count=3, progress=False)
    info = load_dataset_info(out)
    assert info["splits"]["train"]["filenames"] == [SHARD] and info["splits"]["val"] == entry


def test_command_line_runs_nothing_from_a_hostile_folder(folder, capsys):
    root = folder / "data"
    with tripwires(folder) as wires:
        _write_info(root, [SHARD, ATTACKS["pipe-command"](folder, wires.port)], [6, 1])
        cli_main(["inspect", str(root)])  # reads the tars as a folder of archives, not the info file
        capsys.readouterr()
        # the CLI ends on pixelpipe's errors with one line naming the problem and exit code 2
        assert cli_main(["demo", "--quick", "--data", str(root), "--out", str(folder / "out")]) == 2
        assert "error: " in (err := capsys.readouterr().err) and "shell command" in err
        _write_info(root, [SHARD, "../outside.tar"], [6, 1])
        assert cli_main(["shard", str(folder / "nothing"), str(root)]) == 2
        assert "'../outside.tar'" in capsys.readouterr().err
    assert wires.tripped() == []


def _hf_folder(tmp_path: Path, dict_layout: bool) -> Path:
    datasets = pytest.importorskip("datasets")
    ds = datasets.Dataset.from_dict({"image": [b"x", b"y"], "label": [0, 1]})
    datasets.disable_progress_bars()
    try:
        if dict_layout:
            datasets.DatasetDict({"train": ds}).save_to_disk(str(tmp_path / "data" / "hf"))
        else:
            ds.save_to_disk(str(tmp_path / "data" / "hf"))
    finally:
        datasets.enable_progress_bars()
    return tmp_path / "data" / "hf"


@pytest.mark.parametrize("prefix", ["hfds", "hfids"])
@pytest.mark.parametrize("entry", ["../../outside.tar", "ABSOLUTE", "pipe:touch marker", "x\\y.arrow"])
def test_save_to_disk_state_json_names_are_checked(tmp_path, prefix, entry):
    hf = _hf_folder(tmp_path, dict_layout=False)
    entry = str(tmp_path / "outside.tar") if entry == "ABSOLUTE" else entry
    state = json.loads((hf / "state.json").read_text())
    assert create_dataset(f"{prefix}/{hf}", split="train", input_key="image", num_samples=2) is not None
    state["_data_files"].append({"filename": entry})
    (hf / "state.json").write_text(json.dumps(state))
    with tripwires(tmp_path) as wires, pytest.raises(ConfigError) as err:
        create_dataset(f"{prefix}/{hf}", split="train", input_key="image", num_samples=2)
    _check_refused(err, hf / "state.json", entry)
    assert "_data_files[1]" in str(err.value)
    assert wires.tripped() == []


@pytest.mark.parametrize("prefix", ["hfds", "hfids"])
def test_save_to_disk_dataset_dict_names_are_checked(tmp_path, prefix):
    hf = _hf_folder(tmp_path, dict_layout=True)
    meta = hf / "dataset_dict.json"
    meta.write_text(json.dumps({"splits": ["train", "../.."]}))
    with tripwires(tmp_path) as wires:
        with pytest.raises(ConfigError) as err:
            create_dataset(f"{prefix}/{hf}", split="train", input_key="image", num_samples=2)
        _check_refused(err, meta, "../..")
        meta.write_text(json.dumps({"splits": ["train"]}))
        state = hf / "train" / "state.json"
        data = json.loads(state.read_text())
        data["_data_files"] = [{"filename": str(tmp_path / "outside.tar")}]
        state.write_text(json.dumps(data))
        with pytest.raises(ConfigError) as err:
            create_dataset(f"{prefix}/{hf}", split="train", input_key="image", num_samples=2)
        _check_refused(err, state, str(tmp_path / "outside.tar"))
    assert wires.tripped() == []


def _card(configs: list) -> str:
    return "---\n" + json.dumps({"configs": configs}) + "\n---\n# a dataset\n"  # JSON is YAML


@pytest.mark.parametrize("prefix", ["hfds", "hfids"])
def test_dataset_card_data_files_are_checked(tmp_path, prefix):
    """A folder's README.md / .huggingface.yaml ``configs`` say where ``datasets`` reads: inside only."""
    datasets = pytest.importorskip("datasets")
    folder = tmp_path / "data" / "cards"
    (folder / "data").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    rows = datasets.Dataset.from_dict({"image": [b"x", b"y", b"z"], "label": [0, 1, 2]})
    rows.to_parquet(str(tmp_path / "elsewhere" / "secret.parquet"))
    rows.select(range(2)).to_parquet(str(folder / "data" / "train-0.parquet"))
    good = [{"config_name": "default", "data_files": [{"split": "train", "path": "data/*.parquet"}]}]
    (folder / "README.md").write_text(_card(good))
    ds = create_dataset(f"{prefix}/{folder}", root=tmp_path / "cache", split="train")
    assert len(ds) == 2  # the two rows inside, not the three outside
    outside = str(tmp_path / "elsewhere" / "*.parquet")

    def files(value: object) -> list:
        return [{"config_name": "default", "data_files": value}]

    hostile = {
        "README.md": [
            (files([{"split": "train", "path": "../../elsewhere/*"}]), "../../elsewhere/*"),
            (files({"train": [outside]}), outside),
            (files("http://127.0.0.1:9/x.parquet"), "http://127.0.0.1:9/x.parquet"),
            ([{"config_name": "default", "data_dir": "../../elsewhere"}], "../../elsewhere"),
        ],
        ".huggingface.yaml": [(files([{"split": "train", "path": [outside]}]), outside)],
    }
    for card_name, cases in hostile.items():
        for configs, entry in cases:
            (folder / "README.md").write_text(_card(good))
            text = _card(configs) if card_name == "README.md" else json.dumps({"configs": configs})
            (folder / card_name).write_text(text)
            with pytest.raises(ConfigError) as err:
                create_dataset(f"{prefix}/{folder}", root=tmp_path / "cache", split="train")
            _check_refused(err, folder / card_name, entry)
            (folder / card_name).unlink()


# --- fuzz: random shard lists never run, escape or connect --------------------------------------------

_PIECES = ["..", ".", "sub", SHARD, "outside.tar", "", "%2e%2e", "~", "pipe:", "C:", "\\", "\x00", "http:"]


@st.composite
def _entries(draw, folder: Path, port: int) -> object:
    kind = draw(st.integers(0, 4))
    if kind == 0:
        return ATTACKS[draw(st.sampled_from(sorted(ATTACKS)))](folder, port)
    if kind == 1:  # paths glued from dangerous pieces
        return "/".join(draw(st.lists(st.sampled_from(_PIECES), min_size=1, max_size=5)))
    if kind == 2:
        return draw(st.text(alphabet=st.sampled_from("./\\:%~$;| \x00ab-_ptihf"), max_size=12))
    if kind == 3:
        return draw(st.none() | st.integers() | st.booleans() | st.lists(st.just(SHARD), max_size=2))
    return SHARD


@pytest.mark.fuzz
@fuzz_settings(60)
@given(data=st.data())
def test_fuzz_info_files_never_execute_escape_or_connect(tmp_path_factory, data):
    """Random shard lists (hostile pieces, random text, wrong types): a reader whose every shard lies inside
    the root, or a documented error; never a command, an outside file or a connection."""
    base = tmp_path_factory.mktemp("fuzzinfo")
    write_wds(base / "data", [3], image=False)
    root = base / "data"
    with tripwires(base) as wires:
        entries = data.draw(st.lists(_entries(base, wires.port), min_size=1, max_size=4))
        shape = data.draw(st.integers(0, 2))
        if shape == 0:
            doc: object = {"splits": {"train": {"filenames": entries}}}
        elif shape == 1:
            doc = {"splits": {"train": {"filenames": entries, "shard_lengths": [3] * len(entries)}}}
        else:
            doc = {
                "splits": {"train": {"filenames": [SHARD], "shard_lengths": [3]}, "x": {"filenames": entries}}
            }
        (root / "_info.json").write_text(json.dumps(doc))
        try:
            ds = create_dataset("wds/", root=root, split="train", image_backend="bytes")
        except (ConfigError, DatasetNotFoundError):
            ds = None
        if ds is not None:
            inside = os.path.realpath(root) + os.sep
            for path in ds.reader.source.paths:
                assert not is_remote(path), path
                assert os.path.realpath(local_path(path)).startswith(inside), path
            with contextlib.suppress(ConfigError, DatasetNotFoundError, OSError):
                list(ds)
    assert wires.tripped() == []


@pytest.mark.fuzz
@fuzz_settings(300)
@given(st.text(max_size=20), st.sampled_from(["/data/root", "https://host/root/", "file:///data/root"]))
def test_fuzz_check_data_name_accepts_only_names_inside_the_root(name, root):
    """Any accepted name, joined to its root, stays under it: no scheme, no '..', no NUL or backslash."""
    try:
        check_data_name(name, root, "fuzz")
    except ConfigError as e:
        assert "fuzz: entry" in str(e)
        return
    joined = join_url(root, name)
    if is_remote(root) or root.startswith("file://"):
        base = root.rstrip("/") + "/"
        assert joined.startswith(base), joined
        rel = urllib.parse.unquote(joined[len(base) :])
    else:
        assert not is_remote(joined) and not joined.startswith("file:"), joined
        rel = os.path.relpath(joined, root)
    assert rel and "\x00" not in rel and "\\" not in rel
    assert not posixpath.normpath(rel).startswith(("..", "/")), (name, rel)
    assert not re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", rel), rel
