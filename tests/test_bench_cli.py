"""``pixelpipe bench``: the table's shape and rows on the smallest settings (timings are never asserted)."""

from __future__ import annotations

import re

import pytest

import pixelpipe.bench.transforms as bt
from conftest import encode, make_image
from pixelpipe.cli import main

SMALL = ["bench", "--quick", "--images", "4", "--rounds", "1"]
CELL = re.compile(r"^\d+\.\d$")


def _table(out: str) -> list[list[str]]:
    """The first table (default path) as cells."""
    lines = out.splitlines()
    start = lines.index(bt.HEADER)
    assert lines[start + 1] == "|---|---:|---:|---:|"
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows


def _opt_in(out: str) -> list[list[str]]:
    """The second table (opt-in paths) as cells."""
    lines = out.splitlines()
    start = lines.index(bt.OPT_IN_HEADER)
    assert lines[start + 1] == "|---|---|---:|---:|---:|"
    return [
        [c.strip() for c in line.strip("|").split("|")] for line in lines[start + 2 :] if line.startswith("|")
    ]


@pytest.fixture(autouse=True)
def _no_env_photos(monkeypatch):
    monkeypatch.delenv("PIXELPIPE_PHOTOS", raising=False)


def test_bench_listed_in_help(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "bench" in capsys.readouterr().out


def test_bench_eval_row(capsys):
    assert main([*SMALL, "--rows", "eval"]) == 0
    captured = capsys.readouterr()
    assert "4 JPEGs x 1 rounds" in captured.out
    assert "ImageDataset(folder, transform=create_transform(224, ...))" in captured.out  # the default path
    (row,) = _table(captured.out)
    assert len(row) == 4 and row[0] == "eval `create_transform(224)`"
    assert CELL.match(row[2])
    assert (CELL.match(row[1]) and row[3].endswith("x")) or row[1] == row[3] == "n/a"
    opt = _opt_in(captured.out)
    assert [r[1] for r in opt] == [label for label, _, _ in bt.OPT_IN]
    assert all(r[0] == row[0] and CELL.match(r[3]) for r in opt)
    assert "it/s" not in captured.err and "round" not in captured.err  # no progress bar off a terminal


def test_bench_without_reference_prints_na(monkeypatch, capsys, tmp_path):
    def no_timm(*args):
        raise ModuleNotFoundError("No module named 'timm'")

    monkeypatch.setattr(bt, "_reference_runners", no_timm)
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(2):
        (photos / f"p{i}.jpg").write_bytes(encode(make_image(i, (600, 500))))
    assert main([*SMALL, "--rows", "1,rand", "--photos", str(photos)]) == 0
    out = capsys.readouterr().out
    rows = _table(out)
    assert [r[0] for r in rows] == ["eval `create_transform(224)`", "train `rand-m9-mstd0.5-inc1`"]
    assert all(r[1] == "n/a" and r[3] == "n/a" and CELL.match(r[2]) for r in rows)
    opt = _opt_in(out)
    assert len(opt) == 2 * len(bt.OPT_IN)
    assert all(r[2] == "n/a" and CELL.match(r[3]) and r[4] == "n/a" for r in opt)  # every path measured
    assert "note: eval `create_transform(224)`: reference unavailable" in out


@pytest.mark.parametrize("bad", [["--rows", "nine"], ["--rounds", "0"], ["--photos", "/nonexistent/photos"]])
def test_bench_rejects_bad_flags(bad, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*SMALL, *bad])
    assert exc.value.code == 2
