"""The package is typed, and its type checking is not switched off piece by piece (static scans; mypy
itself runs in ``.ci/run``, not here).

* ``py.typed`` ships in the package, so type checkers read pixelpipe's annotations.
* Every ``# type: ignore`` in ``src/pixelpipe`` names its error code(s) and says on the same line why the
  checker is wrong there: ``# type: ignore[code]  # reason``.
* No file opts out with ``# mypy: ignore-errors`` (or any inline ``# mypy:`` setting), and the mypy
  configuration turns off no error for pixelpipe's own modules.
"""

from __future__ import annotations

import importlib.resources
import io
import re
import sys
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "pixelpipe"
FILES = sorted(SRC.rglob("*.py"))

#: ``# type: ignore[code, other-code]`` then two spaces, ``#`` and a reason of a few words.
_IGNORE = re.compile(r"type:\s*ignore")
_WELL_FORMED = re.compile(r"# type: ignore\[[a-z][a-z0-9-]*(?:, ?[a-z][a-z0-9-]*)*\]  # (?P<reason>.+)$")
_MIN_REASON = 12  # characters: "why" in a few words, not a placeholder such as "ok" or "mypy"


def _comments(path: Path) -> list[tuple[int, str]]:
    """``(line, text)`` of every comment token (strings that merely mention ``type: ignore`` are not)."""
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
    return [(tok.start[0], tok.string) for tok in tokens if tok.type == tokenize.COMMENT]


def _ignore_problem(comment: str) -> str | None:
    """Why a comment holding ``type: ignore`` breaks the rule (``None``: it follows it)."""
    start = _IGNORE.search(comment)
    if start is None:
        return None
    text = comment[comment.rfind("#", 0, start.start()) :]
    m = _WELL_FORMED.match(text)
    if m is None:
        return "needs the form '# type: ignore[error-code]  # reason' (codes named, reason on the same line)"
    if len(m.group("reason").strip()) < _MIN_REASON:
        return f"the reason {m.group('reason').strip()!r} is too short to say why the checker is wrong"
    return None


def test_py_typed_ships_in_the_package():
    marker = SRC / "py.typed"
    assert marker.is_file(), "src/pixelpipe/py.typed is missing: type checkers would ignore the annotations"
    assert importlib.resources.files("pixelpipe").joinpath("py.typed").is_file()  # the installed package
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    # hatchling puts the whole folder in the wheel (pixelpipe/py.typed was checked in a built wheel)
    assert 'packages = ["src/pixelpipe"]' in pyproject and "exclude" not in pyproject.split("[tool.hatch")[1]


def test_the_rule_itself():
    good = "# type: ignore[attr-defined]  # a real TarFile attribute that typeshed omits"
    assert _ignore_problem(good) is None
    assert _ignore_problem("# host-sync: once  # type: ignore[index, misc]  # NumPy's stubs lack it") is None
    assert _ignore_problem("# an ordinary comment") is None
    for bad in (
        "# type: ignore",
        "# type: ignore  # no code given",
        "# type: ignore[override]",
        "# type: ignore[override] # one space only before the reason",
        "# type: ignore[override]  # ok",
        "# type:ignore[override]  # the reason is here but the form is not",
    ):
        assert _ignore_problem(bad) is not None, bad


def test_every_type_ignore_names_its_code_and_its_reason():
    assert len(FILES) > 50, "the scan found too few source files"
    bad = [
        f"{path.relative_to(ROOT)}:{line}: {problem}\n    {text}"
        for path in FILES
        for line, text in _comments(path)
        if (problem := _ignore_problem(text)) is not None
    ]
    assert not bad, "type: ignore without an error code or a reason:\n" + "\n".join(bad)


def test_no_file_opts_out_of_type_checking():
    inline = [
        f"{path.relative_to(ROOT)}:{line}: {text}"
        for path in FILES
        for line, text in _comments(path)
        if re.match(r"#\s*mypy\s*:", text)
    ]
    assert not inline, "inline mypy settings (# mypy: ...) switch checks off per file:\n" + "\n".join(inline)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is in the standard library from 3.11")
def test_mypy_configuration_checks_our_modules():
    import tomllib

    with open(ROOT / "pyproject.toml", "rb") as f:
        mypy = tomllib.load(f)["tool"]["mypy"]
    assert mypy["files"] == ["src/pixelpipe"]
    assert not mypy.get("ignore_errors", False)
    assert "ignore-without-code" in mypy.get("enable_error_code", [])
    assert mypy.get("warn_unused_ignores") is True
    for override in mypy.get("overrides", []):
        modules = override["module"]
        modules = [modules] if isinstance(modules, str) else modules
        ours = [m for m in modules if m == "pixelpipe" or m.startswith("pixelpipe.")]
        if ours:
            switched_off = {"ignore_errors", "disable_error_code", "follow_imports"} & set(override)
            assert not switched_off, f"the mypy override for {ours} turns checks off: {sorted(switched_off)}"
        else:  # third-party modules: only their missing type information may be excused
            assert set(override) <= {"module", "ignore_missing_imports", "follow_untyped_imports"}, override


def test_ci_type_checks_before_the_tests():
    steps = [line.strip() for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    mypy = next(i for i, s in enumerate(steps) if s.startswith("python3 -m uv run --locked mypy"))
    pytest_step = next(i for i, s in enumerate(steps) if s.startswith("python3 -m uv run --locked pytest"))
    assert mypy < pytest_step
