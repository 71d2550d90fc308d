"""Compact sample indexes: strings and targets in NumPy buffers, not Python lists of tuples.

A list of ``(path, target)`` tuples costs about 150 bytes per sample in Python objects, and every
DataLoader worker forked from the main process touches those objects' reference counts as it reads them,
so copy-on-write duplicates the whole index page by page in each worker. Here an index is a few NumPy
arrays (one UTF-8 byte buffer, an ``int64`` offsets array, an ``int64`` targets array): about the size of
the text itself plus 16 bytes per sample, and reading it writes nothing, so forked workers share it.

This follows the memory advice in PyTorch's DataLoader docs (see ``torch.utils.data`` "copy-on-access")
and the "Readers yield records" rule of pixelpipe's style guide.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, overload

import numpy as np

from ..errors import ConfigError

if TYPE_CHECKING:
    from _typeshed import SupportsRichComparison

__all__ = ["SampleIndex", "StringArray", "natural_key"]

_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> list[str | int]:
    """Sort key that orders digit runs by value and ignores case: ``Class1 < class2 < class10``.

    The key alternates text and integers (``re.split`` with a capture group puts digit runs at the odd
    positions), so two keys always compare item by item without mixing ``str`` and ``int``.

    Args:
        text: the string to key.

    Returns:
        A list to compare with other keys.

    Example:
        >>> sorted(['class10', 'Class1', 'class2'], key=natural_key)
        ['Class1', 'class2', 'class10']
    """
    parts = _DIGITS.split(text.lower())
    return [int(p) if i % 2 else p for i, p in enumerate(parts)]


class StringArray(Sequence[str]):
    """An immutable sequence of strings stored as one UTF-8 buffer and an ``int64`` offsets array.

    String ``i`` is ``data[offsets[i]:offsets[i + 1]]`` decoded. Reading does not create or touch
    long-lived Python objects, so a forked worker shares the pages with its parent.

    Args:
        strings: the strings, in order.

    Example:
        >>> a = StringArray(['cat/1.jpg', 'dog/2.jpg'])
        >>> len(a), a[1], a[-1], list(a.take([1, 0]))
        (2, 'dog/2.jpg', 'dog/2.jpg', ['dog/2.jpg', 'cat/1.jpg'])
        >>> int(a.nbytes)
        42
    """

    __slots__ = ("_data", "_offsets")

    def __init__(self, strings: Iterable[str] = ()) -> None:
        encoded = [s.encode("utf-8", "surrogateescape") for s in strings]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        if encoded:
            np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)), out=offsets[1:])
        self._data = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        self._offsets = offsets

    @classmethod
    def from_buffers(cls, data: np.ndarray, offsets: np.ndarray) -> StringArray:
        """Wrap existing buffers (``uint8`` data, ``int64`` offsets of length ``n + 1``) without copying.

        Raises:
            ConfigError: the offsets do not start at 0, decrease, or run past the data.
        """
        data = np.asarray(data, dtype=np.uint8).reshape(-1)
        offsets = np.asarray(offsets, dtype=np.int64).reshape(-1)
        if (
            offsets.size == 0
            or offsets[0] != 0
            or offsets[-1] != data.size
            or (offsets.size > 1 and np.any(np.diff(offsets) < 0))
        ):
            raise ConfigError(
                f"StringArray offsets must start at 0, never decrease and end at len(data)={data.size}; "
                f"got {offsets.size} offsets"
            )
        out = cls.__new__(cls)
        out._data, out._offsets = data, offsets
        return out

    @property
    def nbytes(self) -> int:
        """Bytes held by the two buffers."""
        return int(self._data.nbytes + self._offsets.nbytes)

    def __len__(self) -> int:
        return self._offsets.size - 1

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> StringArray: ...

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self.take(np.arange(len(self))[index])
        n = len(self)
        i = int(index)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"index {index} out of range for {n} strings")
        start, stop = self._offsets[i], self._offsets[i + 1]
        return self._data[start:stop].tobytes().decode("utf-8", "surrogateescape")

    def __iter__(self) -> Iterator[str]:
        data, offs = self._data, self._offsets
        for i in range(len(self)):
            yield data[offs[i] : offs[i + 1]].tobytes().decode("utf-8", "surrogateescape")

    def take(self, indices: Sequence[int] | np.ndarray) -> StringArray:
        """A new array holding the strings at ``indices`` (a permutation, subset or repeat), vectorised."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = len(self)
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise IndexError(f"take: an index is out of range for {n} strings")
        idx = np.where(idx < 0, idx + n, idx)
        starts = self._offsets[idx]
        lengths = self._offsets[idx + 1] - starts
        offsets = np.zeros(idx.size + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        # Position j of the output copies data[starts[k] + (j - offsets[k])] for the k that holds j.
        gather = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1], dtype=np.int64)
        return StringArray.from_buffers(self._data[gather], offsets)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, StringArray):
            return np.array_equal(self._offsets, other._offsets) and np.array_equal(self._data, other._data)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # unhashable (it defines __eq__): the idiom typeshed does not model

    def __repr__(self) -> str:
        return f"StringArray(len={len(self)}, nbytes={self.nbytes})"


class SampleIndex(Sequence[tuple[str, int]]):
    """Sample names and integer targets, stored compactly; behaves as a sequence of ``(name, target)``.

    Readers keep one of these instead of a list of tuples. Extra per-sample integer columns (a tar's
    byte offset, the archive a member lives in, ...) go in ``columns``.

    Args:
        names: sample names (paths relative to a root, archive member names, ...).
        targets: one integer per name (``-1`` for no label).
        columns: optional extra integer arrays, each with one value per name.

    Example:
        >>> idx = SampleIndex(['b.jpg', 'a.jpg'], [1, 0], columns={'size': [10, 20]})
        >>> list(idx), idx.targets.dtype.name, int(idx.columns['size'][1])
        ([('b.jpg', 1), ('a.jpg', 0)], 'int64', 20)
        >>> list(idx.sorted_by(['b', 'a']))
        [('a.jpg', 0), ('b.jpg', 1)]
    """

    __slots__ = ("columns", "names", "targets")

    def __init__(
        self,
        names: Iterable[str] | StringArray,
        targets: Iterable[int] | np.ndarray,
        columns: dict[str, Iterable[int] | np.ndarray] | None = None,
    ) -> None:
        self.names = names if isinstance(names, StringArray) else StringArray(names)
        self.targets = np.asarray(list(targets) if not isinstance(targets, np.ndarray) else targets)
        self.targets = self.targets.astype(np.int64, copy=False).reshape(-1)
        if self.targets.size != len(self.names):
            raise ConfigError(f"SampleIndex: {len(self.names)} names but {self.targets.size} targets")
        self.columns: dict[str, np.ndarray] = {}
        for key, col in (columns or {}).items():
            arr = np.asarray(list(col) if not isinstance(col, np.ndarray) else col, dtype=np.int64)
            if arr.shape != (len(self.names),):
                raise ConfigError(
                    f"SampleIndex column {key!r} has shape {arr.shape}, need ({len(self.names)},)"
                )
            self.columns[key] = arr

    @property
    def nbytes(self) -> int:
        """Bytes held by all the arrays."""
        return self.names.nbytes + self.targets.nbytes + sum(c.nbytes for c in self.columns.values())

    def __len__(self) -> int:
        return len(self.names)

    @overload
    def __getitem__(self, index: int) -> tuple[str, int]: ...

    @overload
    def __getitem__(self, index: slice) -> SampleIndex: ...

    def __getitem__(self, index: int | slice) -> tuple[str, int] | SampleIndex:
        if isinstance(index, slice):
            return self.take(np.arange(len(self))[index])
        return self.names[index], int(self.targets[index])

    def take(self, indices: Sequence[int] | np.ndarray) -> SampleIndex:
        """A new index with the samples at ``indices``, in that order."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        return SampleIndex(
            self.names.take(idx), self.targets[idx], {k: c[idx] for k, c in self.columns.items()}
        )

    def sorted_by(self, keys: Sequence[SupportsRichComparison]) -> SampleIndex:
        """A new index sorted (stably) by one key per sample, e.g. ``natural_key`` of each name."""
        order = sorted(range(len(keys)), key=lambda i: keys[i])
        return self.take(order)

    def __repr__(self) -> str:
        return f"SampleIndex(len={len(self)}, nbytes={self.nbytes})"
