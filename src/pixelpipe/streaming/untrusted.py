"""File names that come with the data are data: check them before anything is opened or started.

A shard folder's ``_info.json`` / ``info.json``, a ``save_to_disk`` folder's ``state.json`` and
``dataset_dict.json`` arrive with the dataset (downloaded from the Hub, copied from a shared bucket,
written by somebody else), so the names they list are untrusted input, unlike the ``root=`` and shard
specs the caller writes. :func:`check_data_name` is the one rule every such list goes through:

* a name is resolved relative to the root its file came from, and must stay inside it: a relative path
  with ``/`` separators, no ``..`` component (for a URL root, not even percent-encoded), not absolute;
* no command (``pipe:...``) and no URL scheme (``http://``, ``file://``, ``s3:``, ``data:``, ...), so a
  local dataset never makes the loader contact a host or run a process. A URL root's file may also spell
  a name as a full URL under that root (``https://host/shards/train-0.tar`` for the root
  ``https://host/shards/``), never another host or a path outside the root's prefix;
* no NUL byte, no backslash, not empty;
* under a ``pipe:`` root (the caller's command, to which relative names are appended) only characters a
  shell takes literally (letters, digits and ``@%+=:,./-_``).

A name that breaks the rule raises :class:`~pixelpipe.errors.ConfigError` naming the file it came from,
the entry and why. Checks happen when the dataset is created, before any shard is opened.

Example:
    >>> check_data_name('train-000000.tar', '/data/shards', 'dataset info /data/shards/_info.json')
    'train-000000.tar'
    >>> check_data_name('https://host/s/train-0.tar', 'https://host/s/', 'info')
    'https://host/s/train-0.tar'
    >>> check_data_name('../outside.tar', '/data/shards', 'info, filenames[1]')
    Traceback (most recent call last):
    ...
    pixelpipe.errors.ConfigError: info, filenames[1]: entry '../outside.tar' has a '..' component ...
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError
from .gopen import is_remote

__all__ = ["check_data_name", "check_info_names"]

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_SHELL_LITERAL = re.compile(r"[\w@%+=:,./-]+", re.ASCII)


def _url_base(root: str) -> str | None:
    """The prefix a URL (or ``pipe:``) root's names are appended to; ``None`` for a local folder."""
    if is_remote(root) or root.startswith("file://"):
        return root.rstrip("/") + "/"
    return None


def _has_parent(rel: str) -> bool:
    return ".." in rel.split("/")


def _problem(name: str, root: str) -> str | None:
    """Why ``name`` may not be used under ``root`` (``None``: it may)."""
    if not name:
        return "is empty"
    if "\x00" in name:
        return "contains a NUL byte"
    if "\\" in name:
        return "contains a backslash (names use '/' separators)"
    base = _url_base(root)
    rel = name
    if base is not None and name.startswith(base):
        rel = name[len(base) :]
        if not rel:
            return "names the root itself, not a file"
    if rel.startswith("pipe:"):
        return "is a shell command ('pipe:'); only the caller may pass commands"
    if "://" in rel or _SCHEME.match(rel):
        scheme = rel.partition(":")[0] + ":"
        where = f"not under the root URL {base!r}" if base is not None else "not a file inside the root"
        return f"has a URL scheme ({scheme!r}): it is {where}"
    if rel.startswith("/") or os.path.isabs(rel):
        return "is an absolute path (it would leave the dataset root)"
    if _has_parent(rel) or (base is not None and _has_parent(urllib.parse.unquote(rel))):
        return "has a '..' component (it would leave the dataset root)"
    if root.startswith("pipe:") and not _SHELL_LITERAL.fullmatch(rel):
        return "has characters a shell would interpret (the root is a 'pipe:' command)"
    return None


def check_data_name(name: Any, root: str, source: str) -> str:
    """Return ``name``, a file name listed by a file that came with the data, if it is safe under ``root``.

    Args:
        name: the listed entry (anything: it is checked to be a string).
        root: the folder or URL the listing file came from; ``name`` is resolved relative to it.
        source: what listed it, for the error message (the file and the entry's position).

    Returns:
        ``name`` unchanged (join it to ``root`` with :func:`~pixelpipe.streaming.gopen.join_url`).

    Raises:
        ConfigError: ``name`` is not a string, or breaks the rule in the module docs; the message names
            ``source``, the entry and the reason.
    """
    if not isinstance(name, str):
        raise ConfigError(f"{source}: entry {name!r} must be a file name (a string)")
    why = _problem(name, root)
    if why is not None:
        raise ConfigError(
            f"{source}: entry {name!r} {why}; names listed in a dataset's own files must be relative paths "
            f"inside its root {root!r} (pass commands, URLs and outside paths yourself, as root= or a "
            "shard spec in split=)"
        )
    return name


def check_info_names(info: Mapping[str, Any], root: str, source: str) -> None:
    """Check every shard list (``splits.<name>.filenames``) of a dataset info file (``_info.json``).

    Args:
        info: the parsed info file.
        root: the folder or URL it was read from.
        source: the info file's path or URL, for error messages.

    Raises:
        ConfigError: ``splits`` is not an object, a ``filenames`` is not a list, or an entry is refused
            by :func:`check_data_name`.
    """
    splits = info.get("splits")
    if splits is None:
        return
    if not isinstance(splits, Mapping):
        raise ConfigError(f"dataset info {source!r}: 'splits' must be an object (split name -> entry)")
    for split, entry in splits.items():
        if not isinstance(entry, Mapping) or "filenames" not in entry:
            continue  # reported when the split is used (resolve_split)
        files = entry["filenames"]
        if not isinstance(files, list):
            raise ConfigError(
                f"dataset info {source!r}, split {split!r}: 'filenames' must be a list of shard file names"
            )
        for i, name in enumerate(files):
            check_data_name(name, root, f"dataset info {source!r}, split {split!r}, filenames[{i}]")
