"""The reader protocol: a reader knows where a sample's bytes and label are; datasets decode.

Map-style readers implement ``__len__``, ``__getitem__(i) -> (file-like or bytes, target)`` and
``_filename``. Iterable (streaming) readers implement ``__iter__`` yielding ``(input, target)``, and
``set_epoch`` / ``set_loader_cfg``.

Example: a reader for a folder where the class is the file name's prefix (Oxford-IIIT Pets style)::

    >>> import io, os, tempfile
    >>> from pixelpipe.readers import Reader
    >>> class PetsReader(Reader):
    ...     def __init__(self, root):
    ...         super().__init__()
    ...         self.root = root
    ...         self.files = sorted(os.listdir(root))
    ...         names = sorted({f.rsplit('_', 1)[0] for f in self.files})
    ...         self.class_to_idx = {n: i for i, n in enumerate(names)}
    ...     def __len__(self):
    ...         return len(self.files)
    ...     def __getitem__(self, i):
    ...         f = self.files[i]
    ...         return open(os.path.join(self.root, f), 'rb'), self.class_to_idx[f.rsplit('_', 1)[0]]
    ...     def _filename(self, i, basename=False, absolute=False):
    ...         f = self.files[i]
    ...         return os.path.abspath(os.path.join(self.root, f)) if absolute else f
    >>> root = tempfile.mkdtemp()
    >>> for name in ('Abyssinian_1.jpg', 'beagle_1.jpg'):
    ...     open(os.path.join(root, name), 'wb').close()
    >>> r = PetsReader(root)
    >>> len(r), r.filename(1), r.class_to_idx
    (2, 'beagle_1.jpg', {'Abyssinian': 0, 'beagle': 1})
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

__all__ = ["Reader"]


class Reader(ABC):
    """Base class for readers; subclass it to plug in your own dataset layout."""

    @abstractmethod
    def _filename(self, index: int, basename: bool = False, absolute: bool = False) -> str:
        """The name of sample ``index``: relative to the root by default, its base name, or absolute."""

    def filename(self, index: int, basename: bool = False, absolute: bool = False) -> str:
        """The name of sample ``index`` (see :meth:`_filename`)."""
        return self._filename(index, basename=basename, absolute=absolute)

    def filenames(self, basename: bool = False, absolute: bool = False) -> list[str]:
        """Names of all samples, in index order."""
        return [self._filename(i, basename=basename, absolute=absolute) for i in range(len(self))]

    def __len__(self) -> int:  # pragma: no cover - subclasses define it
        return 0

    def __getitem__(self, index: int) -> tuple[Any, ...]:  # pragma: no cover - subclasses define it
        raise TypeError(f"{type(self).__name__} is not indexable (an iterable reader?)")
