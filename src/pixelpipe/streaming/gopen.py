"""Open a shard or an info file by name: a local path, a URL (``http(s)://``, ``s3://``, ``gs://``, ``hf://``,
any fsspec URL) or a ``pipe:`` command.

:func:`open_stream` returns a binary, readable, sequential file-like object (use it as a context manager):

* a local path or ``file://`` URL: the file itself (seekable);
* ``http://`` / ``https://``: the response body, read with :mod:`urllib` (``timeout`` seconds per blocking
  operation); a failed request raises naming the URL and the HTTP status;
* ``pipe:CMD``: the standard output of the shell command ``CMD`` (e.g. ``pipe:aws s3 cp s3://b/x.tar -``,
  ``pipe:curl -s -f -L URL``). Its standard error is kept (in a temporary file) for error messages. After
  the whole output has been read, closing waits for the command and raises :class:`StreamError` naming it
  and its exit status if it failed. Closing *before* the end of the output (a consumer that stops early)
  terminates the command and ignores its exit status.
* every other ``scheme://`` (``s3://``, ``gs://``, ``hf://``, ``az://``, ...): the object, read through
  `fsspec <https://filesystem-spec.readthedocs.io>`_ and the scheme's maintained backend (``s3fs``,
  ``gcsfs``, ``huggingface_hub``; ``pip install 'pixelpipe[s3]'`` / ``'pixelpipe[gcs]'``). Credentials and
  endpoints come from each backend's standard configuration: for S3 the AWS variables and files
  (``AWS_ACCESS_KEY_ID``, ``AWS_PROFILE``, ``AWS_ENDPOINT_URL`` for an S3-compatible store such as MinIO,
  ...), for GCS ``GOOGLE_APPLICATION_CREDENTIALS``, for the Hub ``HF_TOKEN``. Network timeouts are the
  backend's (s3fs / gcsfs: 60 s per connect and read by default). A scheme without an installed backend
  raises a :class:`~pixelpipe.errors.ConfigError` naming the extra to install.

``pipe:`` runs a shell with the caller's permissions, and a URL contacts its host: pass only names the
caller wrote. Names listed by files that come with the data (``_info.json``) are checked first by
:mod:`pixelpipe.streaming.untrusted`, which refuses commands, URLs to elsewhere and paths outside the root.

Example:
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), 'data.bin')
    >>> with open(path, 'wb') as f:
    ...     _ = f.write(b'hello')
    >>> with open_stream(f'pipe:cat {path}') as s:
    ...     s.read()
    b'hello'
    >>> with open_stream('file://' + path) as s:
    ...     s.read(4)
    b'hell'
    >>> is_remote('https://host/x.tar'), is_remote('pipe:cat x.tar'), is_remote('file:///x.tar')
    (True, True, False)
"""

from __future__ import annotations

import io
import os
import subprocess
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from typing import IO, Any, cast

from ..errors import ConfigError, DatasetNotFoundError, PixelpipeError

__all__ = ["StreamError", "is_fsspec_url", "is_remote", "join_url", "local_path", "open_stream", "url_to_fs"]

DEFAULT_TIMEOUT = 60.0
_HTTP = ("http://", "https://")


class StreamError(PixelpipeError, OSError):
    """A URL or ``pipe:`` command could not be read; the message names it (and exit status or HTTP code).

    Attributes:
        transient: whether reading again may succeed (``False`` for data that is wrong, such as a shard that
            is not a tar archive); :func:`~pixelpipe.streaming.cache.is_transient` reads it.
    """

    transient: bool = True


def is_remote(name: str) -> bool:
    """Whether ``name`` is read as a stream (a ``scheme://`` URL other than ``file://``, or ``pipe:``)."""
    return name.startswith("pipe:") or ("://" in name and not name.startswith("file://"))


def is_fsspec_url(name: str) -> bool:
    """Whether ``name`` is a URL read through fsspec (``s3://``, ``gs://``, ``hf://``, ...).

    Example:
        >>> is_fsspec_url('s3://b/x.tar'), is_fsspec_url('https://h/x.tar'), is_fsspec_url('/x.tar')
        (True, False, False)
    """
    return "://" in name and not name.startswith(("file://", "pipe:", *_HTTP))


_EXTRAS = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs"}


def url_to_fs(url: str, **storage_options: Any) -> tuple[Any, str]:
    """``(filesystem, path)`` of an fsspec URL, with errors that name the URL and the extra to install.

    Raises:
        ConfigError: fsspec or the scheme's backend is not installed, or the scheme is unknown.
    """
    scheme = url.partition("://")[0]
    extra = _EXTRAS.get(scheme)
    hint = f"pip install 'pixelpipe[{extra}]'" if extra else "install the fsspec backend for it"
    try:
        import fsspec
    except ImportError:
        raise ConfigError(f"{url!r}: reading {scheme}:// URLs needs fsspec ({hint})") from None
    try:
        return fsspec.core.url_to_fs(url, **storage_options)
    except ImportError as e:
        raise ConfigError(
            f"{url!r}: the fsspec backend for {scheme}:// is not installed ({hint}): {e}"
        ) from None
    except ValueError as e:
        raise ConfigError(
            f"{url!r}: URL scheme {scheme!r} is not supported ({e}); use a local path, http(s)://, "
            "file://, an fsspec URL (s3://, gs://, hf://, ...) or 'pipe:<command writing the file to stdout>'"
        ) from None


def _open_fsspec(url: str) -> IO[bytes]:
    fs, path = url_to_fs(url)
    try:
        return fs.open(path, "rb")
    except FileNotFoundError:
        raise DatasetNotFoundError(f"{url!r} does not exist") from None
    except Exception as e:  # backends raise their own types (botocore, aiohttp, ...)
        raise StreamError(f"cannot open {url!r}: {type(e).__name__}: {e}") from e


def local_path(name: str) -> str:
    """The file system path of a local ``name`` (``file://`` URLs are decoded)."""
    if name.startswith("file://"):
        return urllib.request.url2pathname(urllib.parse.urlparse(name).path)
    return name


def join_url(root: str, name: str) -> str:
    """``name`` relative to ``root`` (a folder path or a URL); absolute paths and URLs are kept.

    Example:
        >>> join_url('https://host/shards', 'train-0.tar'), join_url('https://host/s/', 'pipe:cat x')
        ('https://host/shards/train-0.tar', 'pipe:cat x')
    """
    if is_remote(name) or name.startswith("file://") or os.path.isabs(name):
        return name
    if is_remote(root) or root.startswith("file://"):
        return root.rstrip("/") + "/" + name
    return os.path.join(root, name)


class _PipeStream(io.RawIOBase):
    """The standard output of a shell command (see :func:`open_stream`)."""

    def __init__(self, command: str) -> None:
        super().__init__()
        self.command = command
        self._eof = False
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        try:
            self._proc = subprocess.Popen(
                command, shell=True, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._stderr
            )
        except OSError as e:
            self._stderr.close()
            raise StreamError(f"cannot start pipe command {command!r}: {e}") from e

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        stdout = self._proc.stdout
        if stdout is None or self.closed:
            raise ValueError(f"pipe command {self.command!r}: read from a closed stream")
        # stdout=PIPE with the default buffering: Popen made it an io.BufferedReader, which has readinto
        n = cast(io.BufferedReader, stdout).readinto(buffer)
        if not n:
            self._eof = True
        return n or 0

    def _stderr_tail(self) -> str:
        self._stderr.seek(0, io.SEEK_END)
        size = self._stderr.tell()
        self._stderr.seek(max(0, size - 1000))
        text = self._stderr.read().decode("utf-8", "replace").strip()
        return f"; stderr: {text}" if text else ""

    def close(self) -> None:
        if self.closed:
            return
        try:
            proc = self._proc
            if proc.stdout is not None:
                proc.stdout.close()  # the rest of a pipeline stops on SIGPIPE
            if not self._eof and proc.poll() is None:
                proc.kill()  # the consumer stopped early: the exit status means nothing
            status = proc.wait()
            if self._eof and status != 0:
                raise StreamError(
                    f"pipe command {self.command!r} failed with exit status {status}{self._stderr_tail()}"
                )
        finally:
            self._stderr.close()
            super().close()


def _open_http(url: str, timeout: float) -> IO[bytes]:
    try:
        return urllib.request.urlopen(url, timeout=timeout)
    except urllib.error.HTTPError as e:
        e.close()
        cls = DatasetNotFoundError if e.code in (404, 410) else StreamError
        raise cls(f"cannot open {url!r}: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        why = getattr(e, "reason", e)
        raise StreamError(f"cannot open {url!r}: {why}") from e


def open_stream(name: str | os.PathLike[str], timeout: float = DEFAULT_TIMEOUT) -> IO[bytes]:
    """Open ``name`` (a path, ``file://``, ``http(s)://`` or fsspec URL, or ``pipe:CMD``) for binary reading.

    Args:
        name: what to open (see the module docs).
        timeout: seconds to wait for a network response (per blocking operation; ``http(s)://``; fsspec
            backends use their own configured timeouts).

    Raises:
        DatasetNotFoundError: a missing local file or object, or HTTP 404 / 410.
        StreamError: any other HTTP or network failure, or a ``pipe:`` command that cannot start.
        ConfigError: an unsupported URL scheme, or its fsspec backend is not installed.
    """
    name = os.fspath(name)
    if name.startswith("pipe:"):
        command = name[len("pipe:") :].strip()
        if not command:
            raise ConfigError(f"{name!r}: 'pipe:' must be followed by a shell command")
        return io.BufferedReader(_PipeStream(command))
    if name.startswith(_HTTP):
        return _open_http(name, timeout)
    if is_fsspec_url(name):
        return _open_fsspec(name)
    path = local_path(name)
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise DatasetNotFoundError(f"file {name!r} does not exist") from None
