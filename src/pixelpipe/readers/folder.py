"""A reader for a folder of class sub-folders (reference: timm ``ReaderImageFolder``, REFERENCE.md §1.5).

The folder is walked recursively (links to folders followed); a file's class is the name of the folder it
sits in (the leaf folder, so ``a/x/1.jpg`` and ``b/x/2.jpg`` share class ``x``), and files directly in the
root form the class ``''``. Classes are numbered in natural order (lower-cased, digit runs by value:
``Class1 < class2 < class10``), unlike torchvision's ``ImageFolder``; samples are in natural order of path.
The index is a :class:`~pixelpipe.readers.index.SampleIndex`, not a list of tuples.

:func:`find_images_and_targets` is the same scan as a plain function returning a list of
``(path, target)`` (the reference's helper of that name, with ``leaf_name_only`` and ``sort`` switches).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping

from ..errors import ConfigError, DatasetNotFoundError
from ._files import FileReader, build_class_index, build_index, resolve_extensions, walk_files
from .class_map import ClassMap
from .index import natural_key

__all__ = ["ReaderImageFolder", "find_images_and_targets"]


def find_images_and_targets(
    folder: str | os.PathLike,
    types: Collection[str] | None = None,
    class_to_idx: Mapping[str, int] | None = None,
    leaf_name_only: bool = True,
    sort: bool = True,
) -> tuple[list[tuple[str, int]], Mapping[str, int]]:
    """Walk ``folder`` recursively and label each image file by the folder it sits in.

    Links to folders are followed (a link back to an ancestor folder is skipped, so a loop cannot make the
    walk endless). Files directly in ``folder`` get the label ``''``, which sorts first.

    Args:
        folder: the folder to scan.
        types: file extensions to look for, such as ``('.jpg', '.webp')``; matched against the lower-cased
            extension of each file. ``None`` or empty: the process-wide image extensions
            (:func:`~pixelpipe.readers.get_img_extensions`). A single string may list several,
            ``'.webp;.jpg'``.
        class_to_idx: label -> target. Given: files whose label is not a key are dropped, and the same
            mapping is returned. ``None``: the labels found, in natural order (``Class1 < class2 < class10``),
            numbered from 0.
        leaf_name_only: label by the innermost folder name (``a/x/1.jpg`` -> ``'x'``); ``False``: by the
            relative folder path with separators replaced by ``'_'`` (``'a_x'``).
        sort: sort the samples in natural order of path; ``False`` leaves them in walk order.

    Returns:
        ``(images_and_targets, class_to_idx)``: a list of ``(path, target)``, each path being
        ``os.path.join(folder, relative path)``, and the label -> target mapping used.

    A folder without matching images gives ``([], class_to_idx)``, as with the reference (the folder
    reader, :class:`ReaderImageFolder`, raises for that instead).

    Raises:
        DatasetNotFoundError: ``folder`` is not a folder (a ``FileNotFoundError``; the reference returns
            an empty list for a mistyped path).
        ConfigError: bad ``folder``, ``types`` or ``class_to_idx`` (a ``ValueError``).

    Example:
        >>> import os, tempfile
        >>> root = tempfile.mkdtemp()
        >>> for p in ('class10/a.jpg', 'Class1/b.png', 'x/class2/c.JPG', 'top.jpg', 'notes.txt'):
        ...     os.makedirs(os.path.join(root, os.path.dirname(p)), exist_ok=True)
        ...     open(os.path.join(root, p), 'wb').close()
        >>> samples, class_to_idx = find_images_and_targets(root)
        >>> class_to_idx
        {'': 0, 'Class1': 1, 'class2': 2, 'class10': 3}
        >>> [(os.path.relpath(p, root), t) for p, t in samples]
        [('Class1/b.png', 1), ('class10/a.jpg', 3), ('top.jpg', 0), ('x/class2/c.JPG', 2)]
        >>> sorted(find_images_and_targets(root, leaf_name_only=False)[1])
        ['', 'Class1', 'class10', 'x_class2']
        >>> find_images_and_targets(root, types=['.png'], class_to_idx={'Class1': 7})[0][0][1]
        7
    """
    if folder is None or not isinstance(folder, (str, os.PathLike)):
        raise ConfigError(f"folder must be a path to a folder, got {folder!r}")
    root = os.fspath(folder)
    if not isinstance(root, str):
        raise ConfigError(f"folder must be a str path, got bytes {root!r}")
    if not os.path.isdir(root):
        raise DatasetNotFoundError(f"folder {root!r} does not exist or is not a folder")
    if isinstance(types, str):
        extensions = resolve_extensions(types or None, param="types")
    elif not types:  # None or an empty collection: the process-wide image extensions
        extensions = resolve_extensions(None, param="types")
    else:
        if not all(isinstance(t, str) for t in types):
            raise ConfigError(
                f"types must be a collection of extension strings such as '.jpg', got {types!r}"
            )
        extensions = tuple(dict.fromkeys(t.lower() for t in types))
    if class_to_idx is not None and not isinstance(class_to_idx, Mapping):
        raise ConfigError(
            f"class_to_idx must be a mapping of label -> target, got {type(class_to_idx).__name__}"
        )

    paths: list[str] = []
    labels: list[str] = []
    for rel_dir, f in walk_files(root, extensions):
        paths.append(os.path.join(root, rel_dir, f))
        labels.append(os.path.basename(rel_dir) if leaf_name_only else rel_dir.replace(os.path.sep, "_"))
    if class_to_idx is None:
        class_to_idx = build_class_index(labels)
    samples = [(p, class_to_idx[lb]) for p, lb in zip(paths, labels) if lb in class_to_idx]
    if sort:
        samples.sort(key=lambda s: natural_key(s[0]))
    return samples, class_to_idx


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

    def __init__(
        self, root: str | os.PathLike, class_map: ClassMap | None = "", input_key: str | None = None
    ) -> None:
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
