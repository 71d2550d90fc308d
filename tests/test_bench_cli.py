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
    rows = [line for line in out.splitlines() if line.startswith("|")]
    assert rows[0] == bt.HEADER
    assert rows[1] == "|---|---:|---:|---:|---:|"
    return [[c.strip() for c in line.strip("|").split("|")] for line in rows[2:]]


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
    (row,) = _table(captured.out)
    assert len(row) == 5 and row[0] == "eval `create_transform(224)`"
    assert CELL.match(row[2]) and row[3] == "-"
    assert (CELL.match(row[1]) and row[4].endswith("x")) or row[1] == row[4] == "n/a"
    assert "it/s" not in captured.err and "round" not in captured.err  # no progress bar off a terminal


def test_bench_without_reference_prints_na(monkeypatch, capsys, tmp_path):
    def no_timm(cfg):
        raise ModuleNotFoundError("No module named 'timm'")

    monkeypatch.setattr(bt, "_reference_runner", no_timm)
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(2):
        (photos / f"p{i}.jpg").write_bytes(encode(make_image(i, (600, 500))))
    assert main([*SMALL, "--rows", "1,rand", "--photos", str(photos)]) == 0
    out = capsys.readouterr().out
    rows = _table(out)
    assert [r[0] for r in rows] == ["eval `create_transform(224)`", "train `rand-m9-mstd0.5-inc1`"]
    assert all(r[1] == "n/a" and r[4] == "n/a" for r in rows)
    assert CELL.match(rows[1][2]) and CELL.match(rows[1][3])  # tensor and hybrid paths both measured
    assert "note: eval `create_transform(224)`: reference unavailable" in out


@pytest.mark.parametrize("bad", [["--rows", "nine"], ["--rounds", "0"], ["--photos", "/nonexistent/photos"]])
def test_bench_rejects_bad_flags(bad, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*SMALL, *bad])
    assert exc.value.code == 2
