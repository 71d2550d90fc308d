"""The shape of the source tree: small modules (issue 17's "no module is over 800 lines").

A static scan of ``src/pixelpipe``; nothing is imported or run.
"""

from __future__ import annotations

from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "pixelpipe"
MAX_LINES = 800


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_the_scan_sees_the_package() -> None:
    names = {p.relative_to(SRC).as_posix() for p in _modules()}
    assert {"__init__.py", "batch/mixup.py", "device/pipeline.py", "augment/registry.py"} <= names


def test_no_module_is_over_800_lines() -> None:
    long = {
        p.relative_to(SRC).as_posix(): n
        for p in _modules()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines (split them by job): {long}"
