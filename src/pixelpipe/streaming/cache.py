"""A node-local cache of remote shards: size limit, LRU eviction, safe concurrent fetches, retries.

Remote shards (``s3://``, ``gs://``, ``hf://`` and other fsspec URLs, ``http(s)://``, ``pipe:`` commands)
are downloaded whole into ``cache_dir`` and read from there with random access, so a shard split between
DataLoader workers, or read again in the next epoch, is downloaded once per node.

* **Size limit, LRU.** After each download the least recently used shards are deleted until the cache
  holds at most ``limit`` bytes. Reading a shard marks it used. A shard being read (by any process) is
  never evicted, so the cache can exceed the limit by the shards read or fetched at that moment.
* **Concurrent fetches.** Workers and ranks on one node may share ``cache_dir``. A shard is downloaded to a
  temporary name and renamed into place atomically; a per-shard lock (``fcntl.flock``) makes the other
  processes wait for the download instead of repeating it, and they re-check for the file once they hold
  the lock. Readers hold a shared lock on the shard while reading it; eviction takes the exclusive lock
  without waiting and skips shards it cannot get. Locks die with their process: a crashed worker never
  leaves a stale lock behind (a stale temporary file is removed by the next eviction).
* **Retries.** A transient failure (network error, HTTP 5xx, a failing ``pipe:`` command, a timeout) is
  retried ``retries`` times with exponential backoff (``backoff``, ``2 * backoff``, ... capped at 30 s);
  a missing object (HTTP 404, ``FileNotFoundError``) or a configuration error is not retried. The final
  error is a :class:`~pixelpipe.streaming.gopen.StreamError` (or
  :class:`~pixelpipe.errors.DatasetNotFoundError`) naming the URL.
* **No hangs.** Every wait has a timeout: lock waits and waits for a prefetch give up after ``timeout``
  seconds with an error naming the shard; network reads use the backend's timeouts.
* **Prefetch.** :meth:`ShardCache.prefetch` starts downloading a shard in a background thread, so the
  next shard of a worker arrives while the current one is read.

Example:
    >>> import os, tempfile
    >>> src = os.path.join(tempfile.mkdtemp(), 'shard-0.tar')
    >>> with open(src, 'wb') as f:
    ...     _ = f.write(b'x' * 1000)
    >>> cache = ShardCache(tempfile.mkdtemp(), limit='1.5 KB')
    >>> with cache.acquire(f'pipe:cat {src}') as local:
    ...     os.path.getsize(local)
    1000
    >>> cache.size(), parse_size('2 GiB'), parse_size('1.5 KB')
    (1000, 2147483648, 1500)
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import TypeVar

from ..errors import ConfigError, DatasetNotFoundError
from .gopen import DEFAULT_TIMEOUT, StreamError, open_stream

try:
    import fcntl
except ImportError:  # pragma: no cover (Windows: the cache still works within one process)
    fcntl = None  # type: ignore[assignment]  # no fcntl (Windows): None, which the lock code checks

__all__ = ["ShardCache", "is_transient", "parse_size", "retry_call"]

_LOG = logging.getLogger(__name__)
_UNITS = {"": 1, "b": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}
_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([kmgt]?)(i?)b?\s*$", re.IGNORECASE)
_MAX_BACKOFF = 30.0
T = TypeVar("T")


def parse_size(value: int | float | str | None) -> int | None:
    """Bytes from an int or a string such as ``'50GB'``, ``'500 MiB'``, ``'1.5T'`` (``None``: no limit).

    Example:
        >>> parse_size('500MiB'), parse_size(1024), parse_size(None)
        (524288000, 1024, None)
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ConfigError(f"cache limit must be a number of bytes or a size such as '50GB', got {value!r}")
    if isinstance(value, (int, float)):
        if value < 0 or value != value:
            raise ConfigError(f"cache limit must be >= 0 bytes, got {value!r}")
        return int(value)
    m = _SIZE.match(str(value))
    if not m:
        raise ConfigError(f"cache limit must be a number of bytes or a size such as '50GB', got {value!r}")
    number, unit, binary = float(m.group(1)), m.group(2).lower(), bool(m.group(3))
    scale = 1024 ** "bkmgt".index(unit) if binary and unit else _UNITS[unit]
    return int(number * scale)


def is_transient(error: BaseException) -> bool:
    """Whether a failed fetch is worth retrying: network and stream errors, not missing objects or config."""
    if isinstance(error, (DatasetNotFoundError, FileNotFoundError, PermissionError, ConfigError)):
        return False
    if not getattr(error, "transient", True):  # e.g. a shard that is not a tar archive
        return False
    return isinstance(error, (OSError, TimeoutError, ConnectionError, EOFError))


def retry_call(
    fn: Callable[[], T], what: str, retries: int = 3, backoff: float = 0.5, deadline: float | None = None
) -> T:
    """``fn()``, retried up to ``retries`` times on transient errors, sleeping ``backoff * 2**attempt``.

    Args:
        fn: the call.
        what: names the resource in the final error (the URL).
        retries: extra attempts after the first.
        backoff: first sleep in seconds (doubled each time, at most 30 s).
        deadline: ``time.monotonic()`` after which no new attempt starts.

    Raises:
        StreamError: the last transient error, after the retries, naming ``what`` and the attempts.
        Exception: a non-transient error at once (``DatasetNotFoundError``, ``ConfigError``, ...).

    Example:
        >>> calls = []
        >>> def flaky():
        ...     calls.append(1)
        ...     if len(calls) < 3:
        ...         raise ConnectionError('reset')
        ...     return 'ok'
        >>> retry_call(flaky, 'x', retries=2, backoff=0), len(calls)
        ('ok', 3)
    """
    attempt = 0
    while True:
        try:
            return fn()
        except Exception as e:
            if not is_transient(e):
                raise
            out_of_time = deadline is not None and time.monotonic() >= deadline
            if attempt >= retries or out_of_time:
                raise StreamError(
                    f"cannot fetch {what!r} after {attempt + 1} attempts: {type(e).__name__}: {e}"
                ) from e
            delay = min(_MAX_BACKOFF, backoff * 2**attempt)
            _LOG.warning("fetching %s failed (%s: %s); retry %d/%d in %.1fs", what, type(e).__name__, e,
                         attempt + 1, retries, delay)  # fmt: skip
            time.sleep(delay)
            attempt += 1


@contextlib.contextmanager
def _flock(path: str, exclusive: bool, timeout: float, what: str) -> Iterator[None]:
    """Hold a shared or exclusive ``flock`` on ``path``, waiting at most ``timeout`` seconds."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if fcntl is not None:
            flag = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
            deadline, delay = time.monotonic() + timeout, 0.005
            while True:
                try:
                    fcntl.flock(fd, flag)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise StreamError(f"timed out after {timeout:g}s waiting for {what}") from None
                    time.sleep(delay)
                    delay = min(delay * 2, 0.1)
        yield
    finally:
        os.close(fd)  # releases the lock


def _try_exclusive(path: str) -> int | None:
    """An fd holding an exclusive lock on ``path`` if nobody holds any lock on it, else ``None``."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    if fcntl is None:
        return fd
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd
    except BlockingIOError:
        os.close(fd)
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ShardCache:
    """Remote shards downloaded into a local folder shared by the processes of a node (see module docs).

    Args:
        cache_dir: the folder (created). Share it between the workers and ranks of a node; do not share
            it between nodes over a network file system (locks are per node).
        limit: maximum bytes kept (an int, or a size such as ``'50GB'``; ``None``: no limit).
        retries: extra attempts for a transient failure.
        backoff: first retry delay in seconds (doubled each retry, at most 30 s).
        timeout: seconds any wait may last (a lock held by another process, a prefetch), and the
            per-operation network timeout for ``http(s)://``.

    Raises:
        ConfigError: a bad argument.
    """

    def __init__(
        self,
        cache_dir: str | os.PathLike[str],
        limit: int | float | str | None = None,
        retries: int = 3,
        backoff: float = 0.5,
        timeout: float = 600.0,
    ) -> None:
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ConfigError(f"ShardCache: retries must be an int >= 0, got {retries!r}")
        for name, v in (("backoff", backoff), ("timeout", timeout)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0:
                raise ConfigError(f"ShardCache: {name} must be a number >= 0, got {v!r}")
        self.cache_dir = os.path.abspath(os.fspath(cache_dir))
        self.limit = parse_size(limit)
        self.retries, self.backoff, self.timeout = retries, float(backoff), float(timeout)
        self._locks = os.path.join(self.cache_dir, ".locks")
        self._tmp = os.path.join(self.cache_dir, ".tmp")
        os.makedirs(self._locks, exist_ok=True)
        os.makedirs(self._tmp, exist_ok=True)
        self._prefetches: dict[str, threading.Thread] = {}
        self._errors: dict[str, BaseException] = {}
        self.num_fetched = 0  # downloads done by this process (tests, benchmarks)

    def __getstate__(self) -> dict[str, object]:  # threads stay in their process
        state = dict(self.__dict__)
        state["_prefetches"], state["_errors"] = {}, {}
        return state

    def __repr__(self) -> str:
        return f"ShardCache({self.cache_dir!r}, limit={self.limit}, retries={self.retries})"

    # -- names ----------------------------------------------------------------------------------------
    def path(self, url: str) -> str:
        """The local file ``url`` is cached as (it may not exist yet)."""
        digest = hashlib.sha1(url.encode("utf-8")).hexdigest()[:16]
        base = re.sub(r"[^A-Za-z0-9._-]", "_", url.rstrip("/").rsplit("/", 1)[-1])[-80:]
        return os.path.join(self.cache_dir, f"{digest}-{base}")

    def _lock(self, local: str, kind: str) -> str:
        return os.path.join(self._locks, os.path.basename(local) + kind)

    # -- use ------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def acquire(self, url: str) -> Iterator[str]:
        """The local copy of ``url`` (fetched now if needed), never evicted while the context is open.

        Raises:
            DatasetNotFoundError: the object does not exist.
            StreamError: the fetch failed after its retries, or a wait timed out; the message names ``url``.
        """
        local = self.path(url)
        with _flock(self._lock(local, ".pin"), False, self.timeout, f"the cache entry of {url!r}"):
            if os.path.exists(local):
                self._touch(local)
            else:
                self._wait_prefetch(url)
                self._fetch(url, local)
            yield local

    def fetch(self, url: str) -> str:
        """Download ``url`` into the cache unless it is there; return the local path (not pinned)."""
        local = self.path(url)
        if not os.path.exists(local):
            self._fetch(url, local)
        return local

    def prefetch(self, url: str) -> None:
        """Start downloading ``url`` in a background thread (errors are kept for :meth:`acquire`)."""
        if os.path.exists(self.path(url)) or url in self._prefetches:
            return
        for done in [u for u, t in self._prefetches.items() if not t.is_alive()]:
            del self._prefetches[done]

        def run() -> None:
            try:
                self.fetch(url)
            except Exception as e:  # reported to the reader that needs the shard
                self._errors[url] = e

        thread = threading.Thread(target=run, name=f"pixelpipe-prefetch-{os.path.basename(url)}", daemon=True)
        self._prefetches[url] = thread
        thread.start()

    def _wait_prefetch(self, url: str) -> None:
        thread = self._prefetches.pop(url, None)
        if thread is not None:
            thread.join(self.timeout)
            if thread.is_alive():
                raise StreamError(f"timed out after {self.timeout:g}s waiting for the prefetch of {url!r}")
        self._errors.pop(url, None)  # a failed prefetch is tried again (with its own retries)

    def _fetch(self, url: str, local: str) -> None:
        with _flock(self._lock(local, ".fetch"), True, self.timeout, f"another process fetching {url!r}"):
            if os.path.exists(local):  # fetched by another process while we waited
                self._touch(local)
                return
            deadline = time.monotonic() + self.timeout
            tmp = os.path.join(self._tmp, f"{os.path.basename(local)}.{os.getpid()}.{uuid.uuid4().hex[:8]}")

            def download() -> None:
                try:
                    net_timeout = min(self.timeout, DEFAULT_TIMEOUT)
                    with open_stream(url, timeout=net_timeout) as src, open(tmp, "wb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
                except BaseException:
                    with contextlib.suppress(OSError):
                        os.unlink(tmp)
                    raise

            retry_call(download, url, self.retries, self.backoff, deadline)
            os.replace(tmp, local)
            self.num_fetched += 1
        self.evict()

    @staticmethod
    def _touch(local: str) -> None:
        with contextlib.suppress(OSError):
            os.utime(local)

    # -- size -----------------------------------------------------------------------------------------
    def entries(self) -> list[tuple[str, int, float]]:
        """``(path, bytes, last use)`` of every cached shard, least recently used first."""
        out = []
        with os.scandir(self.cache_dir) as it:
            for e in it:
                if e.is_file() and not e.name.startswith("."):
                    with contextlib.suppress(OSError):
                        st = e.stat()
                        out.append((e.path, st.st_size, st.st_mtime))
        return sorted(out, key=lambda x: x[2])

    def size(self) -> int:
        """Bytes of the cached shards."""
        return sum(n for _, n, _ in self.entries())

    def evict(self) -> int:
        """Delete least recently used shards that nobody reads until the limit holds; return bytes freed."""
        if self.limit is None:
            return 0
        freed = 0
        lock = os.path.join(self._locks, "evict.lock")
        with _flock(lock, True, self.timeout, f"eviction in {self.cache_dir!r}"):
            self._remove_stale_tmp()
            entries = self.entries()
            total = sum(n for _, n, _ in entries)
            for path, n, _ in entries:
                if total <= self.limit:
                    break
                fd = _try_exclusive(self._lock(path, ".pin"))
                if fd is None:
                    continue  # being read: never evicted
                try:
                    os.unlink(path)
                    total, freed = total - n, freed + n
                except OSError:
                    pass
                finally:
                    os.close(fd)
            if total > self.limit:
                _LOG.info("shard cache %s holds %d bytes > limit %d: the rest is being read", self.cache_dir,
                          total, self.limit)  # fmt: skip
        return freed

    def _remove_stale_tmp(self) -> None:
        with os.scandir(self._tmp) as it:
            for e in it:
                pid = e.name.rsplit(".", 2)[-2] if e.name.count(".") >= 2 else ""
                if pid.isdigit() and not _pid_alive(int(pid)):
                    with contextlib.suppress(OSError):
                        os.unlink(e.path)
