"""A streaming reader over Hugging Face datasets (reference: timm ``ReaderHfids``, REFERENCE §1.11).

Unlike the reference, which hands sharding to ``datasets`` (``split_dataset_by_node`` and its worker
assignment: uneven counts per rank, no resume), this reader feeds the dataset's files to pixelpipe's
streaming core as shards (:class:`~pixelpipe.streaming.source.ShardSource`), so it gets the core's
guarantees: the epoch's order is a pure function of ``(seed, epoch)``, samples are split exactly over
``rank * num_workers + worker``, every rank yields the same count (padding rule in
:mod:`pixelpipe.streaming.plan`: the sequence wraps around to its start), and ``state_dict`` /
``load_state_dict`` resume in the middle of an epoch.

Shards, read with ``pyarrow`` (no conversion, only the needed columns):

* ``.parquet`` files: one shard per **row group** (counts from the file footers; a worker starting in
  the middle of a row group skips whole record batches);
* ``.arrow`` files (``save_to_disk`` folders, IPC stream or file format): one shard per file,
  memory-mapped.

Where the files come from (``name`` is resolved as in :mod:`pixelpipe.readers.hfds`: glob, path,
``root/name``, else hub id):

* a ``.parquet`` / ``.arrow`` file or a glob of them: those files (``split`` is not used);
* a ``save_to_disk`` folder (``state.json``; a ``DatasetDict`` folder picks ``split``): its arrow files;
* any other folder: the split's files by the ``datasets`` naming conventions (``train-*.parquet``,
  ``data/validation-0000-of-0001.parquet``, ``train/...``); a folder whose files are not parquet / arrow
  (an image folder, CSV, ...) is loaded with ``datasets`` (converted to Arrow in its cache, ``root``)
  and its rows streamed in chunks;
* a hub id: with ``download=True`` the split is downloaded and prepared by ``datasets`` (cache ``root``)
  and its rows streamed in chunks; without, the split's parquet files are read remotely (``hf://``);
* an object-store URL (``s3://bucket/data/``, ``gs://...``, ``hf://datasets/...``, any fsspec URL; a
  glob such as ``s3://bucket/data/train-*.parquet`` works): a file, a glob, or a folder's ``.parquet`` /
  ``.arrow`` files (those of ``split`` when file or folder names mark splits, ``train-0000.parquet``,
  ``train/...``), read through fsspec (``pixelpipe[s3]``, ``pixelpipe[gcs]``).

Remote files are read through fsspec, or with ``cache_dir`` downloaded once per node into a
:class:`~pixelpipe.streaming.cache.ShardCache` (size limit, LRU eviction, the next file prefetched,
transient errors retried) and read there.

Inputs are yielded **encoded** (image bytes; a stored path is read into bytes), so the shuffle buffer
holds encoded samples and :class:`~pixelpipe.datasets.IterableImageDataset` decodes them with its error
policy; a row without image data or with a label outside ``class_map`` becomes a per-sample error that
the policy handles (raise naming ``'<shard>/<key>'``, or skip and count). Keys are the stored image path
when there is one, else the row number in its file.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConfigError, DatasetNotFoundError, SampleError
from ..streaming.cache import ShardCache
from ..streaming.gopen import is_fsspec_url, url_to_fs
from ..streaming.stream import ShardStream
from ._hf_disk import check_local_folder, saved_data_files, saved_splits
from .class_map import load_class_map
from .hfds import _split_base, import_datasets, load_hf_dataset, resolve_local

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["HfShardSource", "ReaderHfids"]

_GLOB_CHARS = frozenset("*?[")
_DATA_EXTS = (".parquet", ".arrow")
_BATCH_ROWS = 256  # rows per record batch read from a parquet row group
_CHUNK_ROWS = 1024  # rows per shard when streaming a datasets.Dataset


class _Columns:
    """How to turn one Arrow record batch into ``(key, input, target)`` tuples."""

    def __init__(
        self,
        features: Any,
        datasets: Any,
        input_key: str,
        target_key: str,
        class_map: dict[str, int] | None,
        target_img_mode: str,
        where: str,
    ) -> None:
        columns = list(features)
        if input_key not in columns:
            raise ConfigError(f"{where}: input_key={input_key!r} is not a column; columns: {columns}")
        if target_key and target_key not in columns:
            raise ConfigError(
                f"{where}: target_key={target_key!r} is not a column; columns: {columns} "
                "(target_key='' reads no label)"
            )
        self.input_key, self.target_key = input_key, target_key
        self.input_is_image = isinstance(features[input_key], datasets.Image)
        target_feature = features[target_key] if target_key else None
        self.target_is_image = isinstance(target_feature, datasets.Image)
        self.target_img_mode = target_img_mode
        names = list(target_feature.names) if isinstance(target_feature, datasets.ClassLabel) else None
        self.names = names
        self.lut: np.ndarray | None = None
        self.remap = class_map
        if class_map and names is not None:
            self.lut = np.array([class_map.get(n, -1) for n in names], dtype=np.int64)
        self.class_to_idx = class_map or ({n: i for i, n in enumerate(names)} if names else {})

    @property
    def wanted(self) -> list[str]:
        return list(dict.fromkeys([self.input_key, *([self.target_key] if self.target_key else [])]))

    def _target(self, value: Any) -> Any:
        if value is None or self.target_is_image:
            return value
        if self.lut is not None and self.names is not None:  # the lookup exists only with ClassLabel names
            if not 0 <= value < len(self.lut):
                return None if value < 0 else SampleError(f"label {value} is outside the ClassLabel names")
            mapped = int(self.lut[value])
            if mapped < 0:
                return SampleError(f"label {self.names[value]!r} is not in the class_map")
            return mapped
        if self.remap:
            found = self.remap.get(str(value))
            return SampleError(f"label {value!r} is not in the class_map") if found is None else found
        return value

    def rows(self, batch: Any, first_row: int, start: int = 0) -> Iterator[tuple[str, Any, Any]]:
        """Rows ``start..`` of ``batch``; ``first_row`` is the batch's first row number in its file."""
        images = _array(batch, self.input_key)
        if self.input_is_image:
            data, paths = images.field("bytes").to_pylist(), images.field("path").to_pylist()
        elif str(images.type) in ("string", "large_string"):
            data, paths = [None] * len(images), images.to_pylist()
        else:
            data, paths = images.to_pylist(), [None] * len(images)
        if self.target_key:
            column = _array(batch, self.target_key)
            targets = (
                [(d or {}).get("bytes") or (d or {}).get("path") for d in column.to_pylist()]
                if self.target_is_image
                else column.to_pylist()
            )
        else:
            targets = [None] * len(images)
        for j in range(start, len(images)):
            path = paths[j]
            key = path if path else str(first_row + j)
            value: Any = data[j]
            if not value:
                value = (
                    _read_file(path) if path else SampleError("the row has neither image bytes nor a path")
                )
            target = self._target(targets[j])
            if isinstance(target, SampleError):
                value, target = target, None
            elif self.target_is_image and target is not None:
                target = _decode_target(target, self.target_img_mode)
                if isinstance(target, SampleError):  # its stored path is unreadable: a per-sample error
                    value, target = target, None
            yield key, value, target


def _array(batch: Any, key: str) -> Any:
    """Column ``key`` of a record batch or table as one pyarrow array."""
    column = batch.column(batch.schema.get_field_index(key))
    return column.combine_chunks() if hasattr(column, "combine_chunks") else column


def _read_file(path: str) -> bytes | SampleError:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        err = SampleError(f"cannot read the stored image path {path!r}: {e}")
        err.__cause__ = e
        return err


def _decode_target(value: Any, mode: str) -> Image.Image | SampleError:
    """An image target (bytes, or a stored path read here); the read error when that path is unreadable."""
    from ..io.decode import decode_pil

    data = _read_file(value) if isinstance(value, str) else value
    if isinstance(data, SampleError):
        return data
    return decode_pil(data, mode or None)


def _open_arrow(path: str, filesystem: Any = None) -> Any:
    """A memory-mapped Arrow table from an IPC stream (``save_to_disk``) or IPC file.

    With ``filesystem`` (a remote file without a cache) the file is read into memory instead.
    """
    import pyarrow as pa

    if filesystem is not None:
        with filesystem.open(path, "rb") as f:
            data = pa.py_buffer(f.read())
        try:
            return pa.ipc.open_stream(data).read_all()
        except pa.ArrowInvalid:
            return pa.ipc.open_file(data).read_all()
    source = pa.memory_map(path)
    try:
        return pa.ipc.open_stream(source).read_all()
    except pa.ArrowInvalid:
        source = pa.memory_map(path)
        return pa.ipc.open_file(source).read_all()


class HfShardSource:
    """Parquet row groups and Arrow files (or chunks of a ``datasets.Dataset``) as stream shards.

    Implements :class:`~pixelpipe.streaming.source.ShardSource`. Build it with :meth:`from_files` or
    :meth:`from_dataset`.

    Attributes:
        shard_lengths: rows per shard.
        columns: how rows become ``(key, input, target)``.
    """

    def __init__(self, shards: list[tuple[str, str, int, int, int]], columns: _Columns, dataset: Any = None):
        # one (kind, path, part, length, first row in its file) per shard
        self.shards = shards
        self.shard_lengths = [s[3] for s in shards]
        self.columns = columns
        self.dataset = dataset
        self._multi = {p for k, p, part, *_ in shards if k == "parquet" and part > 0}

    @classmethod
    def from_files(cls, files: list[str], make_columns: Any, filesystem: Any = None) -> HfShardSource:
        """Shards of ``.parquet`` (one per row group) and ``.arrow`` files (one per file)."""
        import pyarrow.parquet as pq

        shards: list[tuple[str, str, int, int, int]] = []
        schema = None
        for path in files:
            if path.lower().endswith(".parquet"):
                pf = pq.ParquetFile(filesystem.open(path, "rb") if filesystem else path)
                schema = schema or pf.schema_arrow
                first = 0
                for g in range(pf.metadata.num_row_groups):
                    n = pf.metadata.row_group(g).num_rows
                    shards.append(("parquet", path, g, n, first))
                    first += n
            else:
                table = _open_arrow(path, filesystem)
                schema = schema or table.schema
                shards.append(("arrow", path, 0, table.num_rows, 0))
        source = cls(shards, make_columns(schema))
        source.filesystem = filesystem
        return source

    @classmethod
    def from_dataset(cls, dataset: Any, columns: _Columns) -> HfShardSource:
        """Shards of ``_CHUNK_ROWS`` consecutive rows of a ``datasets.Dataset`` (memory-mapped)."""
        n = len(dataset)
        shards = [("dataset", "", a, min(_CHUNK_ROWS, n - a), a) for a in range(0, n, _CHUNK_ROWS)]
        return cls(shards, columns, dataset=dataset.select_columns(columns.wanted).with_format("arrow"))

    filesystem: Any = None
    cache: ShardCache | None = None

    @contextlib.contextmanager
    def _local(self, path: str) -> Iterator[tuple[str, Any]]:
        """``(path, filesystem)`` to read ``path`` with: the cached copy (pinned) or the remote file."""
        if self.cache is None or self.filesystem is None:
            yield path, self.filesystem
            return
        with self.cache.acquire(path) as local:
            yield local, None

    def prefetch(self, index: int) -> None:
        """Start fetching shard ``index``'s file into the cache in the background (no-op without one)."""
        kind, path, *_ = self.shards[index]
        if self.cache is not None and self.filesystem is not None and kind != "dataset":
            self.cache.prefetch(path)

    def shard_name(self, index: int) -> str:
        kind, path, part, n, first = self.shards[index]
        if kind == "dataset":
            return f"rows[{first}:{first + n}]"
        return f"{path}#rg{part}" if kind == "parquet" and (part or path in self._multi) else path

    def iter_shard(self, index: int, start: int = 0) -> Iterator[tuple[str, Any, Any]]:
        """Rows ``start..`` of shard ``index`` as ``(key, encoded image, target)``."""
        kind, path, part, n, first = self.shards[index]
        cols = self.columns
        if kind == "dataset":
            yield from cols.rows(self.dataset[first + start : first + n], first + start)
        elif kind == "arrow":
            with self._local(path) as (where, fs):
                table = _open_arrow(where, fs).select(cols.wanted).slice(start)
                for batch in table.to_batches(max_chunksize=_BATCH_ROWS):
                    yield from cols.rows(batch, start)
                    start += batch.num_rows
        else:
            import pyarrow.parquet as pq

            with self._local(path) as (where, fs):
                pf = pq.ParquetFile(fs.open(where, "rb") if fs else where)
                row = 0
                for batch in pf.iter_batches(batch_size=_BATCH_ROWS, row_groups=[part], columns=cols.wanted):
                    if row + batch.num_rows > start:
                        yield from cols.rows(batch, first + row, max(0, start - row))
                    row += batch.num_rows


def _local_files(path: str, split: str) -> list[str] | None:
    """The ``.parquet`` / ``.arrow`` files of ``split`` under a local path, or ``None`` for other formats."""
    import glob

    if _GLOB_CHARS & set(path):
        files = sorted(glob.glob(path))
    elif os.path.isfile(path):
        files = [path]
    elif os.path.isfile(os.path.join(path, "dataset_dict.json")):
        splits = saved_splits(path)  # checked: names inside the folder only
        key = _split_base(split)
        if key not in splits:
            raise ConfigError(
                f"hfids: split={split!r} is not in the dataset dict {path!r}; it has {sorted(splits)}"
            )
        return _local_files(os.path.join(path, key), split)
    elif os.path.isfile(os.path.join(path, "state.json")):
        files = [os.path.join(path, n) for n in saved_data_files(path)]  # checked: inside the folder
    else:
        from datasets.data_files import DataFilesDict, get_data_patterns

        try:
            patterns = get_data_patterns(path)
            by_split = DataFilesDict.from_patterns(patterns, base_path=path)
        except Exception as e:  # datasets raises several types for "no data files here"
            raise DatasetNotFoundError(f"hfids: no data files found under {path!r}: {e}") from e
        key = _split_base(split)
        if key not in by_split:
            raise ConfigError(f"hfids: split={split!r} not found under {path!r}; it has {sorted(by_split)}")
        files = [str(f) for f in by_split[key]]
    if not files:
        raise DatasetNotFoundError(f"hfids: no data files match {path!r}")
    if all(f.lower().endswith(_DATA_EXTS) for f in files):
        return files
    if os.path.isfile(path) or _GLOB_CHARS & set(path):
        raise ConfigError(f"hfids: {path!r} must name .parquet or .arrow files, got {files[:3]}")
    return None


def _url_files(url: str, split: str) -> tuple[list[str], Any]:
    """The ``.parquet`` / ``.arrow`` files of ``split`` at an fsspec URL, as URLs, and the filesystem."""
    fs, path = url_to_fs(url)
    try:
        if _GLOB_CHARS & set(path):
            found = sorted(fs.glob(path))
        elif fs.isfile(path):
            found = [path]
        else:
            found = sorted(p for p in fs.find(path) if p.lower().endswith(_DATA_EXTS))
            key = _split_base(split)
            rel = [posixpath.relpath(p, path) for p in found]
            prefixes = (f"{key}-", f"{key}_", f"{key}.")
            marked = [
                p
                for p, r in zip(found, rel, strict=True)
                if key in r.split("/")[:-1] or posixpath.basename(r).startswith(prefixes)
            ]
            found = marked or found
    except FileNotFoundError:
        found = []
    if not found:
        raise DatasetNotFoundError(f"hfids: no .parquet / .arrow files at {url!r}")
    if not all(f.lower().endswith(_DATA_EXTS) for f in found):
        raise ConfigError(f"hfids: {url!r} must name .parquet or .arrow files, got {found[:3]}")
    return [fs.unstrip_protocol(f) for f in found], fs


class ReaderHfids(ShardStream):
    """Stream a Hugging Face dataset's rows as ``(encoded image, target)`` over ranks and workers.

    Args:
        name: a hub id or a local path / glob (see the module docs).
        root: cache folder for ``datasets``; also searched for a relative ``name``.
        split: the split (local parquet folders, dataset dicts, hub ids).
        is_training: shuffle shard order (common ``seed`` + epoch) and samples (buffer), round each worker's
            count up to a multiple of ``batch_size``.
        batch_size: training batch size (padding rule of :mod:`pixelpipe.streaming.plan`).
        download: hub ids: download and prepare the split with ``datasets`` first.
        repeats: stream the data this many times per epoch (``0`` / ``1``: once).
        seed: common seed, the same on every rank.
        class_map: dict / ``.txt`` / ``.json`` remapping labels by class name (see :mod:`.hfds`).
        input_key: the image column.
        input_img_mode: kept for compatibility; the dataset converts (``IterableImageDataset``).
        target_key: the label column (``''``: none).
        target_img_mode: mode of image targets (segmentation masks), decoded here.
        shuffle_size: shuffle buffer in samples (default env ``HFIDS_SHUFFLE_SIZE`` or 4096).
        num_samples: samples per epoch (default: the split's size).
        trust_remote_code: passed to ``datasets`` for hub ids when ``True``.
        cache_dir: download remote files into this folder and read them there (default: the
            ``PIXELPIPE_CACHE_DIR`` environment variable; unset: read them through fsspec).
        cache_limit: the cache's size limit in bytes or as ``'50GB'`` (``None``: no limit).
        retries: extra attempts for a transient failure while fetching a file.
        timeout: seconds any wait of the cache may last (locks, prefetches).
        **kwargs: ``rank``, ``world_size``, ``initial_size`` for :class:`ShardStream`.

    Raises:
        ImportError: ``datasets`` is missing (the message names ``pixelpipe[hf]``).
        ConfigError: a missing column or split, a bad class map, the size unknown without ``num_samples``.

    Example:
        >>> import io, os, tempfile
        >>> import datasets
        >>> from PIL import Image
        >>> buf = io.BytesIO(); Image.new('RGB', (4, 4)).save(buf, format='PNG')
        >>> feats = datasets.Features({'image': datasets.Image(),
        ...                            'label': datasets.ClassLabel(names=['a', 'B'])})
        >>> ds = datasets.Dataset.from_dict(
        ...     {'image': [{'bytes': buf.getvalue(), 'path': None}] * 5, 'label': [0, 1, 0, 1, 1]},
        ...     features=feats)
        >>> path = os.path.join(tempfile.mkdtemp(), 'train.parquet')
        >>> _ = ds.to_parquet(path)
        >>> r = ReaderHfids(path, rank=1, world_size=2)
        >>> len(r), r.class_to_idx, [t for _, t in r]
        (3, {'a': 0, 'B': 1}, [1, 1, 0])
    """

    def __init__(
        self,
        name: str,
        root: str | os.PathLike[str] | None = None,
        split: str = "train",
        is_training: bool = False,
        batch_size: int = 1,
        download: bool = False,
        repeats: int = 0,
        seed: int = 42,
        class_map: Mapping[str, int] | str | os.PathLike[str] | None = None,
        input_key: str = "image",
        input_img_mode: str = "RGB",
        target_key: str = "label",
        target_img_mode: str = "",
        shuffle_size: int | None = None,
        num_samples: int | None = None,
        trust_remote_code: bool = False,
        cache_dir: str | os.PathLike[str] | None = None,
        cache_limit: int | str | None = None,
        retries: int = 3,
        timeout: float = 600.0,
        **kwargs: Any,
    ) -> None:
        from .wds import make_cache

        datasets = import_datasets()
        if not isinstance(name, str) or not name:
            raise ConfigError(f"hfids: name must be a hub id or a local path, got {name!r}")
        self.name, self.root, self.split = name, root, split
        self.input_img_mode, self.target_img_mode = input_img_mode, target_img_mode
        where = f"hfids dataset {name!r} (split {split!r})"
        cmap = load_class_map(class_map, os.fspath(root) if root is not None else "") if class_map else None

        def make_columns(schema_or_features: Any) -> _Columns:
            feats = schema_or_features
            if not isinstance(feats, datasets.Features):
                feats = datasets.Features.from_arrow_schema(feats)
            return _Columns(feats, datasets, input_key, target_key, cmap, target_img_mode, where)

        self.cache = make_cache(cache_dir, cache_limit, retries, timeout)
        local = None if is_fsspec_url(name) else resolve_local(name, root)
        if local is not None and os.path.isdir(local):
            check_local_folder(local)  # its file lists come with the data: nothing outside it is read
        files = _local_files(local, split) if local is not None else None
        if is_fsspec_url(name):
            urls, fs = _url_files(name, split)
            source = HfShardSource.from_files(urls, make_columns, filesystem=fs)
        elif files is not None:
            source = HfShardSource.from_files(files, make_columns)
        elif local is not None or download:
            ds = load_hf_dataset(name, root, split, trust_remote_code=trust_remote_code)
            source = HfShardSource.from_dataset(ds, make_columns(ds.features))
        else:
            source = self._remote_source(datasets, name, root, split, make_columns, trust_remote_code)
        source.cache = self.cache
        self.class_to_idx = source.columns.class_to_idx
        if sum(source.shard_lengths) == 0 and num_samples is None:
            raise ConfigError(f"{where}: the split's size is unknown or 0; pass num_samples")
        if shuffle_size is None:
            shuffle_size = int(os.environ.get("HFIDS_SHUFFLE_SIZE", "4096"))
        kwargs.setdefault("initial_size", min(2048, shuffle_size))
        super().__init__(
            source,
            is_training=is_training,
            batch_size=batch_size,
            num_samples=num_samples,
            seed=seed,
            repeats=repeats,
            shuffle_size=shuffle_size,
            **kwargs,
        )

    @staticmethod
    def _remote_source(
        datasets: Any, name: str, root: Any, split: str, make_columns: Any, trust_remote_code: bool
    ) -> HfShardSource:
        """The split's parquet files on the hub, read with ``fsspec`` (``hf://``)."""
        extra = {"trust_remote_code": True} if trust_remote_code else {}
        cache_dir = os.fspath(root) if root is not None else None
        try:
            builder = datasets.load_dataset_builder(name, cache_dir=cache_dir, **extra)
        except (ConnectionError, FileNotFoundError) as e:
            raise DatasetNotFoundError(
                f"hfids: {name!r} is not a local path (also tried under root={cache_dir!r}) and could not "
                f"be reached on the Hugging Face hub: {type(e).__name__}: {e}"
            ) from e
        data_files = builder.config.data_files or {}
        key = _split_base(split)
        files = [str(f) for f in data_files.get(key, [])]
        if not files or not all(f.lower().endswith(_DATA_EXTS) for f in files):
            raise ConfigError(
                f"hfids: {name!r} split {split!r} has no parquet / arrow data files to stream "
                f"({files[:3]}); pass download=True to prepare it with datasets first"
            )
        import fsspec

        fs, _ = fsspec.core.url_to_fs(files[0])
        return HfShardSource.from_files(files, make_columns, filesystem=fs)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, split={self.split!r}, shards="
            f"{len(self.source.shard_lengths)}, samples={sum(self.source.shard_lengths)}, rank={self.rank}, "
            f"world_size={self.world_size}, is_training={self.is_training})"
        )
