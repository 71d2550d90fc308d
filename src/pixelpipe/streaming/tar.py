"""Webdataset tar shards: samples are runs of consecutive members sharing a key (``<key>.<ext>``).

Read with :mod:`tarfile` straight from the archive (nothing is extracted to disk; only regular files are
read; member names are used as keys, never as paths). A member larger than ``max_member_bytes`` (default
:data:`~pixelpipe.io.limits.DEFAULT_MAX_MEMBER_BYTES`, 256 MiB) is never read: its field holds a
:class:`~pixelpipe.errors.SampleError` naming the shard, member and size instead, and
:class:`TarShardSource` yields that error as the sample's input, so the dataset's ``on_error`` policy
applies and the sample still counts.

* A local shard (a path or ``file://`` URL) is read with random access: skipping the first ``start``
  samples reads member headers only.
* A remote shard with a :class:`~pixelpipe.streaming.cache.ShardCache` (``cache=``) is downloaded once
  into the cache (retried on transient errors, prefetched by :meth:`TarShardSource.prefetch`) and read
  there as a local shard.
* A remote shard without a cache (a URL: ``http(s)://``, ``s3://``, ``gs://``, ``hf://``, ...; or
  ``pipe:CMD``, opened with
  :func:`~pixelpipe.streaming.gopen.open_stream`) is read sequentially in tarfile's streaming mode
  (``'r|*'``): skipping ``start`` samples reads and discards their bytes, and counting its samples
  (:func:`count_tar_samples`) downloads the whole shard. :class:`TarShardSource` therefore needs the
  lengths of remote shards (``shard_lengths`` in the split info, as ``pixelpipe shard`` writes it) and
  raises a :class:`~pixelpipe.errors.ConfigError` without them, unless asked to count them
  (``count_remote=True``). A transient failure while opening or reading it (network error, HTTP 5xx)
  reopens the shard and skips the samples already yielded, up to ``retries`` times with backoff; a shard
  that is not a tar archive is not retried.

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

import contextlib
import logging
import os
import posixpath
import tarfile
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any

from ..errors import ConfigError, PixelpipeError, SampleError
from ..io.limits import DEFAULT_MAX_MEMBER_BYTES, resolve_max_member_bytes
from .cache import ShardCache, is_transient
from .gopen import StreamError, is_remote, local_path, open_stream

__all__ = ["TarShardSource", "count_tar_samples", "iter_tar_samples", "split_member_name"]

_LOG = logging.getLogger(__name__)
Fields = dict[str, Any]  # extension -> bytes (or a SampleError for a member too large to read)


def split_member_name(name: str) -> tuple[str, str]:
    """``'dir/key.ext.more'`` -> ``('dir/key', 'ext.more')`` (the key ends at the base name's first dot)."""
    head, base = posixpath.split(name)
    stem, _, ext = base.partition(".")
    return (posixpath.join(head, stem) if head else stem), ext.lower()


def _too_large(path: str, member: tarfile.TarInfo, key: str, max_bytes: int) -> SampleError:
    return SampleError(
        f"member {member.name!r} of shard {path!r} is {member.size} bytes, over max_member_bytes "
        f"({max_bytes}); not read",
        filename=f"{path}/{key}",
    )


def _sample_runs(
    members: Iterator[tarfile.TarInfo],
    tf: tarfile.TarFile,
    start: int,
    read: bool,
    path: str = "",
    max_bytes: int | None = None,
) -> Iterator[tuple[str, Fields]]:
    key: str | None = None
    fields: Fields = {}
    index = -1
    for member in members:
        if not member.isreg():
            continue
        k, ext = split_member_name(member.name)
        if not posixpath.basename(k) or posixpath.basename(member.name).startswith("."):
            continue  # hidden files such as ._ AppleDouble entries
        if k != key:
            if key is not None and index >= start:
                yield key, fields
            key, fields, index = k, {}, index + 1
        if read and index >= start and max_bytes is not None and member.size > max_bytes:
            fields[ext] = _too_large(path, member, k, max_bytes)
        elif read and index >= start:
            f = tf.extractfile(member)
            fields[ext] = f.read() if f is not None else b""
        else:
            fields[ext] = b""
    if key is not None and index >= start:
        yield key, fields


def _streamed_members(tf: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    """Members one after the other, without keeping the list of all of them (a shard can be large)."""
    while (member := tf.next()) is not None:
        tf.members.clear()  # type: ignore[attr-defined]  # a real TarFile attribute that typeshed omits
        yield member


def _samples(
    path: str, start: int, read: bool, max_bytes: int | None = None
) -> Generator[tuple[str, Fields], None, None]:
    if not is_remote(path):
        with tarfile.open(local_path(path), mode="r:*") as tf:
            yield from _sample_runs(iter(tf), tf, start, read, path, max_bytes)
        return
    with open_stream(path) as stream:
        try:
            tf = tarfile.open(fileobj=stream, mode="r|*")  # noqa: SIM115 (closed by the with below)
        except tarfile.TarError as e:
            err = StreamError(f"shard {path!r} is not a readable tar stream: {e}")
            err.transient = False  # the data is wrong: reading it again will not help
            raise err from e
        with tf:
            try:
                yield from _sample_runs(_streamed_members(tf), tf, start, read, path, max_bytes)
            except PixelpipeError:
                raise
            except (tarfile.TarError, OSError) as e:  # a truncated archive, a network timeout, ...
                err = StreamError(f"shard {path!r}: {type(e).__name__}: {e}")
                err.transient = not isinstance(e, tarfile.TarError)
                raise err from e
        while stream.read(1 << 16):
            pass  # the end-of-archive padding: read to the end so the exit status of a pipe: is checked


def iter_tar_samples(
    path: str, start: int = 0, max_member_bytes: int | None = DEFAULT_MAX_MEMBER_BYTES
) -> Generator[tuple[str, Fields], None, None]:
    """``(key, {ext: bytes})`` for each sample of the tar shard ``path`` from sample ``start`` on.

    ``path`` is a local path or any name :func:`~pixelpipe.streaming.gopen.open_stream` opens (URL,
    ``pipe:``); close the iterator (or exhaust it) to release the stream. A member larger than
    ``max_member_bytes`` is not read: its field is a :class:`~pixelpipe.errors.SampleError`.
    """
    max_bytes = resolve_max_member_bytes(max_member_bytes, "iter_tar_samples")
    return _samples(os.fspath(path), start, read=True, max_bytes=max_bytes)


def count_tar_samples(path: str) -> int:
    """Samples in the tar shard ``path`` (local: reads member headers only; remote: streams the shard)."""
    return sum(1 for _ in _samples(os.fspath(path), 0, read=False))


class TarShardSource:
    """A :class:`~pixelpipe.streaming.source.ShardSource` over webdataset tar files.

    Args:
        paths: shard files: local paths or URLs / ``pipe:`` commands (see
            :func:`~pixelpipe.streaming.gopen.open_stream`).
        lengths: samples per shard; ``None`` counts them now (local shards: headers only).
        make_sample: ``(key, fields) -> (input, target)``; the default returns ``(fields, None)``.
        count_remote: with ``lengths=None``, count the samples of remote shards by streaming each of them
            once (downloads everything); by default that raises instead.
        max_member_bytes: members larger than this are not read; their sample's input is a
            :class:`~pixelpipe.errors.SampleError` (``None``: no limit; default 256 MiB).
        cache: download remote shards into this :class:`~pixelpipe.streaming.cache.ShardCache` and read
            them there (``None``: stream them).
        retries: without a cache, reopen a remote shard this many times after a transient failure (with a
            cache, the cache's own ``retries`` apply).
        backoff: first delay between those attempts, in seconds (doubled each time).

    Raises:
        ConfigError: ``lengths`` has the wrong size, or remote shards without ``lengths`` (and without
            ``count_remote``).
    """

    def __init__(
        self,
        paths: Sequence[str],
        lengths: Sequence[int] | None = None,
        make_sample: Callable[[str, Fields], tuple[Any, Any]] | None = None,
        count_remote: bool = False,
        max_member_bytes: int | None = DEFAULT_MAX_MEMBER_BYTES,
        cache: ShardCache | None = None,
        retries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        self.max_member_bytes = resolve_max_member_bytes(max_member_bytes, "TarShardSource")
        if cache is not None and not isinstance(cache, ShardCache):
            raise ConfigError(f"TarShardSource: cache must be a ShardCache or None, got {cache!r}")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ConfigError(f"TarShardSource: retries must be an int >= 0, got {retries!r}")
        self.cache, self.retries, self.backoff = cache, retries, float(backoff)
        self.paths = [os.fspath(p) for p in paths]
        if lengths is None:
            remote = [p for p in self.paths if is_remote(p)]
            if remote and not count_remote:
                raise ConfigError(
                    f"{len(remote)} remote shards (e.g. {remote[0]!r}) have no known sample counts. Give "
                    "per-shard counts as 'shard_lengths' of the split in _info.json / info.json next to "
                    "the shards (`pixelpipe shard` writes it; a '|num_samples' total is not enough), or "
                    "count them once with pixelpipe.streaming.tar.count_tar_samples(url) (downloads them)"
                )
            lengths = [count_tar_samples(p) for p in self.paths]
        elif len(lengths) != len(self.paths):
            raise ConfigError(f"{len(self.paths)} shards but {len(lengths)} shard lengths")
        self.shard_lengths = [int(n) for n in lengths]
        self.make_sample = make_sample

    def shard_name(self, index: int) -> str:
        return self.paths[index]

    def prefetch(self, index: int) -> None:
        """Start fetching shard ``index`` into the cache in the background (no-op without a cache)."""
        path = self.paths[index]
        if self.cache is not None and is_remote(path):
            self.cache.prefetch(path)

    def iter_shard(self, index: int, start: int = 0) -> Iterator[tuple[str, Any, Any]]:
        path = self.paths[index]
        if self.cache is not None and is_remote(path):
            with self.cache.acquire(path) as local:  # pinned (never evicted) while this generator is open
                yield from self._iter(local, start)
            return
        if not is_remote(path):
            yield from self._iter(path, start)
            return
        got, attempt = 0, 0
        while True:
            try:
                for item in self._iter(path, start + got):
                    yield item
                    got += 1
                return
            except Exception as e:
                if not is_transient(e) or attempt >= self.retries:
                    raise
                delay = min(30.0, self.backoff * 2**attempt)
                _LOG.warning("shard %s: %s; reopening after %d samples in %.1fs (retry %d/%d)", path, e,
                             start + got, delay, attempt + 1, self.retries)  # fmt: skip
                time.sleep(delay)
                attempt += 1

    def _iter(self, path: str, start: int) -> Iterator[tuple[str, Any, Any]]:
        samples = iter_tar_samples(path, start, self.max_member_bytes)
        with contextlib.closing(samples):
            for key, fields in samples:
                too_large = next((v for v in fields.values() if isinstance(v, SampleError)), None)
                if too_large is not None:
                    yield key, too_large, None
                elif self.make_sample is None:
                    yield key, fields, None
                else:
                    value, target = self.make_sample(key, fields)
                    yield key, value, target
