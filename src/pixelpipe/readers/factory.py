"""``create_reader``: pick a reader from a ``prefix/name`` string (reference: timm, REFERENCE §1.2)."""

from __future__ import annotations

import importlib
import os
from typing import Any

from ..errors import ConfigError, DatasetNotFoundError, UnknownReaderError
from .base import Reader
from .folder import ReaderImageFolder
from .img_extensions import get_img_extensions
from .tar import ReaderImageInTar

__all__ = ["KNOWN_PREFIXES", "create_reader"]

# prefix -> (module under pixelpipe.readers, class name, third-party module, pip extra)
_OPTIONAL = {
    "hfds": ("hfds", "ReaderHfds", "datasets", "pixelpipe[hf]"),
    "hfids": ("hfids", "ReaderHfids", "datasets", "pixelpipe[hf]"),
    "wds": ("wds", "ReaderWds", "webdataset", "pixelpipe[wds]"),
}
KNOWN_PREFIXES = ("", "hfds", "hfids", "wds", "torch")


def _optional_reader_class(prefix: str) -> type:
    module_name, class_name, third_party, extra = _OPTIONAL[prefix]
    full = f"{__package__}.{module_name}"
    try:
        module = importlib.import_module(full)
    except ModuleNotFoundError as e:
        if e.name == full:
            raise UnknownReaderError(
                f"the {prefix!r} reader backend is not available in this version of pixelpipe"
            ) from e
        if e.name and e.name.split(".")[0] == third_party:
            raise ImportError(
                f"the {prefix!r} reader needs the {third_party!r} package: pip install '{extra}'"
            ) from e
        raise
    return getattr(module, class_name)


def _holds_tars_only(folder: str) -> bool:
    """Whether ``folder`` has ``.tar`` files at its top level and no image anywhere below it."""
    exts = get_img_extensions(as_set=True)
    with os.scandir(folder) as it:
        entries = list(it)
    if not any(e.name.lower().endswith(".tar") and e.is_file() for e in entries):
        return False
    for _, _, files in os.walk(folder, followlinks=False):  # stops at the first image found
        if any(os.path.splitext(f)[1].lower() in exts for f in files):
            return False
    return True


def create_reader(
    name: str, root: str | os.PathLike | None = None, split: str = "train", **kwargs: Any
) -> Reader:
    """Create the reader that a dataset name asks for.

    ``name`` is ``'prefix/rest'``, split once at the first ``/``; only the prefix is lower-cased (dataset
    names and paths keep their case). A name without ``/`` has the prefix ``''``. Keyword arguments whose
    value is ``None`` are dropped; the others go to the reader.

    * ``''``: local files under ``root``. A ``.tar`` file gives :class:`ReaderImageInTar`. A folder gives
      :class:`ReaderImageFolder`, except a folder with ``.tar`` files at its top level and no image
      anywhere, which gives :class:`ReaderImageInTar` (the reference sends that "folder of tars" to the
      folder reader, which then finds nothing). ``split`` is not used here (``create_dataset`` resolves
      split sub-folders); ``tar_split='train'`` asks the tar reader to keep one split folder of an
      archive (see :class:`ReaderImageInTar`'s ``split``).
    * ``hfds/<name>``, ``hfids/<name>``, ``wds/<name>``: Hugging Face datasets (map-style / iterable) and
      WebDataset shards, imported only when asked for; they need the ``pixelpipe[hf]`` /
      ``pixelpipe[wds]`` extras.
    * ``tfds/<name>``: not supported (it needs TensorFlow).
    * ``torch/<name>``: torchvision datasets, built by ``create_dataset``, not here.

    Args:
        name: ``'prefix/dataset name'`` or a name without prefix.
        root: dataset folder or archive (required for local files).
        split: split name passed to the hfds / hfids / wds readers.
        **kwargs: reader arguments (``class_map``, ``input_key``, ...).

    Returns:
        A :class:`Reader`.

    Raises:
        UnknownReaderError: an unknown prefix (the message lists the known ones), or a backend this
            version lacks.
        ConfigError: ``tfds``, ``torch`` or a missing ``root``.
        DatasetNotFoundError: ``root`` does not exist or holds no samples.
        ImportError: the optional package a backend needs is not installed.

    Example:
        >>> import os, tempfile
        >>> root = tempfile.mkdtemp()
        >>> os.makedirs(os.path.join(root, 'cat'))
        >>> open(os.path.join(root, 'cat', '1.jpg'), 'wb').close()
        >>> type(create_reader('', root, class_map=None)).__name__
        'ReaderImageFolder'
        >>> create_reader('tfds/mnist', root)
        Traceback (most recent call last):
        ...
        pixelpipe.errors.ConfigError: ...
    """
    if not isinstance(name, str):
        raise ConfigError(f"reader name must be a string such as '' or 'hfds/<name>', got {name!r}")
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    prefix, sep, rest = name.partition("/")
    prefix = prefix.lower() if sep else ""
    if not sep:
        rest = name
    additional_features = kwargs.pop("additional_features", None)

    if prefix in _OPTIONAL:
        cls = _optional_reader_class(prefix)
        if prefix == "hfds":
            if additional_features is not None:
                kwargs["additional_features"] = additional_features
            return cls(name=rest, root=root, split=split, **kwargs)
        if prefix == "wds":
            kwargs.pop("download", None)
            return cls(root=root, name=rest, split=split, **kwargs)
        return cls(name=rest, root=root, split=split, **kwargs)
    if prefix == "tfds":
        raise ConfigError(
            f"reader {name!r}: TensorFlow Datasets ('tfds/') is not supported by pixelpipe (it needs "
            "TensorFlow); export the data as image folders, tars, WebDataset shards or a HF dataset"
        )
    if prefix == "torch":
        raise ConfigError(f"reader {name!r}: torchvision datasets ('torch/') are built by create_dataset")
    if prefix:
        known = ", ".join(repr(p) for p in KNOWN_PREFIXES)
        raise UnknownReaderError(
            f"unknown reader prefix {prefix!r} in {name!r}; known prefixes: {known} "
            "('' = local folder or .tar, 'torch/' only through create_dataset)"
        )

    if root is None:
        raise ConfigError(f"reader {name!r} reads local files and needs root (a folder or a .tar file)")
    root = os.fspath(root)
    if not os.path.exists(root):
        raise DatasetNotFoundError(f"dataset root {root!r} does not exist")
    kwargs.pop("download", None)
    if os.path.isfile(root):
        if os.path.splitext(root)[1].lower() != ".tar":
            raise ConfigError(f"root {root!r} is a file but not a .tar archive; give a folder or a .tar file")
        return _tar_reader(root, kwargs)
    if _holds_tars_only(root):
        return _tar_reader(root, kwargs)
    kwargs.pop("tar_split", None)
    return ReaderImageFolder(root, **kwargs)


def _tar_reader(root: str, kwargs: dict[str, Any]) -> ReaderImageInTar:
    if "tar_split" in kwargs:
        kwargs["split"] = kwargs.pop("tar_split")
    if "input_key" in kwargs:
        raise ConfigError(
            f"input_key={kwargs['input_key']!r} is not supported for tar archives ({root!r}); "
            "change the image extensions with set_img_extensions instead"
        )
    return ReaderImageInTar(root, **kwargs)
