"""A reader for a folder of class sub-folders (reference: timm ``ReaderImageFolder``, REFERENCE.md §1.5).

The folder is walked recursively (links to folders followed); a file's class is the name of the folder it
sits in (the leaf folder, so ``a/x/1.jpg`` and ``b/x/2.jpg`` share class ``x``), and files directly in the
root form the class ``''``. Classes are numbered in natural order (lower-cased, digit runs by value:
``Class1 < class2 < class10``), unlike torchvision's ``ImageFolder``; samples are in natural order of path.
The index is a :class:`~pixelpipe.readers.index.SampleIndex`, not a list of tuples.
"""

from __future__ import annotations

import os

from ..errors import DatasetNotFoundError
from ._files import FileReader, build_index, resolve_extensions, walk_files

__all__ = ["ReaderImageFolder"]


class ReaderImageFolder(FileReader):
    """Images in class sub-folders; ``__getitem__`` returns ``(open binary file, target)``.

    Args:
        root: the dataset folder.
        class_map: a class map (dict, ``.txt`` or ``.json`` path, see :func:`load_class_map`); samples of
            classes it does not name are dropped. Empty: classes come from the folder names.
        input_key: a ``';'``-separated list of extensions to look for instead of the image set,
            e.g. ``'.webp;.jpg'`` (the reference re-purposes this argument the same way).

    Attributes:
        root: the folder, as given.
        class_to_idx: class name -> target.
        samples: a lazy sequence of ``(path, target)``.
        targets: ``int64`` NumPy array of targets.

    Raises:
        DatasetNotFoundError: ``root`` is missing, or holds no file with one of the extensions.
        ConfigError: a bad ``class_map`` or ``input_key``.

    Example:
        >>> import os, tempfile
        >>> root = tempfile.mkdtemp()
        >>> for p in ('class10/a.jpg', 'Class1/b.png', 'class2/c.JPG', 'top.jpg'):
        ...     os.makedirs(os.path.join(root, os.path.dirname(p)), exist_ok=True)
        ...     open(os.path.join(root, p), 'wb').close()
        >>> r = ReaderImageFolder(root)
        >>> r.class_to_idx
        {'': 0, 'Class1': 1, 'class2': 2, 'class10': 3}
        >>> len(r), r.filename(0), r.targets.tolist()
        (4, 'Class1/b.png', [1, 2, 3, 0])
        >>> f, target = r[0]; f.close()
    """

    def __init__(self, root: str | os.PathLike, class_map: object = "", input_key: str | None = None) -> None:
        super().__init__()
        self.root = self._check_root(root)
        class_to_idx = self._load_class_map(class_map, self.root)
        self.extensions = resolve_extensions(input_key)
        names: list[str] = []
        labels: list[str] = []
        for rel_dir, f in walk_files(self.root, self.extensions):
            names.append(os.path.join(rel_dir, f))
            labels.append(os.path.basename(rel_dir))
        self.index, self.class_to_idx = build_index(names, labels, class_to_idx)
        if not len(self.index):
            why = " (none of them in a class of the class map)" if names else ""
            raise DatasetNotFoundError(
                f"found 0 images in {self.root!r} or its sub-folders{why}; "
                f"looked for the extensions {', '.join(self.extensions)}"
            )
