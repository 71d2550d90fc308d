"""Write any readable image dataset as webdataset tar shards plus the ``_info.json`` the reader uses.

Each sample becomes ``<key>.<ext>`` (the original encoded bytes, never re-encoded; ``jpeg`` is written as
``jpg``), ``<key>.cls`` (the class index as text) and ``<key>.filename`` (its original file name). Keys are
the sample's index, zero-padded. Shards are ``<name>-000000.tar``, ``<name>-000001.tar``, ... with at most
``max_count`` samples each; ``_info.json`` gets (or updates) the entry of ``split`` with ``num_samples``,
``filenames`` and ``shard_lengths``, and the dataset's ``class_to_idx``. Tar members carry fixed
metadata (mtime 0, root owner), so the same input gives byte-identical shards.

``out`` may be an object-store URL (``s3://bucket/shards``, ``gs://...``, any fsspec URL): shards and
``_info.json`` are then written there through fsspec (``pixelpipe[s3]`` / ``pixelpipe[gcs]``), with the
backend's usual credentials and endpoint (``AWS_ENDPOINT_URL``, ...).

Example:
    >>> import os, tempfile
    >>> from pixelpipe.synthetic import write_shapes_folder
    >>> src, out = tempfile.mkdtemp(), tempfile.mkdtemp()
    >>> _ = write_shapes_folder(src, per_class=2, size=16)
    >>> info = write_shards(src, out, max_count=5, split='train', progress=False)
    >>> info['shard_lengths'], sorted(os.listdir(out))[:2]
    ([5, 5], ['_info.json', 'train-000000.tar'])
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import posixpath
import sys
import tarfile
from collections.abc import Callable, Iterator
from typing import IO, Any

from .errors import ConfigError
from .streaming.gopen import is_fsspec_url, join_url, url_to_fs
from .streaming.shards import read_info_file
from .streaming.untrusted import check_info_names

__all__ = ["write_shards"]

_EXT_ALIASES = {"jpeg": "jpg", "tif": "tiff"}


def _member(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode, info.uname, info.gname = len(data), 0, 0o644, "root", "root"
    tf.addfile(info, io.BytesIO(data))


def _open_dataset(source: Any, split: str, class_map: Any, label: Any) -> Any:
    from .datasets import ImageDataset
    from .factories import create_dataset

    if isinstance(source, ImageDataset):
        return source
    from .base.reader import Reader

    if isinstance(source, Reader):
        return ImageDataset(None, reader=source, load_bytes=True)
    if label is not None:
        from .readers.filename_label import ReaderFilenameLabel

        reader = ReaderFilenameLabel(source, label=label, class_map=class_map or "")
        return ImageDataset(source, reader=reader, load_bytes=True)
    return create_dataset("", root=source, split=split, class_map=class_map, load_bytes=True)


def write_shards(
    source: Any,
    out: str | os.PathLike[str],
    max_count: int = 1000,
    split: str = "train",
    name: str | None = None,
    class_map: Any = None,
    label: str | Callable[[str], str | None] | None = None,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Write ``source`` as webdataset shards under ``out``; return the split's ``_info.json`` entry.

    Args:
        source: a folder of class folders, a ``.tar`` (``split`` picks its split sub-folder, as in
            ``create_dataset``), a folder of labelled file names (with ``label``), an ``ImageDataset``
            or a ``Reader``.
        out: output folder (created), or an fsspec URL (``s3://bucket/prefix``).
        max_count: samples per shard (at most).
        split: split name to read and to record in ``_info.json``.
        name: shard file prefix (default: ``split``).
        class_map: class map for the source reader.
        label: read ``source`` with :class:`~pixelpipe.readers.ReaderFilenameLabel` and this pattern.
        progress: show a tqdm progress bar (default: when stderr is a terminal).

    Raises:
        ConfigError: ``max_count`` < 1, a name that would break the shard spec, or an existing
            ``out/_info.json`` that is not a JSON object or lists a shard outside ``out`` (checked before
            anything is written).
    """
    if isinstance(max_count, bool) or not isinstance(max_count, int) or max_count < 1:
        raise ConfigError(f"write_shards: max_count must be an int >= 1, got {max_count!r}")
    prefix = name or split
    if not prefix or any(c in prefix for c in "/{}|:") or "tar" in prefix or ".." in prefix:
        raise ConfigError(
            f"write_shards: name {prefix!r} must be a plain file prefix (no '/', braces, 'tar')"
        )
    if any(c in split for c in "{}|") or "tar" in split or ".." in split:
        raise ConfigError(f"write_shards: split {split!r} must be a plain split name")
    out = os.fspath(out)
    info = _existing_info(out)  # before any shard is written: a hostile or broken file stops the run
    ds = _open_dataset(source, split, class_map, label)
    fs = _Out(out)
    n = len(ds)
    if n == 0:
        raise ConfigError(f"write_shards: {source!r} holds no samples")
    from tqdm import tqdm

    show = sys.stderr.isatty() if progress is None else progress
    bar = tqdm(total=n, unit="img", desc=f"shard {split}", disable=not show)
    width = max(8, len(str(n - 1)))
    files: list[str] = []
    lengths: list[int] = []
    try:
        for start in range(0, n, max_count):
            files.append(f"{prefix}-{len(files):06d}.tar")
            lengths.append(0)
            pax = tarfile.PAX_FORMAT
            with fs.open(files[-1], "wb") as f, tarfile.open(fileobj=f, mode="w", format=pax) as tf:
                for i in range(start, min(start + max_count, n)):
                    data, target, *_ = ds[i]
                    filename = str(ds.filename(i))
                    ext = os.path.splitext(filename)[1].lstrip(".").lower() or "jpg"
                    ext = _EXT_ALIASES.get(ext, ext)
                    key = f"{i:0{width}d}"
                    _member(tf, f"{key}.{ext}", bytes(data))
                    _member(tf, f"{key}.cls", str(int(target)).encode())
                    _member(tf, f"{key}.filename", filename.encode("utf-8"))
                    lengths[-1] += 1
                    bar.update(1)
    finally:
        bar.close()
    entry = {"name": split, "num_samples": n, "filenames": files, "shard_lengths": lengths}
    _update_info(fs, info, prefix, split, entry, getattr(ds.reader, "class_to_idx", None))
    return entry


def _existing_info(out: str) -> dict[str, Any]:
    """``out/_info.json`` (``{}`` when there is none), its other splits' shard lists checked.

    The file may have come with the folder, and the splits it keeps are read later by ``wds/``: a
    ``pipe:`` command, URL or path outside ``out`` in it is refused now, as the reader would refuse it.
    """
    path = join_url(out, "_info.json")
    info = read_info_file(path)
    if info is None:
        return {}
    check_info_names(info, out, path)
    return info


class _Out:
    """The output folder: a local folder, or an fsspec URL written through its filesystem."""

    def __init__(self, out: str) -> None:
        self.out = out
        if is_fsspec_url(out):
            self.fs, self.root = url_to_fs(out)
            self.fs.makedirs(self.root, exist_ok=True)
        else:
            self.fs, self.root = None, out
            os.makedirs(out, exist_ok=True)

    @contextlib.contextmanager
    def open(self, name: str, mode: str) -> Iterator[IO[Any]]:
        if self.fs is None:
            with open(os.path.join(self.root, name), mode) as f:
                yield f
        else:
            with self.fs.open(posixpath.join(self.root, name), mode) as f:
                yield f

    def exists(self, name: str) -> bool:
        if self.fs is None:
            return os.path.isfile(os.path.join(self.root, name))
        return bool(self.fs.exists(posixpath.join(self.root, name)))


def _update_info(
    out: _Out, info: dict[str, Any], prefix: str, split: str, entry: dict[str, Any], class_to_idx: Any
) -> None:
    info.setdefault("name", prefix)
    info.setdefault("splits", {})[split] = entry
    if class_to_idx:
        info["class_to_idx"] = {str(k): int(v) for k, v in dict(class_to_idx).items()}
    data = json.dumps(info, indent=1).encode("utf-8")
    if out.fs is not None:  # an object store writes the object whole, atomically
        with out.open("_info.json", "wb") as f:
            f.write(data)
        return
    path = os.path.join(out.root, "_info.json")
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
