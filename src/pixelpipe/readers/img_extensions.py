"""The process-wide set of file extensions that readers treat as images (reference: timm ``img_extensions``).

Defaults to ``('.png', '.jpg', '.jpeg')``. Files match on their extension lower-cased, so ``.JPG`` counts.
Unlike the reference, extensions given to the setters are stored lower-cased and ``is_img_extension`` is
case-insensitive too, and bad input raises :class:`~pixelpipe.errors.ConfigError` instead of asserting.

Example:
    >>> from pixelpipe.readers import get_img_extensions, add_img_extensions, del_img_extensions
    >>> from pixelpipe.readers import is_img_extension
    >>> get_img_extensions()
    ('.png', '.jpg', '.jpeg')
    >>> add_img_extensions('.WEBP'); is_img_extension('.webp')
    True
    >>> del_img_extensions('.webp'); get_img_extensions()
    ('.png', '.jpg', '.jpeg')
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from ..errors import ConfigError

__all__ = [
    "DEFAULT_IMG_EXTENSIONS",
    "add_img_extensions",
    "del_img_extensions",
    "get_img_extensions",
    "has_img_extension",
    "is_img_extension",
    "set_img_extensions",
]

DEFAULT_IMG_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg")

_extensions: tuple[str, ...] = DEFAULT_IMG_EXTENSIONS
_extensions_set: frozenset[str] = frozenset(DEFAULT_IMG_EXTENSIONS)


def _as_list(ext: str | Iterable[str], param: str) -> list[str]:
    if isinstance(ext, str):
        return [ext]
    if isinstance(ext, bytes) or not isinstance(ext, Iterable):
        raise ConfigError(f"{param} must be an extension string or a sequence of them, got {ext!r}")
    return list(ext)


def _validate(exts: list[str], param: str) -> list[str]:
    out: list[str] = []
    for e in exts:
        if not isinstance(e, str) or len(e) < 2 or not e.startswith("."):
            raise ConfigError(
                f"{param}: each image extension must be a string of 2+ characters starting with '.', "
                f"e.g. '.jpg'; got {e!r}"
            )
        e = e.lower()
        if e not in out:
            out.append(e)
    return out


def get_img_extensions(as_set: bool = False) -> tuple[str, ...] | set[str]:
    """The current image extensions: an ordered tuple, or a new ``set`` when ``as_set``."""
    return set(_extensions_set) if as_set else _extensions


def is_img_extension(ext: str) -> bool:
    """Whether ``ext`` (such as ``'.jpg'``, any case) is one of the current image extensions."""
    return isinstance(ext, str) and ext.lower() in _extensions_set


def has_img_extension(filename: str, extensions: Iterable[str] | None = None) -> bool:
    """Whether ``filename``'s extension, lower-cased, is in ``extensions`` (default: the current set)."""
    ext = os.path.splitext(filename)[1].lower()
    return ext in (_extensions_set if extensions is None else extensions)


def set_img_extensions(extensions: Iterable[str]) -> None:
    """Replace the image extensions (non-empty; duplicates dropped, order kept, stored lower-cased).

    Raises:
        ConfigError: ``extensions`` is empty or holds something that is not like ``'.jpg'``.
    """
    global _extensions, _extensions_set
    exts = _validate(_as_list(extensions, "set_img_extensions"), "set_img_extensions")
    if not exts:
        raise ConfigError("set_img_extensions needs at least one extension, got an empty sequence")
    _extensions = tuple(exts)
    _extensions_set = frozenset(exts)


def add_img_extensions(ext: str | Iterable[str]) -> None:
    """Add one extension or a sequence of them."""
    new = _validate(_as_list(ext, "add_img_extensions"), "add_img_extensions")
    set_img_extensions(list(_extensions) + new)


def del_img_extensions(ext: str | Iterable[str]) -> None:
    """Remove one extension or a sequence of them (unknown ones are ignored; the set may not become empty).

    Raises:
        ConfigError: removing them would leave no image extension.
    """
    gone = set(_validate(_as_list(ext, "del_img_extensions"), "del_img_extensions"))
    kept = [e for e in _extensions if e not in gone]
    if not kept:
        raise ConfigError(
            f"del_img_extensions({ext!r}) would remove every image extension; keep at least one"
        )
    set_img_extensions(kept)
