"""The shape of the source tree: small modules (issue 17's "no module is over 800 lines").

A static scan of ``src/pixelpipe``; nothing is imported or run.
"""

from __future__ import annotations

import ast
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


#: The helpers issue 17 found written twice (level functions in the registry and the batched sampler; torch
#: maths in the per-image and the batched tier). Each must now be defined in one module only.
ONCE = (
    "_rotate",
    "_shear",
    "_translate_abs",
    "_translate_rel",
    "_posterize",
    "_posterize_increasing",
    "_posterize_original",
    "_solarize",
    "_solarize_increasing",
    "_solarize_add",
    "_enhance",
    "_enhance_increasing",
    "_apply_lut",
    "_blend",
    "_luma",
    "_histograms",
    "_box_radius",
    "_cubic",
    "_equalize",
    "_UNIFORM_MSTD",
)
AUGMENT_PACKAGES = ("augment", "batch", "ops", "transforms", "device")


def _augment_modules() -> list[Path]:
    return [p for p in _modules() if p.relative_to(SRC).parts[0] in AUGMENT_PACKAGES]


def _top_level_names(tree: ast.Module) -> list[str]:
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [t.id for t in targets if isinstance(t, ast.Name)]
    return names


def test_the_helpers_issue_17_found_twice_are_defined_once() -> None:
    where: dict[str, list[str]] = {}
    for path in _augment_modules():
        for name in _top_level_names(ast.parse(path.read_text(encoding="utf-8"))):
            if name in ONCE:
                where.setdefault(name, []).append(path.relative_to(SRC).as_posix())
    twice = {name: paths for name, paths in where.items() if len(paths) > 1}
    assert not twice, f"defined in more than one module: {twice}"


def _body_shape(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """The function's body with its docstring dropped and every name, attribute and constant kept: two
    functions with the same shape are the same code under two names (or one name in two modules)."""
    body = list(node.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    if sum(1 for _ in ast.walk(ast.Module(body=body, type_ignores=[]))) < 40:  # too small to be a copy
        return None
    return "\n".join(ast.dump(stmt, annotate_fields=False) for stmt in body)


def test_no_augmentation_function_is_written_twice() -> None:
    seen: dict[str, str] = {}
    copies = []
    for path in _augment_modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                shape = _body_shape(node)
                if shape is None:
                    continue
                here = f"{path.relative_to(SRC).as_posix()}:{node.name}"
                if shape in seen:
                    copies.append((seen[shape], here))
                else:
                    seen[shape] = here
    assert not copies, f"the same function body in two places: {copies}"


def test_the_copy_scan_sees_a_copy() -> None:
    source = (
        "def a(x):\n    y = x + 1\n    z = [y * i for i in range(10) if i % 2]\n    return sum(z) + max(z)\n"
    )
    first = ast.parse(source).body[0]
    second = ast.parse(source.replace("def a", "def b")).body[0]
    assert isinstance(first, ast.FunctionDef) and isinstance(second, ast.FunctionDef)
    assert _body_shape(first) is not None and _body_shape(first) == _body_shape(second)
