"""A map-style reader over Hugging Face ``datasets`` (reference: timm ``ReaderHfds``, REFERENCE §1.10).

The reader finds the encoded bytes (or the file) and the label of each row; :class:`ImageDataset` decodes
them with its error policy. ``name`` is a hub id, or local data, detected in this order:

1. ``name`` contains a glob character (``*?[``): the matching ``.parquet`` / ``.arrow`` files;
2. ``name`` is an existing path, or ``root/name`` is one (so ``create_dataset('hfds/beans', root='/data')``
   finds ``/data/beans``):

   * a folder written by ``Dataset.save_to_disk`` (``state.json``): ``load_from_disk``, ``split`` unused;
   * a folder written by ``DatasetDict.save_to_disk`` (``dataset_dict.json``): the ``split`` entry;
   * a ``.parquet`` / ``.arrow`` file: ``load_dataset('parquet'|'arrow', data_files={split: file})``;
   * any other folder (parquet files, ``train-*.parquet`` / ``validation-*.parquet`` split naming, an
     image folder of class sub-folders, ...): ``load_dataset(folder, split=split)``, which infers the
     format and the splits from the file and folder names;

3. otherwise a hub id: ``load_dataset(name, split=split, cache_dir=root)``, as in the reference.

Local paths win over hub ids of the same spelling (as in ``datasets``). ``root`` is the cache folder for
what ``datasets`` writes (hub downloads, parquet converted to Arrow); ``None`` means the ``datasets``
default (``HF_DATASETS_CACHE``). Dataset names keep their case (only the ``hfds/`` prefix is lower-cased).

The image column is cast to ``datasets.Image(decode=False)`` (cheap: the Arrow data stays memory-mapped),
so rows hold ``{'bytes', 'path'}``; a ``binary`` column gives bytes and a ``string`` column a file path.
No Python list of rows is built: rows are read from the memory-mapped Arrow table on demand.

Differences from the reference: a ``class_map`` is applied by class *name* when the target column is a
``ClassLabel`` (the reference looks the stored integer up in a name-keyed map and fails), and every label
in the data must be in the map (checked once at construction, instead of a ``KeyError`` mid-epoch); a
missing ``input_key`` / ``target_key`` / additional feature is a :class:`~pixelpipe.errors.ConfigError`
listing the columns; ``target_key=''`` reads no label (the dataset then gives ``-1``).
"""

from __future__ import annotations

import glob
import io
import os
from collections.abc import Mapping, Sequence
from typing import IO, Any

import numpy as np

from ..errors import ConfigError, DatasetNotFoundError
from ._hf_disk import check_local_folder
from .base import Reader
from .class_map import load_class_map

__all__ = ["ReaderHfds", "import_datasets", "resolve_local"]

_GLOB_CHARS = frozenset("*?[")
_FILE_BUILDERS = {".parquet": "parquet", ".arrow": "arrow"}


def import_datasets() -> Any:
    """Import Hugging Face ``datasets``, or raise an ``ImportError`` naming the ``pixelpipe[hf]`` extra."""
    try:
        import datasets
    except ImportError as e:
        raise ImportError(
            "the 'hfds' / 'hfids' readers need the 'datasets' package: pip install 'pixelpipe[hf]'"
        ) from e
    return datasets


def resolve_local(name: str, root: str | os.PathLike[str] | None) -> str | None:
    """The local path (or glob pattern) ``name`` refers to, or ``None`` for a hub id.

    Example:
        >>> import os, tempfile
        >>> d = tempfile.mkdtemp()
        >>> os.mkdir(os.path.join(d, 'MyData'))
        >>> resolve_local('MyData', d) == os.path.join(d, 'MyData')
        True
        >>> resolve_local('someone/hub-dataset', d) is None
        True
    """
    candidates = [name]
    if root is not None and not os.path.isabs(name):
        candidates.append(os.path.join(os.fspath(root), name))
    for cand in candidates:
        if _GLOB_CHARS & set(cand):
            if glob.glob(cand):
                return cand
        elif os.path.exists(cand):
            return cand
    return None


def _split_base(split: str) -> str:
    """``'train[:10%]'`` -> ``'train'`` (the name a data file is registered under)."""
    return split.partition("[")[0].strip() or "train"


def _load_local(datasets: Any, path: str, split: str, cache_dir: str | None) -> Any:
    """Load local data (see the module docs for the detection order); returns a ``datasets.Dataset``."""
    if os.path.isdir(path):
        check_local_folder(path)  # its file lists come with the data: nothing outside it is loaded
    if os.path.isdir(path) and os.path.isfile(os.path.join(path, "dataset_dict.json")):
        dd = datasets.load_from_disk(path)
        key = _split_base(split)
        if key not in dd:
            raise ConfigError(
                f"hfds: split={split!r} is not in the dataset dict {path!r}; it has {sorted(dd)}"
            )
        return dd[key]
    if os.path.isdir(path) and os.path.isfile(os.path.join(path, "state.json")):
        return datasets.load_from_disk(path)
    if os.path.isdir(path):
        return datasets.load_dataset(path, split=split, cache_dir=cache_dir)
    ext = os.path.splitext(path)[1].lower()
    if ext not in _FILE_BUILDERS:
        raise ConfigError(
            f"hfds: local data {path!r} must be a folder, a .parquet / .arrow file or a glob of them; "
            f"got extension {ext!r}"
        )
    files = {_split_base(split): path}
    return datasets.load_dataset(_FILE_BUILDERS[ext], data_files=files, split=split, cache_dir=cache_dir)


def load_hf_dataset(
    name: str,
    root: str | os.PathLike[str] | None,
    split: str,
    trust_remote_code: bool = False,
) -> Any:
    """Load ``name`` (local data or hub id, see the module docs) as a ``datasets.Dataset``."""
    datasets = import_datasets()
    if not isinstance(name, str) or not name:
        raise ConfigError(f"hfds: name must be a hub id or a local path, got {name!r}")
    cache_dir = os.fspath(root) if root is not None else None
    local = resolve_local(name, root)
    if local is not None:
        return _load_local(datasets, local, split, cache_dir)
    extra = {"trust_remote_code": True} if trust_remote_code else {}
    try:
        return datasets.load_dataset(name, split=split, cache_dir=cache_dir, **extra)
    except (ConnectionError, FileNotFoundError) as e:
        raise DatasetNotFoundError(
            f"hfds: {name!r} is not a local path (also tried under root={cache_dir!r}) and could not be "
            f"loaded from the Hugging Face hub: {type(e).__name__}: {e}"
        ) from e


def _column_kind(feature: Any, datasets: Any) -> str:
    """``'image'`` (Image feature), ``'bytes'`` (binary value) or ``'path'`` (string value)."""
    if isinstance(feature, datasets.Image):
        return "image"
    dtype = getattr(feature, "dtype", None)
    if dtype in ("binary", "large_binary"):
        return "bytes"
    if dtype in ("string", "large_string"):
        return "path"
    return ""


class ReaderHfds(Reader):
    """Rows of a Hugging Face dataset; ``__getitem__`` returns ``(file-like, label, *features)``.

    Args:
        name: a hub id, or a local path / glob (see the module docs).
        root: cache folder for ``datasets`` (``None``: its default); also searched for a relative ``name``.
        split: the split to read (``'train'``, ``'validation'``, ``'train[:10%]'`` for hub and parquet).
        class_map: a class map (dict, ``.txt`` or ``.json``) remapping labels by class name; ``None``:
            targets are the stored labels and :attr:`class_to_idx` comes from the ``ClassLabel`` names.
        input_key: the image column (an ``Image`` feature, ``binary`` bytes or ``string`` paths).
        target_key: the label column; ``''`` for none.
        additional_features: a column name or a list of names whose values follow the label.
        download: unused (``datasets`` downloads hub data when needed), kept for compatibility.
        trust_remote_code: passed to ``datasets.load_dataset`` for hub ids when ``True``.

    Attributes:
        dataset: the ``datasets.Dataset`` (image column not decoded).
        class_to_idx: class name -> target (empty when labels are not named).

    Raises:
        ImportError: ``datasets`` is not installed (the message names ``pixelpipe[hf]``).
        ConfigError: a missing column, a bad class map, a label the class map lacks, a missing split.
        DatasetNotFoundError: not a local path and not loadable from the hub.

    Example:
        >>> import io, tempfile
        >>> import datasets
        >>> from PIL import Image
        >>> buf = io.BytesIO(); Image.new('RGB', (4, 4)).save(buf, format='PNG')
        >>> feats = datasets.Features({'image': datasets.Image(),
        ...                            'label': datasets.ClassLabel(names=['Cat', 'dog'])})
        >>> ds = datasets.Dataset.from_dict(
        ...     {'image': [{'bytes': buf.getvalue(), 'path': None}] * 3, 'label': [1, 0, 1]}, features=feats)
        >>> path = tempfile.mkdtemp()
        >>> ds.save_to_disk(path)
        >>> r = ReaderHfds(path)
        >>> len(r), r.class_to_idx
        (3, {'Cat': 0, 'dog': 1})
        >>> f, label = r[0]
        >>> f.read(4), label
        (b'\\x89PNG', 1)
        >>> ReaderHfds(path, class_map={'dog': 0, 'Cat': 1})[0][1]
        0
    """

    def __init__(
        self,
        name: str,
        root: str | os.PathLike[str] | None = None,
        split: str = "train",
        class_map: Mapping[str, int] | str | os.PathLike[str] | None = None,
        input_key: str = "image",
        target_key: str = "label",
        additional_features: str | Sequence[str] | None = None,
        download: bool = False,
        trust_remote_code: bool = False,
    ) -> None:
        super().__init__()
        datasets = import_datasets()
        self.name = name
        self.root = root
        self.split = split
        ds = load_hf_dataset(name, root, split, trust_remote_code=trust_remote_code)
        columns = list(ds.column_names)
        where = f"hfds dataset {name!r} (split {split!r})"

        if not isinstance(input_key, str) or input_key not in columns:
            raise ConfigError(f"{where}: input_key={input_key!r} is not a column; columns: {columns}")
        kind = _column_kind(ds.features[input_key], datasets)
        if not kind:
            raise ConfigError(
                f"{where}: input_key={input_key!r} holds {ds.features[input_key]!r}; expected an Image "
                "feature, binary image bytes or string file paths"
            )
        if kind == "image":
            ds = ds.cast_column(input_key, datasets.Image(decode=False))
        if target_key and target_key not in columns:
            raise ConfigError(
                f"{where}: target_key={target_key!r} is not a column; columns: {columns} "
                "(target_key='' reads no label)"
            )
        if additional_features is None:
            extra: list[str] = []
        elif isinstance(additional_features, str):
            extra = [additional_features]
        else:
            extra = list(additional_features)
        missing = [f for f in extra if f not in columns]
        if missing:
            raise ConfigError(f"{where}: additional_features {missing} are not columns; columns: {columns}")
        wanted = list(dict.fromkeys([input_key, *([target_key] if target_key else []), *extra]))
        self.dataset = ds.select_columns(wanted)
        self.input_key = input_key
        self.target_key = target_key
        self.additional_features = extra
        self._kind = kind

        label_feature = ds.features[target_key] if target_key else None
        names = list(label_feature.names) if isinstance(label_feature, datasets.ClassLabel) else None
        self._names = names
        self._lut: np.ndarray | None = None
        self._remap: dict[str, int] | None = None
        if class_map:
            self.class_to_idx = load_class_map(class_map, os.fspath(root) if root is not None else "")
            self._build_remap(where)
        else:
            self.class_to_idx = {n: i for i, n in enumerate(names)} if names else {}

    def _build_remap(self, where: str) -> None:
        """Check every label against the class map once, and precompute the lookup."""
        if not self.target_key:
            return
        column = self._arrow_column(self.target_key)
        if self._names is not None:
            lut = np.array([self.class_to_idx.get(n, -1) for n in self._names], dtype=np.int64)
            stored = np.unique(column.drop_null().to_numpy())
            lacking = [self._names[int(k)] for k in stored if 0 <= k < len(lut) and lut[k] < 0]
            self._lut = lut
        else:
            stored_names = {str(v) for v in column.unique().to_pylist() if v is not None}
            lacking = sorted(stored_names - set(self.class_to_idx))
            self._remap = self.class_to_idx
        if lacking:
            raise ConfigError(
                f"{where}: labels {lacking[:10]}{' ...' if len(lacking) > 10 else ''} are not in the "
                f"class_map (it has {len(self.class_to_idx)} classes)"
            )

    def _arrow_column(self, key: str) -> Any:
        """Column ``key`` as a pyarrow array, in row order (honours an indices mapping)."""
        return self.dataset.with_format("arrow")[key]

    def __len__(self) -> int:
        return len(self.dataset)

    def _label(self, value: Any) -> Any:
        if value is None:
            return None
        if self._lut is not None:
            return int(self._lut[value]) if value >= 0 else None  # ClassLabel uses -1 for "no label"
        if self._remap is not None:
            return self._remap[str(value)]
        return value

    def _open(self, value: Any, index: int) -> IO[bytes]:
        if self._kind == "image":
            data, path = (value or {}).get("bytes"), (value or {}).get("path")
        elif self._kind == "bytes":
            data, path = value, None
        else:
            data, path = None, value
        if data:
            return io.BytesIO(data)
        if path:
            return open(path, "rb")
        raise FileNotFoundError(f"row {index} of {self.name!r} has neither image bytes nor a path")

    def __getitem__(self, index: int) -> tuple[Any, ...]:
        row = self.dataset[index]
        img = self._open(row[self.input_key], index)
        label = self._label(row[self.target_key]) if self.target_key else None
        return (img, label, *(row[f] for f in self.additional_features))

    def _stored_path(self, value: Any) -> str | None:
        if self._kind == "image":
            return (value or {}).get("path")
        return value if self._kind == "path" else None

    def _format_name(self, path: str | None, index: int, basename: bool, absolute: bool) -> str:
        if not path:
            return f"{self.split}/{index}"
        if basename:
            return os.path.basename(path)
        return os.path.abspath(path) if absolute else path

    def _filename(self, index: int, basename: bool = False, absolute: bool = False) -> str:
        """The stored image path of row ``index``, or ``'<split>/<index>'`` for rows that hold only bytes."""
        value = self.dataset[index][self.input_key]
        return self._format_name(self._stored_path(value), index, basename, absolute)

    def filenames(self, basename: bool = False, absolute: bool = False) -> list[str]:
        """Names of all rows (see :meth:`_filename`), read column-wise without decoding any row."""
        column = self._arrow_column(self.input_key)
        if self._kind == "image":
            paths = column.combine_chunks().field("path").to_pylist() if len(column) else []
        elif self._kind == "path":
            paths = column.to_pylist()
        else:
            paths = [None] * len(column)
        return [self._format_name(p, i, basename, absolute) for i, p in enumerate(paths)]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, split={self.split!r}, len={len(self)})"
