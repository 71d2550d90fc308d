"""Helpers for the reader tests: tiny folder trees and tar archives built in tmp_path."""

from __future__ import annotations

import importlib
import importlib.util
import io
import sys
import tarfile
import types
from collections.abc import Iterable
from pathlib import Path
from types import SimpleNamespace

import pytest


def payload(name: str) -> bytes:
    """Distinct bytes for each file, so a test can tell which member it read."""
    return f"<{name}>".encode()


def make_tree(root: Path, names: Iterable[str]) -> Path:
    """Create ``root/name`` for each name, holding ``payload(name)``."""
    for name in names:
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(payload(name))
    return root


def add_file(tf: tarfile.TarFile, name: str, data: bytes | None = None) -> None:
    data = payload(name) if data is None else data
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    tf.addfile(ti, io.BytesIO(data))


def tar_bytes(names: Iterable[str], dirs: Iterable[str] = ()) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for d in dirs:
            ti = tarfile.TarInfo(d)
            ti.type = tarfile.DIRTYPE
            tf.addfile(ti)
        for name in names:
            add_file(tf, name)
    return buf.getvalue()


def make_tar(path: Path, names: Iterable[str], children: dict[str, Iterable[str]] | None = None) -> Path:
    """A tar at ``path`` with ``names`` as members, plus nested tars ``{member name: their names}``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, mode="w") as tf:
        for name in names:
            add_file(tf, name)
        for child, child_names in (children or {}).items():
            add_file(tf, child, tar_bytes(child_names))
    return path


def read_all(reader) -> list[tuple[bytes, int]]:
    out = []
    for i in range(len(reader)):
        f, target = reader[i]
        with f:
            out.append((f.read(), int(target)))
    return out


def timm_reader_modules() -> SimpleNamespace:
    """timm's reader modules, for use as an oracle, or skip the test when timm is not installed.

    ``import timm`` runs ``timm/__init__``, which imports every model (about 25 s on a loaded CI box).
    The reader modules only need ``timm.utils.misc`` and each other, so we import them below stand-in
    parent packages and afterwards remove every ``timm`` entry we added to ``sys.modules`` (so a later,
    real ``import timm`` elsewhere in the session is unaffected).
    """
    spec = importlib.util.find_spec("timm")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("timm (the reference, test-only) is not installed", allow_module_level=True)
    base = Path(next(iter(spec.submodule_search_locations)))
    before = {k for k in sys.modules if k == "timm" or k.startswith("timm.")}
    try:
        for pkg, sub in (
            ("timm", ""),
            ("timm.utils", "utils"),
            ("timm.data", "data"),
            ("timm.data.readers", "data/readers"),
        ):
            if pkg not in sys.modules:
                stand_in = types.ModuleType(pkg)
                stand_in.__path__ = [str(base / sub)]
                sys.modules[pkg] = stand_in
        return SimpleNamespace(
            misc=importlib.import_module("timm.utils.misc"),
            class_map=importlib.import_module("timm.data.readers.class_map"),
            folder=importlib.import_module("timm.data.readers.reader_image_folder"),
            tar=importlib.import_module("timm.data.readers.reader_image_in_tar"),
        )
    finally:
        for k in [k for k in sys.modules if (k == "timm" or k.startswith("timm.")) and k not in before]:
            del sys.modules[k]
