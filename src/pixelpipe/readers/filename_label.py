"""A reader for images whose class is part of the file name (the Oxford-IIIT Pets layout).

``Abyssinian_12.jpg`` and ``american_bulldog_3.jpg`` in one folder give classes ``Abyssinian`` and
``american_bulldog``. The class comes from a regular expression applied to the file's stem (the name
without extension), or from a function of the stem. Classes are numbered in natural order, as the folder
reader does. The reference library has no such reader (its docs suggest writing a ``Reader`` subclass).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable

from ..errors import ConfigError, DatasetNotFoundError
from ._files import FileReader, build_index, resolve_extensions, walk_files
from .class_map import ClassMap

__all__ = ["DEFAULT_LABEL_PATTERN", "ReaderFilenameLabel"]

_logger = logging.getLogger(__name__)

DEFAULT_LABEL_PATTERN = r"^(.*)_\d+$"
_ON_MISMATCH = ("error", "skip")


class ReaderFilenameLabel(FileReader):
    """Images in one folder (or a tree, with ``recursive``), labelled from their file names.

    Args:
        root: the folder.
        label: a regular expression searched in each file's stem; the class is its group named ``label``
            if it has one, else group 1, else the whole match. Or a function ``stem -> class name``
            (``None`` for "no label": handled as a mismatch). Default ``r'^(.*)_\\d+$'``.
        class_map: a class map (see :func:`load_class_map`); classes it does not name are dropped.
        input_key: ``';'``-separated extensions to look for instead of the image set.
        recursive: also look in sub-folders (the class still comes from the file name).
        on_mismatch: ``'error'`` (default) raises when a file's name does not give a class; ``'skip'``
            leaves such files out, counts them in ``num_skipped`` and logs one warning.

    Attributes:
        root, class_to_idx, samples, targets: as for :class:`ReaderImageFolder`.
        num_skipped: files left out because their name gave no class (``on_mismatch='skip'``).

    Raises:
        ConfigError: a name does not match (``on_mismatch='error'``), a bad pattern or argument.
        DatasetNotFoundError: ``root`` is missing or holds no matching file.

    Example:
        >>> import os, tempfile
        >>> root = tempfile.mkdtemp()
        >>> for name in ('Abyssinian_12.jpg', 'american_bulldog_3.jpg', 'Abyssinian_2.jpg'):
        ...     open(os.path.join(root, name), 'wb').close()
        >>> r = ReaderFilenameLabel(root)
        >>> r.class_to_idx, r.filenames(), r.targets.tolist()
        ({'Abyssinian': 0, 'american_bulldog': 1}, ['Abyssinian_2.jpg', 'Abyssinian_12.jpg', \
'american_bulldog_3.jpg'], [0, 0, 1])
        >>> ReaderFilenameLabel(root, label=lambda stem: stem.split('_')[0].lower()).class_to_idx
        {'abyssinian': 0, 'american': 1}
    """

    def __init__(
        self,
        root: str | os.PathLike,
        label: str | re.Pattern | Callable[[str], str | None] = DEFAULT_LABEL_PATTERN,
        class_map: ClassMap | None = "",
        input_key: str | None = None,
        recursive: bool = False,
        on_mismatch: str = "error",
    ) -> None:
        super().__init__()
        if on_mismatch not in _ON_MISMATCH:
            raise ConfigError(f"on_mismatch must be one of {_ON_MISMATCH}, got {on_mismatch!r}")
        self.root = self._check_root(root)
        class_to_idx = self._load_class_map(class_map, self.root)
        self.extensions = resolve_extensions(input_key)
        get_label, describe = _label_function(label)
        names: list[str] = []
        labels: list[str] = []
        skipped: list[str] = []
        for rel_dir, f in walk_files(self.root, self.extensions, recursive=recursive):
            rel = os.path.join(rel_dir, f)
            name = get_label(os.path.splitext(f)[0])
            if name is None:
                if on_mismatch == "error":
                    raise ConfigError(
                        f"file {rel!r} in {self.root!r}: its name gives no class with label={describe}; "
                        "rename it, change `label`, or pass on_mismatch='skip'"
                    )
                skipped.append(rel)
                continue
            if not isinstance(name, str):
                raise ConfigError(
                    f"label function returned {name!r} for {rel!r}; it must return a str or None"
                )
            names.append(rel)
            labels.append(name)
        self.num_skipped = len(skipped)
        if skipped:
            _logger.warning(
                "ReaderFilenameLabel skipped %d file(s) in %r: names give no class with label=%s, e.g. %s",
                len(skipped),
                self.root,
                describe,
                skipped[:3],
            )
        self.index, self.class_to_idx = build_index(names, labels, class_to_idx)
        if not len(self.index):
            raise DatasetNotFoundError(
                f"found 0 labelled images in {self.root!r}"
                f"{' or its sub-folders' if recursive else ''} "
                f"(skipped {len(skipped)}); looked for the extensions {', '.join(self.extensions)}"
            )


def _label_function(label) -> tuple[Callable[[str], str | None], str]:
    if callable(label) and not isinstance(label, (str, re.Pattern)):
        return label, getattr(label, "__name__", repr(label))
    if isinstance(label, str):
        try:
            pattern = re.compile(label)
        except re.error as e:
            raise ConfigError(f"label={label!r} is not a valid regular expression: {e}") from e
    elif isinstance(label, re.Pattern):
        pattern = label
    else:
        raise ConfigError(f"label must be a regular expression or a function stem -> str, got {label!r}")
    group: int | str = "label" if "label" in pattern.groupindex else (1 if pattern.groups else 0)

    def from_pattern(stem: str) -> str | None:
        m = pattern.search(stem)
        return None if m is None or m.group(group) is None else m.group(group)

    return from_pattern, repr(pattern.pattern)
