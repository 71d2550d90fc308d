"""The JSON cache of a tar scan (the reference pickles ``TarInfo`` objects; pixelpipe never unpickles).

Layout::

    {"format": "pixelpipe-tarinfo", "version": 1, "extensions": [".png", ...],
     "num_skipped": 0, "skipped": [[archive, member, reason], ...],
     "tars": [{"name": "a.tar", "size": 123, "mtime_ns": 456,
               "members": [[member name, offset of data in the archive file, size], ...],
               "children": [{"name": "inner.tar", "offset": 512, "size": 2048, "members": [...]}]}]}

Every field is checked on load. A cache that does not describe the archives on disk now (other names,
sizes or modification times, other extensions) or that fails a check is ignored, and the scan is redone.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from typing import Any

__all__ = ["TAR_CACHE_SUFFIX", "load_tar_cache", "save_tar_cache"]

_logger = logging.getLogger(__name__)

TAR_CACHE_SUFFIX = "_tarinfos.json"
_FORMAT = "pixelpipe-tarinfo"
_VERSION = 1


class _Invalid(Exception):
    pass


def _int(v: Any, lo: int = 0) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        raise _Invalid(f"expected an int >= {lo}, got {v!r}")
    return v


def _members(rows: Any, lo: int, hi: int) -> None:
    if not isinstance(rows, list):
        raise _Invalid("members is not a list")
    for row in rows:
        if not (isinstance(row, list) and len(row) == 3 and isinstance(row[0], str)):
            raise _Invalid(f"bad member row {row!r}")
        name = row[0].replace("\\", "/")
        if name.startswith("/") or (len(name) > 1 and name[1] == ":") or ".." in name.split("/"):
            raise _Invalid(f"unsafe member name {row[0]!r}")
        offset, size = _int(row[1]), _int(row[2])
        if offset < lo or offset + size > hi:
            raise _Invalid(f"member {row[0]!r} lies outside its archive")


def _validate(data: Any, paths: list[str], names: list[str], extensions: tuple[str, ...]) -> None:
    if not isinstance(data, dict) or data.get("format") != _FORMAT or data.get("version") != _VERSION:
        raise _Invalid("not a pixelpipe tar cache of this version")
    if data.get("extensions") != list(extensions):
        raise _Invalid("made with other image extensions")
    _int(data.get("num_skipped"))
    skipped = data.get("skipped")
    if not isinstance(skipped, list) or not all(
        isinstance(s, list) and len(s) == 3 and all(isinstance(x, str) for x in s) for s in skipped
    ):
        raise _Invalid("bad skipped list")
    tars = data.get("tars")
    if not isinstance(tars, list) or len(tars) != len(paths):
        raise _Invalid("describes another number of archives")
    for tree, path, name in zip(tars, paths, names):
        if not isinstance(tree, dict) or tree.get("name") != name:
            raise _Invalid(f"describes other archives (expected {name!r})")
        st = os.stat(path)
        if tree.get("size") != st.st_size or tree.get("mtime_ns") != st.st_mtime_ns:
            raise _Invalid(f"{name!r} changed since the cache was written")
        _members(tree.get("members"), 0, st.st_size)
        children = tree.get("children")
        if not isinstance(children, list):
            raise _Invalid("children is not a list")
        for child in children:
            if not isinstance(child, dict) or not isinstance(child.get("name"), str):
                raise _Invalid("bad child entry")
            lo, size = _int(child.get("offset")), _int(child.get("size"))
            if lo + size > st.st_size:
                raise _Invalid(f"child {child['name']!r} lies outside its archive")
            _members(child.get("members"), lo, lo + size)


def load_tar_cache(
    path: str, tar_paths: list[str], tar_names: list[str], extensions: tuple[str, ...]
) -> dict[str, Any] | None:
    """The cached scan at ``path`` if it exists and matches the archives on disk, else ``None``."""
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        _validate(data, tar_paths, tar_names, extensions)
    except (OSError, ValueError, RecursionError, _Invalid) as e:
        _logger.info("ignoring tar index cache %s (%s); scanning the archives again", path, e)
        return None
    return data


def save_tar_cache(
    path: str, trees: list[dict], extensions: tuple[str, ...], skipped: list, num_skipped: int
) -> None:
    """Write the scan to ``path`` atomically; a folder we cannot write to only costs a logged warning."""
    data = {
        "format": _FORMAT,
        "version": _VERSION,
        "extensions": list(extensions),
        "num_skipped": num_skipped,
        "skipped": skipped,
        "tars": trees,
    }
    folder = os.path.dirname(path) or "."
    try:
        fd, tmp = tempfile.mkstemp(prefix=".tarinfos-", suffix=".json", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, separators=(",", ":"))
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as e:
        _logger.warning("could not write the tar index cache %s (%s); the next run scans again", path, e)
