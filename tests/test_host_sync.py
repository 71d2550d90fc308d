"""The host-sync rule, checked by reading the source (runs everywhere, no GPU needed).

No host synchronisation per batch on CUDA in the batch paths: every remaining ``.item()``, ``.tolist()``,
``.cpu()``, ``.numpy()``, ``bincount``, ``nonzero``, device-to-host or blocking host-to-device copy, explicit
``synchronize()`` or Python conversion of a reduction (``bool(t.any())``, ``int(t.max())``) in the files
below carries a ``# host-sync: <why, and how often>`` comment on its line. The CUDA tests
(``tests/test_cuda_path.py``) check the same at run time with ``torch.cuda.set_sync_debug_mode('error')``.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "pixelpipe"
FILES = sorted(
    [
        *(SRC / "device").glob("*.py"),
        SRC / "loader" / "prefetch.py",
        *(SRC / "batch").glob("*.py"),
        # the op kernels (the batched ones run on devices); pil.py works on PIL images only
        *(p for p in (SRC / "ops").glob("*.py") if p.name != "pil.py"),
        SRC / "transforms" / "erasing.py",
        SRC / "_transfer.py",
    ]
)

#: What may synchronise the host with the device (or is a host read that must say why it is harmless).
PATTERNS = {
    "item": r"\.item\(\)",
    "tolist": r"\.tolist\(\)",
    "cpu": r"\.cpu\(\)",
    "numpy": r"\.numpy\(\)",
    "bincount": r"\bbincount\b",
    "nonzero": r"\bnonzero\b",
    "to cpu": r"\.to\(\s*[\"']cpu[\"']",
    "blocking copy": r"non_blocking\s*=\s*False",
    "cuda()": r"\.cuda\(",
    "synchronize": r"\.synchronize\(",
    "tensor on a device": r"torch\.(?:as_)?tensor\(.*\bdevice\s*=",
    # t.to(dev), t.to(x.device), t.to(device=...) without non_blocking=True
    "to(device) without non_blocking": (
        r"\.to\((?:device=)?(?:[\w.]*\.)?(?:g?dev|device)\b(?![^)]*non_blocking=True)"
    ),
    "reduction read on the host": r"\b(?:bool|int|float)\([^()]*\.(?:any|all|max|min|sum)\(",
}
_DEVICES = ("cpu", "cuda", "meta")
_RULES = [(name, re.compile(p)) for name, p in PATTERNS.items()]


def _code_and_comments(path: Path) -> tuple[dict[int, str], dict[int, str]]:
    """Per line: its code (strings and comments left out, tokens joined without spaces), and its comment."""
    code: dict[int, list[str]] = {}
    comments: dict[int, str] = {}
    skip = {tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
    skip |= {getattr(tokenize, "FSTRING_MIDDLE", tokenize.NL)}
    for tok in tokenize.generate_tokens(io.StringIO(path.read_text()).readline):
        if tok.type == tokenize.COMMENT:
            comments[tok.start[0]] = tok.string
        elif tok.type == tokenize.STRING:  # text is not code; a device name is kept ('cpu')
            name = tok.string.strip("\"'")
            code.setdefault(tok.start[0], []).append(f'"{name}"' if name in _DEVICES else '""')
        elif tok.type not in skip:
            code.setdefault(tok.start[0], []).append(tok.string)
    return {k: _join(v) for k, v in code.items()}, comments


def _join(tokens: list[str]) -> str:
    """Tokens as compact source: no spaces around ``.``, ``(``, ``=``, ``,`` kept with one space."""
    out = ""
    for t in tokens:
        if (out and out[-1].isalnum() and (t[0].isalnum() or t[0] == "_")) or (out and out[-1] == ","):
            out += " "
        out += t
    return out


def violations(path: Path) -> list[str]:
    """``line: patterns`` for each line of ``path`` with a sync pattern and no ``# host-sync:`` comment."""
    code, comments = _code_and_comments(path)
    out = []
    for line, src in sorted(code.items()):
        hits = [name for name, rule in _RULES if rule.search(src)]
        if hits and "host-sync:" not in comments.get(line, ""):
            out.append(f"{line}: {', '.join(hits)}: {src}")
    return out


def test_the_rule_covers_the_batch_paths() -> None:
    names = {p.name for p in FILES}
    assert {"prefetch.py", "mixup.py", "erasing.py", "decode.py", "ops.py", "color.py", "augment.py"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SRC)))
def test_every_host_sync_is_annotated(path: Path) -> None:
    found = violations(path)
    where = path.relative_to(SRC)
    assert not found, (
        f"unannotated host syncs in {where} (add '# host-sync: <why, and how often>'):\n" + "\n".join(found)
    )


@pytest.mark.parametrize(
    "line",
    [
        "n = int(t.max())",
        "v = x.item()",
        "y = t.to(device)",
        "y = t.to(x.device)",
        "y = t.to('cpu')",
        "m = torch.tensor([1, 2], device=dev)",
        "h = torch.bincount(idx)",
        "i = mask.nonzero()",
        "torch.cuda.current_stream().synchronize()",
        "y = t.to(dev, non_blocking=False)",
    ],
)
def test_the_scan_flags_unannotated_syncs(tmp_path: Path, line: str) -> None:
    f = tmp_path / "m.py"
    f.write_text(f"def f(t, x, dev, device, idx, mask):\n    {line}\n")
    assert violations(f)
    f.write_text(f"def f(t, x, dev, device, idx, mask):\n    {line}  # host-sync: test, never\n")
    assert not violations(f)


@pytest.mark.parametrize(
    "line",
    [
        "y = t.to(device, non_blocking=True)",
        "y = to_device(t, x.device)",
        "i = np.flatnonzero(a)",
        "y = t.to(torch.float32)",
        "s = 'bincount and .item() in a string'",
    ],
)
def test_the_scan_passes_sync_free_code(tmp_path: Path, line: str) -> None:
    f = tmp_path / "m.py"
    f.write_text(f"def f(t, x, a, np, torch, to_device, device):\n    {line}\n")
    assert not violations(f)
