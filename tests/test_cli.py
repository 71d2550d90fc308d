"""The command line: help, the demo's quick run, inspect."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pixelpipe.cli import main
from pixelpipe.synthetic import write_shapes_folder


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "demo" in out and "inspect" in out


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "usage: pixelpipe" in capsys.readouterr().out


def test_demo_quick_trains_and_writes_preview(tmp_path, capsys):
    assert main(["demo", "--quick", "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "5 classes" in out and "images/s" in out and "held-out accuracy" in out
    assert (tmp_path / "out" / "preview.png").stat().st_size > 1000
    assert (tmp_path / "out" / "shapes-train.tar").exists()


def test_demo_on_user_folder(tmp_path, capsys):
    write_shapes_folder(tmp_path / "data" / "train", per_class=3, size=40, classes=("circle", "star"))
    write_shapes_folder(
        tmp_path / "data" / "val", per_class=2, size=40, classes=("circle", "star"), split="validation"
    )
    assert main(["demo", "--quick", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "6 training images, 2 classes (circle, star)" in out


def test_inspect_reports_counts_and_bad_files(tmp_path, capsys):
    write_shapes_folder(tmp_path / "d", per_class=2, size=32, classes=("circle", "square"))
    (tmp_path / "d" / "square" / "broken.jpg").write_bytes(b"not an image")
    assert main(["inspect", str(tmp_path / "d")]) == 1
    out = capsys.readouterr().out
    assert "reader: ReaderImageFolder" in out and "samples: 5" in out
    assert "unreadable: 1" in out and "broken.jpg" in out


def test_module_entry_point():
    result = subprocess.run(
        [sys.executable, "-m", "pixelpipe", "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.startswith("pixelpipe ")


def test_demo_on_webdataset_shards(tmp_path, capsys):
    from pixelpipe.shard_writer import write_shards

    classes = ("circle", "star")
    write_shapes_folder(tmp_path / "src" / "train", per_class=4, size=40, classes=classes)
    write_shapes_folder(tmp_path / "src" / "val", per_class=2, size=40, classes=classes, split="validation")
    shards = tmp_path / "shards"
    write_shards(tmp_path / "src" / "train", shards, max_count=3, split="train", progress=False)
    write_shards(tmp_path / "src" / "val", shards, max_count=3, split="validation", progress=False)
    assert main(["demo", "--quick", "--data", str(shards), "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "2 classes (circle, star) [webdataset shards, split 'train']" in out
    assert "held-out accuracy" in out and "images/s" in out
    assert (tmp_path / "o" / "preview.png").stat().st_size > 1000


class _Terminal:
    """A stderr stand-in that says it is a terminal."""

    def __init__(self) -> None:
        self.text = ""

    def isatty(self) -> bool:
        return True

    def write(self, s: str) -> int:
        self.text += s
        return len(s)

    def flush(self) -> None:
        pass


@pytest.mark.parametrize("terminal", [True, False])
def test_tar_indexing_progress_only_on_a_terminal_for_big_archives(tmp_path, monkeypatch, terminal):
    import io
    import tarfile

    from pixelpipe.readers import tar as tar_reader

    path = tmp_path / "many.tar"
    with tarfile.open(path, "w") as tf:
        for i in range(2500):
            ti = tarfile.TarInfo(f"c{i % 2}/{i}.jpg")
            ti.size = 1
            tf.addfile(ti, io.BytesIO(b"x"))
    err = _Terminal() if terminal else io.StringIO()
    written = (lambda: err.text) if terminal else err.getvalue
    monkeypatch.setattr(tar_reader.sys, "stderr", err)
    reader = tar_reader.ReaderImageInTar(path, cache_tarinfo=False)  # small: quiet even on a terminal
    assert len(reader) == 2500 and written() == ""
    monkeypatch.setattr(tar_reader, "PROGRESS_MIN_MEMBERS", 1000)
    reader = tar_reader.ReaderImageInTar(path, cache_tarinfo=False)
    assert len(reader) == 2500
    assert ("indexing tar" in written()) == terminal


def test_bad_dataset_is_one_line_error_not_traceback(tmp_path, capsys):
    """A hostile info file (issue 20) stops the command with one line naming the entry, exit code 2."""
    import json

    folder = tmp_path / "shards"
    folder.mkdir()
    info = {"splits": {"train": {"filenames": ["../outside.tar"], "shard_lengths": [1]}}}
    (folder / "_info.json").write_text(json.dumps(info))
    assert main(["demo", "--quick", "--data", str(folder), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pixelpipe demo: error: ")
    assert "'../outside.tar'" in err and "Traceback" not in err
