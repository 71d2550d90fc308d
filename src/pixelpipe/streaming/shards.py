"""Shard lists: brace expansion, ``|num_samples`` suffixes and ``_info.json`` split descriptions.

A webdataset split is described either by a shard spec, ``'imagenet-train-{0000..1023}.tar|1281167'``
(brace-expanded, optional ``|<num_samples>`` suffix), or by a split name looked up in ``_info.json`` (or
``info.json``) under the dataset root, whose ``splits`` entries carry ``num_samples``, ``filenames`` and
``shard_lengths`` (the file :func:`pixelpipe.shard_writer.write_shards` produces), as in the
reference (REFERENCE §1.9).

Example:
    >>> expand_braces('train-{00..02}.tar')
    ['train-00.tar', 'train-01.tar', 'train-02.tar']
    >>> expand_braces('{a,b}-{1..2}.tar')
    ['a-1.tar', 'a-2.tar', 'b-1.tar', 'b-2.tar']
    >>> parse_shard_spec('x-{0..1}.tar|10')
    (['x-0.tar', 'x-1.tar'], 10)
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError, DatasetNotFoundError
from .gopen import is_remote, join_url, local_path, open_stream
from .untrusted import check_info_names

__all__ = [
    "SplitInfo",
    "expand_braces",
    "is_shard_spec",
    "load_dataset_info",
    "parse_shard_spec",
    "read_info_file",
    "resolve_split",
]

_LOG = logging.getLogger(__name__)
_RANGE = re.compile(r"^(-?\d+)\.\.(-?\d+)$")
INFO_FILES = ("_info.json", "info.json")


def _innermost_brace(text: str) -> tuple[int, int] | None:
    """The first ``{...}`` group that contains no other brace."""
    start = None
    for i, ch in enumerate(text):
        if ch == "{":
            start = i
        elif ch == "}" and start is not None:
            return start, i
    return None


def expand_braces(spec: str) -> list[str]:
    """Expand ``{a..b}`` (zero-padded to the width of ``a``) and ``{x,y}`` groups, left to right.

    Raises:
        ConfigError: an empty or reversed numeric range, or unbalanced braces.
    """
    found = _innermost_brace(spec)
    if found is None:
        if "{" in spec or "}" in spec:
            raise ConfigError(f"shard spec {spec!r} has unbalanced braces")
        return [spec]
    a, b = found
    body, head, tail = spec[a + 1 : b], spec[:a], spec[b + 1 :]
    m = _RANGE.match(body)
    if m:
        lo, hi = int(m.group(1)), int(m.group(2))
        if hi < lo:
            raise ConfigError(f"shard spec {spec!r}: range {{{body}}} is empty (end < start)")
        width = len(m.group(1).lstrip("-"))
        options = [f"{i:0{width}d}" for i in range(lo, hi + 1)]
    else:
        options = body.split(",")
    out: list[str] = []
    for opt in options:
        out.extend(expand_braces(head + opt + tail))
    return out


def is_shard_spec(split: str) -> bool:
    """Whether ``split`` is a shard spec (contains ``tar`` or ``..``) rather than a split name."""
    return "tar" in split or ".." in split


def _split_suffix(spec: str) -> tuple[str, str | None]:
    """``'spec|123'`` -> ``('spec', '123')``; a shell ``|`` inside a ``pipe:`` command is not a suffix."""
    head, sep, count = spec.rpartition("|")
    if not sep or ("pipe:" in spec and not count.strip().isdigit()):
        return spec, None
    if "pipe:" not in spec:
        head, _, count = spec.partition("|")
    return head, count


def parse_shard_spec(spec: str) -> tuple[list[str], int | None]:
    """Expanded shard names and the ``|num_samples`` suffix (``None`` without one).

    Shard names may be URLs or ``pipe:`` commands (braces are expanded in them too); in a ``pipe:`` spec
    only a final ``|<digits>`` is a suffix, other ``|`` belong to the shell command.

    Example:
        >>> parse_shard_spec('pipe:curl -s https://h/x-{0..1}.tar.gz | gunzip')
        (['pipe:curl -s https://h/x-0.tar.gz | gunzip', 'pipe:curl -s https://h/x-1.tar.gz | gunzip'], None)
    """
    spec, count = _split_suffix(spec)
    num_samples = None
    if count is not None:
        try:
            num_samples = int(count.strip())
        except ValueError:
            raise ConfigError(f"shard spec suffix '|{count}' is not a sample count (an int)") from None
    return [s for part in spec.split("::") for s in expand_braces(part.strip()) if s], num_samples


@dataclass
class SplitInfo:
    """One split: its shard files (relative to the root or absolute/URLs), sample counts, label field.

    Attributes:
        name: split name.
        num_samples: total samples (``0`` when unknown).
        filenames: shard file names.
        shard_lengths: samples per shard, or ``None`` when unknown (the reader then counts them).
        alt_label: optional name of a JSON field holding the label instead of ``target_key``.
    """

    name: str
    num_samples: int = 0
    filenames: list[str] = field(default_factory=list)
    shard_lengths: list[int] | None = None
    alt_label: str = ""


def read_info_file(path: str) -> dict[str, Any] | None:
    """The JSON object in ``path`` (a local path or a URL); ``None`` when it does not exist.

    Its names are not checked here: :func:`load_dataset_info` does that.

    Raises:
        ConfigError: the file cannot be read, is not JSON, or holds no JSON object.
    """
    try:
        if is_remote(path):
            try:
                stream = open_stream(path)
            except DatasetNotFoundError:
                return None
            with stream:
                info = json.loads(stream.read().decode("utf-8"))
        else:
            local = local_path(path)
            if not os.path.isfile(local):
                return None
            with open(local, encoding="utf-8") as f:
                info = json.load(f)
    except (OSError, ValueError) as e:
        raise ConfigError(f"cannot read dataset info {path!r}: {type(e).__name__}: {e}") from e
    if not isinstance(info, dict):
        raise ConfigError(f"dataset info {path!r} must hold a JSON object")
    return info


def load_dataset_info(root: str | os.PathLike[str]) -> dict[str, Any]:
    """``root/_info.json`` or ``root/info.json`` as a dict; ``{}`` (and a log line) when neither exists.

    ``root`` is a folder or a URL (``http(s)://``, ``file://``); a URL root is read with
    :func:`~pixelpipe.streaming.gopen.open_stream` (an HTTP 404 counts as "does not exist").

    The file comes with the data, so its shard lists are checked here, before anything they name is
    opened: every ``filenames`` entry must be a relative path inside ``root`` (or a URL under a URL
    ``root``), never a ``pipe:`` command, another URL, an absolute path or a ``..`` path (see
    :mod:`pixelpipe.streaming.untrusted`).

    Raises:
        ConfigError: the file is not a JSON object, or lists a name that breaks that rule (the message
            names the file and the entry).
    """
    root = os.fspath(root)
    for name in INFO_FILES:
        path = join_url(root, name)
        info = read_info_file(path)
        if info is not None:
            check_info_names(info, root, path)
            return info
    _LOG.info("no _info.json / info.json under %r: splits must be given as shard specs", root)
    return {}


def _entry_to_info(name: str, entry: Any, where: str) -> SplitInfo:
    if not isinstance(entry, dict) or "filenames" not in entry:
        raise ConfigError(f"{where}: split {name!r} must be an object with 'filenames'")
    lengths = entry.get("shard_lengths")
    files = [str(f) for f in entry["filenames"]]
    if lengths is not None and len(lengths) != len(files):
        raise ConfigError(
            f"{where}: split {name!r} has {len(files)} filenames but {len(lengths)} shard_lengths"
        )
    n = int(entry.get("num_samples") or (sum(lengths) if lengths else 0))
    return SplitInfo(
        name=str(entry.get("name", name)),
        num_samples=n,
        filenames=files,
        shard_lengths=[int(x) for x in lengths] if lengths is not None else None,
        alt_label=str(entry.get("alt_label") or ""),
    )


def resolve_split(root: str | os.PathLike[str], split: str, info: dict[str, Any] | None = None) -> SplitInfo:
    """The :class:`SplitInfo` for ``split``: a shard spec or a split name of the dataset info.

    A shard spec whose name's last ``-``-separated part (of up to 4) names a split of the info, e.g.
    ``'imagenet-train-{0000..0009}.tar'`` with a ``train`` split, takes the per-shard lengths from the info
    for the shards it lists.

    Raises:
        DatasetNotFoundError: ``split`` is a name but no info file describes it.
    """
    root = os.fspath(root)
    info = load_dataset_info(root) if info is None else info
    splits = info.get("splits") or {}
    if is_shard_spec(split):
        files, num = parse_shard_spec(split)
        out = SplitInfo(name="", num_samples=num or 0, filenames=files)
        parts = os.path.basename(_split_suffix(split)[0]).split("-")[-4:]
        known = [p for p in parts if p in splits]
        if known and "::" not in split:
            full = _entry_to_info(known[-1], splits[known[-1]], root)
            if full.shard_lengths is not None:
                by_name = {
                    os.path.basename(f): n for f, n in zip(full.filenames, full.shard_lengths, strict=True)
                }
                if all(os.path.basename(f) in by_name for f in files):
                    out.shard_lengths = [by_name[os.path.basename(f)] for f in files]
                    out.num_samples = num or sum(out.shard_lengths)
            out.name, out.alt_label = full.name, full.alt_label
        return out
    if split not in splits:
        known_names = ", ".join(repr(s) for s in splits) or "none (no _info.json / info.json found)"
        raise DatasetNotFoundError(
            f"split {split!r} not found under {root!r}; splits in the dataset info: {known_names}. "
            "Give a split name from the info file or a shard spec such as 'train-{0000..0009}.tar'"
        )
    return _entry_to_info(split, splits[split], root)
