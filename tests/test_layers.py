"""The import graph between pixelpipe's subpackages has no cycle (issue 17).

Every module under ``src/pixelpipe`` is parsed with :mod:`ast` and every import is counted, including
imports inside functions and methods: an import deferred into a function still ties the two packages
together at run time, it only hides the tie.  Imports under ``if TYPE_CHECKING:`` are not counted:
they never run, so they create no runtime dependency.

Each module maps to a node: ``pixelpipe.<sub>.*`` to the subpackage ``<sub>``, a top-level module
(``pixelpipe.errors``, ``pixelpipe.rng``, ``pixelpipe.config``, ...) to itself.  ``pixelpipe/__init__``
is the public facade and is left out (it imports everything, and nothing inside the package may
import it).  See ARCHITECTURE.md for the layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "src" / "pixelpipe"


def _node(module: str) -> str | None:
    """The graph node of a dotted module name, or None when outside pixelpipe or the facade itself."""
    parts = module.split(".")
    if parts[0] != "pixelpipe" or len(parts) == 1:
        return None
    return parts[1]


def _module_name(path: Path) -> tuple[str, bool]:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    is_pkg = parts[-1] == "__init__"
    if is_pkg:
        parts = parts[:-1]
    return ".".join(parts), is_pkg


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module: str, is_pkg: bool) -> list[tuple[str, int]]:
    """(imported module, line) for every runtime import in ``tree``, wherever it sits."""
    package = module if is_pkg else module.rpartition(".")[0]
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:  # the else branch runs
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if node.module is None or target.count(".") == 0:
                # ``from . import x`` / ``from pixelpipe import x``: x may be a submodule
                found.extend((f"{target}.{alias.name}", node.lineno) for alias in node.names)
            else:
                found.append((target, node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph() -> dict[str, dict[str, list[str]]]:
    """{node: {imported node: ["module:line", ...]}} over every module under src/pixelpipe."""
    graph: dict[str, dict[str, list[str]]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        module, is_pkg = _module_name(path)
        src = _node(module)
        if src is None:
            continue
        edges = graph.setdefault(src, {})
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for target, line in _imports(tree, module, is_pkg):
            dst = _node(target)
            if dst is None or dst == src:
                continue
            if not (ROOT / dst).is_dir() and not (ROOT / f"{dst}.py").is_file():
                continue  # ``from pixelpipe import name``: a name of the facade, not a module
            edges.setdefault(dst, []).append(f"{module}:{line}")
    return graph


def cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return sorted(found)


def _describe(component: list[str], graph: dict[str, dict[str, list[str]]]) -> str:
    lines = [" <-> ".join(component)]
    for a in component:
        for b in component:
            if b in graph.get(a, {}):
                lines.append(f"  {a} -> {b}: {', '.join(graph[a][b][:4])}")
    return "\n".join(lines)


def test_graph_sees_function_level_imports():
    source = "def f():\n    from pixelpipe.datasets import x\nif TYPE_CHECKING:\n    import pixelpipe.io\n"
    tree = ast.parse(source)
    found = [m for m, _ in _imports(tree, "pixelpipe.readers.tar", False)]
    assert found == ["pixelpipe.datasets"]


def test_subpackage_import_graph_is_acyclic():
    graph = import_graph()
    found = cycles(graph)
    described = "\n".join(_describe(c, graph) for c in found)
    assert not found, f"import cycles between pixelpipe subpackages:\n{described}"


def test_bottom_protocols_and_device_import_nothing_above_them():
    graph = import_graph()
    assert set(graph["base"]) <= {"rng"}  # the Transform and Reader protocols
    assert "loader" not in graph["device"]  # the device's loader wiring lives in factories.device_loader
    assert "device" not in graph["loader"]  # create_loader, which builds the device path, is a factory
    assert "datasets" not in graph["streaming"]  # the shard writer is pixelpipe.shard_writer
    # the recipe sits low: the per-image transforms and the device path both read it
    assert set(graph["recipe"]) <= {"_checks", "constants", "errors"}


def test_factories_are_the_top_layer():
    """create_transform, create_dataset, create_loader and the device path's loader sit above every
    package they combine; nothing but the tools, the compat modules and the shard writer imports them."""
    graph = import_graph()
    assert {"transforms", "datasets", "loader", "device", "recipe"} <= set(graph["factories"])
    importers = {node for node, edges in graph.items() if "factories" in edges}
    tools = {"bench", "cli", "demo", "inspection", "preview", "shard_writer"}
    compat = {"dataset_factory", "transforms_factory"}
    assert importers <= tools | compat, sorted(importers - tools - compat)
