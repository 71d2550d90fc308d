"""Every script in examples/ runs on tiny generated data."""

from __future__ import annotations

import importlib.util
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pets_custom_reader(capsys):
    result = _load("pets_custom_reader").main(["--img-size", "32"])
    assert result["len"] == 12
    assert result["classes"] == {"Abyssinian": 0, "great_pyrenees": 1}
    assert result["shape"] == (4, 3, 32, 32)
    assert "first batch" in capsys.readouterr().out
