"""Webdataset tar shards: samples are runs of consecutive members sharing a key (``<key>.<ext>``).

Read with :mod:`tarfile` straight from the archive (nothing is extracted to disk; only regular files are
read; member names are used as keys, never as paths). Skipping the first ``start`` samples of a shard reads
member headers only.

Example:
    >>> import io, os, tarfile, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), 'shard-000000.tar')
    >>> with tarfile.open(path, 'w') as tf:
    ...     for name, data in [('a.jpg', b'1'), ('a.cls', b'0'), ('b.jpg', b'2'), ('b.cls', b'1')]:
    ...         ti = tarfile.TarInfo(name); ti.size = len(data); tf.addfile(ti, io.BytesIO(data))
    >>> count_tar_samples(path), list(iter_tar_samples(path, start=1))
    (2, [('b', {'jpg': b'2', 'cls': b'1'})])
"""

from __future__ import annotations

import os
import posixpath
import tarfile
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..errors import ConfigError

__all__ = ["TarShardSource", "count_tar_samples", "iter_tar_samples", "split_member_name"]

Fields = dict[str, bytes]


def split_member_name(name: str) -> tuple[str, str]:
    """``'dir/key.ext.more'`` -> ``('dir/key', 'ext.more')`` (the key ends at the base name's first dot)."""
    head, base = posixpath.split(name)
    stem, _, ext = base.partition(".")
    return (posixpath.join(head, stem) if head else stem), ext.lower()


def _check_local(path: str) -> None:
    if "://" in path or path.startswith("pipe:"):
        raise ConfigError(
            f"shard {path!r}: only local shard files are supported (download or mount them first)"
        )


def _samples(path: str, start: int, read: bool) -> Iterator[tuple[str, Fields]]:
    _check_local(path)
    with tarfile.open(path, mode="r:*") as tf:
        key, fields, index = None, {}, -1
        for member in tf:
            if not member.isreg():
                continue
            k, ext = split_member_name(member.name)
            if not posixpath.basename(k) or posixpath.basename(member.name).startswith("."):
                continue  # hidden files such as ._ AppleDouble entries
            if k != key:
                if key is not None and index >= start:
                    yield key, fields
                key, fields, index = k, {}, index + 1
            if read and index >= start:
                f = tf.extractfile(member)
                fields[ext] = f.read() if f is not None else b""
            else:
                fields[ext] = b""
        if key is not None and index >= start:
            yield key, fields


def iter_tar_samples(path: str, start: int = 0) -> Iterator[tuple[str, Fields]]:
    """``(key, {ext: bytes})`` for each sample of the tar shard ``path`` from sample ``start`` on."""
    return _samples(os.fspath(path), start, read=True)


def count_tar_samples(path: str) -> int:
    """Samples in the tar shard ``path`` (reads member headers only)."""
    return sum(1 for _ in _samples(os.fspath(path), 0, read=False))


class TarShardSource:
    """A :class:`~pixelpipe.streaming.source.ShardSource` over webdataset tar files.

    Args:
        paths: shard files.
        lengths: samples per shard; ``None`` counts them now (headers only).
        make_sample: ``(key, fields) -> (input, target)``; the default returns ``(fields, None)``.
    """

    def __init__(
        self,
        paths: Sequence[str],
        lengths: Sequence[int] | None = None,
        make_sample: Callable[[str, Fields], tuple[Any, Any]] | None = None,
    ) -> None:
        self.paths = [os.fspath(p) for p in paths]
        for p in self.paths:
            _check_local(p)
        if lengths is None:
            lengths = [count_tar_samples(p) for p in self.paths]
        elif len(lengths) != len(self.paths):
            raise ConfigError(f"{len(self.paths)} shards but {len(lengths)} shard lengths")
        self.shard_lengths = [int(n) for n in lengths]
        self.make_sample = make_sample

    def shard_name(self, index: int) -> str:
        return self.paths[index]

    def iter_shard(self, index: int, start: int = 0) -> Iterator[tuple[str, Any, Any]]:
        for key, fields in iter_tar_samples(self.paths[index], start):
            if self.make_sample is None:
                yield key, fields, None
            else:
                value, target = self.make_sample(key, fields)
                yield key, value, target
