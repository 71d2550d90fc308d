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
