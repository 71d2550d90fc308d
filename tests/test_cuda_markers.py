"""Every test that uses CUDA is marked ``cuda``, so ``pytest -m cuda`` runs all of them on a GPU (a static
scan of the test files; runs everywhere).

A test that only names CUDA (a ``torch.device('cuda')`` handed to a function that merely reads it, a CUDA
exception class) and runs on the CPU says so with a ``# cuda-mark: not needed (<why>)`` comment.

A test uses CUDA when its code (decorators included, comments and docstrings left out) names the device
``"cuda"``, calls ``.cuda()`` or uses ``torch.cuda`` beyond ``is_available()``; it is marked when one of its
decorators is ``pytest.mark.cuda`` (directly or through a module-level alias) or the module's
``pytestmark`` holds it. Every ``pytest.param`` whose values name ``"cuda"`` must carry the mark too.
Unmarked-but-marked tests skip cleanly without a GPU: ``conftest.py`` skips every ``cuda`` item there.
"""

from __future__ import annotations

import ast
import io
import re
import textwrap
import tokenize
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
_USES_CUDA = re.compile(r"\"cuda\"|\.cuda\(|torch\.cuda\.(?!is_available\b|OutOfMemoryError\b)")
#: A test that names CUDA but runs on the CPU says so in a comment in its body, with the reason.
_OPT_OUT = "cuda-mark: not needed"


def _code_only(source: str, docstrings: bool = True) -> str:
    """``source`` (any indented snippet) as tokens, with comments and docstrings dropped and every other
    string replaced by ``"cuda"`` when it names the device, else ``""``."""
    out = []
    prev = tokenize.INDENT
    for tok in tokenize.generate_tokens(io.StringIO(textwrap.dedent(source)).readline):
        if tok.type == tokenize.COMMENT:
            continue
        if tok.type == tokenize.STRING:
            docstring = docstrings and prev in (
                tokenize.INDENT,
                tokenize.NEWLINE,
                tokenize.NL,
                tokenize.DEDENT,
            )
            prev = tok.type
            if not docstring:
                value = tok.string.strip("\"'rbfu")
                out.append('"cuda"' if re.fullmatch(r"cuda(?::\d+)?", value) else '""')
            continue
        if tok.type not in (tokenize.NL, tokenize.INDENT, tokenize.DEDENT):
            prev = tok.type
        out.append(tok.string)
    return " ".join(out).replace(" . ", ".").replace(" (", "(")


def _marks_cuda(node: ast.AST, source: str, aliases: set[str]) -> bool:
    text = ast.get_source_segment(source, node) or ""
    return "mark.cuda" in text or any(re.search(rf"\b{re.escape(a)}\b", text) for a in aliases)


def unmarked(path: Path) -> list[str]:
    """Tests (and ``pytest.param`` values) in ``path`` that use CUDA without the ``cuda`` mark."""
    source = path.read_text()
    tree = ast.parse(source)
    aliases = set()
    module_marked = False
    for node in tree.body:
        if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
            text = ast.get_source_segment(source, node.value) or ""
            names = {t.id for t in node.targets if isinstance(t, ast.Name)}
            if re.search(r"mark\.cuda\b", text) and "param(" not in text:
                aliases |= names
            if "pytestmark" in names and "mark.cuda" in text:
                module_marked = True
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and (ast.get_source_segment(source, node.func) or "").endswith("param"):
            values = [ast.get_source_segment(source, a) or "" for a in node.args]
            if any(_USES_CUDA.search(_code_only(v, docstrings=False)) for v in values):
                marks = [k.value for k in node.keywords if k.arg == "marks"]
                if not any(_marks_cuda(m, source, aliases) for m in marks):
                    out.append(
                        f"{path.name}:{node.lineno}: pytest.param({', '.join(values)}) lacks pytest.mark.cuda"
                    )
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            marked = module_marked or any(_marks_cuda(d, source, aliases) for d in node.decorator_list)
            # a bare "cuda" in a decorator (pytest.param values are checked above), or CUDA in the body
            bare = [
                d
                for d in node.decorator_list
                if _USES_CUDA.search(
                    re.sub(r"param\([^)]*\)", "", _code_only(ast.get_source_segment(source, d) or ""))
                )
            ]
            opted_out = _OPT_OUT in (ast.get_source_segment(source, node) or "")
            if not marked and not opted_out and (bare or _USES_CUDA.search(_body_text(node, source))):
                out.append(f"{path.name}:{node.lineno}: {node.name} uses CUDA without @pytest.mark.cuda")
    return out


def _body_text(node: ast.FunctionDef | ast.AsyncFunctionDef, source: str) -> str:
    """The code of a function's body (its decorators and signature left out)."""
    return " ".join(_code_only(ast.get_source_segment(source, stmt, padded=True) or "") for stmt in node.body)


@pytest.mark.parametrize("path", sorted(TESTS.glob("test_*.py")), ids=lambda p: p.name)
def test_every_cuda_test_is_marked(path: Path) -> None:
    found = unmarked(path)
    assert not found, "CUDA tests without the cuda mark:\n" + "\n".join(found)


def test_the_scan_finds_unmarked_cuda_tests(tmp_path: Path) -> None:
    f = tmp_path / "test_x.py"
    f.write_text(
        "import pytest, torch\n"
        "DEVICES = ['cpu', pytest.param('cuda', marks=pytest.mark.skipif(True, reason='x'))]\n"
        "def test_a():\n    torch.zeros(1).cuda()\n"
        "@pytest.mark.cuda\ndef test_b():\n    torch.zeros(1, device='cuda')\n"
        "def test_c():\n    '''mentions cuda'''\n    assert not torch.cuda.is_available() or True  # 'cuda'\n"
    )
    found = unmarked(f)
    assert len(found) == 2
    assert any("pytest.param('cuda')" in f for f in found) and any("test_a " in f for f in found)
