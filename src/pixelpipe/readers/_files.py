"""Shared parts of the readers that index loose files on disk (folder and filename-label readers)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import overload

import numpy as np

from ..errors import ConfigError, DatasetNotFoundError
from .base import Reader
from .class_map import ClassMap, load_class_map
from .img_extensions import get_img_extensions
from .index import SampleIndex, natural_key


def resolve_extensions(input_key: str | None, param: str = "input_key") -> tuple[str, ...]:
    """The extensions to look for: ``input_key`` as ``'.webp;.jpg'``, or the process-wide image set."""
    if not input_key:
        return tuple(get_img_extensions())
    if not isinstance(input_key, str):
        raise ConfigError(f"{param} must be a ';'-separated string of extensions, got {input_key!r}")
    exts = [e.strip().lower() for e in input_key.split(";") if e.strip()]
    bad = [e for e in exts if len(e) < 2 or not e.startswith(".")]
    if bad or not exts:
        raise ConfigError(
            f"{param}={input_key!r}: file readers take a ';'-separated list of extensions such as "
            f"'.webp;.jpg'; bad entries: {bad or [input_key]}"
        )
    return tuple(dict.fromkeys(exts))


def walk_files(root: str, extensions: Sequence[str], recursive: bool = True) -> Iterator[tuple[str, str]]:
    """Yield ``(relative_dir, file_name)`` for files under ``root`` whose lower-cased extension matches.

    Symbolic links to folders are followed (as in the reference), but a link back to one of the folder's
    own ancestors is not, so a link loop cannot make the walk run forever. ``relative_dir`` is ``''`` for
    files directly in ``root``.
    """
    exts = frozenset(extensions)
    real_chain: dict[str, frozenset[str]] = {root: frozenset({os.path.realpath(root)})}
    for dirpath, dirnames, filenames in os.walk(root, topdown=True, followlinks=True):
        chain = real_chain.pop(dirpath, frozenset())
        rel = os.path.relpath(dirpath, root) if dirpath != root else ""
        for f in filenames:
            if os.path.splitext(f)[1].lower() in exts:
                yield rel, f
        if not recursive:
            dirnames[:] = []
            continue
        keep = []
        for d in dirnames:
            full = os.path.join(dirpath, d)
            real = os.path.realpath(full)
            if real in chain:
                continue  # a link back to an ancestor: a loop
            real_chain[full] = chain | {real}
            keep.append(d)
        dirnames[:] = keep


def build_class_index(labels: Sequence[str]) -> dict[str, int]:
    """Class name -> index: the unique labels in natural order (``Class1 < class2 < class10``)."""
    return {c: i for i, c in enumerate(sorted(set(labels), key=natural_key))}


def build_index(
    names: list[str], labels: list[str], class_to_idx: dict[str, int] | None
) -> tuple[SampleIndex, dict[str, int]]:
    """Compact index of ``names`` (sorted naturally), dropping labels missing from ``class_to_idx``."""
    if class_to_idx is None:
        class_to_idx = build_class_index(labels)
    kept = [(n, class_to_idx[lb]) for n, lb in zip(names, labels) if lb in class_to_idx]
    kept.sort(key=lambda s: natural_key(s[0]))
    index = SampleIndex([n for n, _ in kept], np.fromiter((t for _, t in kept), np.int64, len(kept)))
    return index, class_to_idx


class FileReader(Reader):
    """A map-style reader over files under ``root``, indexed by a :class:`SampleIndex` of relative paths."""

    root: str
    class_to_idx: dict[str, int]
    index: SampleIndex

    @staticmethod
    def _check_root(root: str | os.PathLike) -> str:
        if root is None or not isinstance(root, (str, os.PathLike)):
            raise ConfigError(f"root must be a path to a folder, got {root!r}")
        root = os.fspath(root)
        if not os.path.isdir(root):
            raise DatasetNotFoundError(f"root folder {root!r} does not exist or is not a folder")
        return root

    @staticmethod
    def _load_class_map(class_map: ClassMap | None, root: str) -> dict[str, int] | None:
        return load_class_map(class_map, root) if class_map else None

    @property
    def samples(self) -> Sequence[tuple[str, int]]:
        """Read-only sequence of ``(path, target)``; each path is ``os.path.join(root, relative path)``."""
        return _RootedSamples(self.root, self.index)

    @property
    def targets(self) -> np.ndarray:
        """The ``int64`` target of every sample, in index order."""
        return self.index.targets

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, index: int):
        rel, target = self.index[index]
        return open(os.path.join(self.root, rel), "rb"), target

    def _filename(self, index: int, basename: bool = False, absolute: bool = False) -> str:
        rel = self.index.names[index]
        if basename:
            return os.path.basename(rel)
        if absolute:
            return os.path.abspath(os.path.join(self.root, rel))
        return rel


class _RootedSamples(Sequence[tuple[str, int]]):
    """A lazy ``[(root/path, target), ...]`` view (the reference's ``samples`` list, without the list)."""

    __slots__ = ("_index", "_root")

    def __init__(self, root: str, index: SampleIndex) -> None:
        self._root, self._index = root, index

    def __len__(self) -> int:
        return len(self._index)

    @overload
    def __getitem__(self, i: int) -> tuple[str, int]: ...

    @overload
    def __getitem__(self, i: slice) -> list[tuple[str, int]]: ...

    def __getitem__(self, i: int | slice) -> tuple[str, int] | list[tuple[str, int]]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        rel, target = self._index[i]
        return os.path.join(self._root, rel), target

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return len(other) == len(self) and all(a == tuple(b) for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # unhashable (it defines __eq__): the idiom typeshed does not model

    def __repr__(self) -> str:
        return f"<{len(self)} samples under {self._root!r}>"
