"""``create_dataset``: one entry point for folder/tar, torchvision, Hugging Face and WebDataset datasets.

Follows the reference's ``create_dataset`` (REFERENCE §3), with these differences: only the name's prefix
is lower-cased (dataset names keep their case); unknown ``torch/`` datasets and unknown prefixes raise
:class:`~pixelpipe.errors.UnknownReaderError` listing the known ones; ``tfds/`` raises
:class:`~pixelpipe.errors.ConfigError` (TensorFlow Datasets are not supported); a missing root raises
:class:`~pixelpipe.errors.DatasetNotFoundError`.
"""

from __future__ import annotations

import os
from typing import Any

from ..datasets.image_dataset import ImageDataset
from ..errors import ConfigError, DatasetNotFoundError, UnknownReaderError
from ..readers.base import Reader
from ..readers.splits import EVAL_SPLITS, TRAIN_SPLITS, split_candidates

__all__ = ["EVAL_SPLITS", "TORCH_DATASETS", "TRAIN_SPLITS", "create_dataset", "find_split_root"]


# torchvision datasets with a boolean ``train`` argument, by pixelpipe name -> torchvision class name
_TORCH_TRAIN_FLAG = {
    "cifar10": "CIFAR10",
    "cifar100": "CIFAR100",
    "mnist": "MNIST",
    "kmnist": "KMNIST",
    "fashion_mnist": "FashionMNIST",
    "qmnist": "QMNIST",
}
TORCH_DATASETS: tuple[str, ...] = (
    *_TORCH_TRAIN_FLAG,
    "places365",
    "inaturalist",
    "inat",
    "imagenet",
    "image_folder",
    "folder",
)
"""Names accepted after ``torch/``."""

_TAR_READER_OPTIONS = ("cache_tarfiles", "cache_tarinfo", "input_key", "max_member_bytes")


def find_split_root(root: str | os.PathLike[str], split: str) -> str:
    """The sub-folder of ``root`` that holds ``split``, or ``root`` itself.

    ``split`` is cut at its first ``[`` (``'train[:10%]'`` -> ``'train'``); ``root/<split>`` is used if it
    exists, else, for a training split, ``root/train`` then ``root/training``, and for an evaluation split
    ``root/val``, ``valid``, ``validation``, ``eval``, ``evaluation``, in that order.

    Example:
        >>> import os, tempfile
        >>> root = tempfile.mkdtemp()
        >>> os.mkdir(os.path.join(root, 'valid'))
        >>> os.path.basename(find_split_root(root, 'validation'))
        'valid'
        >>> find_split_root(root, 'train') == root
        True
    """
    root = os.fspath(root)
    for candidate in split_candidates(split):
        path = os.path.join(root, candidate)
        if os.path.exists(path):
            return path
    return root


def _require_root(root: Any, what: str) -> str:
    if root is None:
        raise DatasetNotFoundError(f"create_dataset: {what} needs a root (a folder or a .tar file), got None")
    path = os.fspath(root)
    if not os.path.exists(path):
        raise DatasetNotFoundError(f"create_dataset: dataset root {path!r} does not exist")
    return path


def _torch_dataset(ds_name: str, root: Any, split: str, search: bool, download: bool, **kwargs: Any) -> Any:
    name = ds_name.lower()
    if name not in TORCH_DATASETS:
        raise UnknownReaderError(
            f"create_dataset: unknown torchvision dataset {ds_name!r}; known: {', '.join(TORCH_DATASETS)}"
        )
    import torchvision.datasets as tvd

    if name in ("image_folder", "folder"):
        path = _require_root(root, f"torch/{name}")
        if search and os.path.isdir(path):
            path = find_split_root(path, split)
        return tvd.ImageFolder(path, **kwargs)
    if root is None:
        raise DatasetNotFoundError(f"create_dataset: torch/{name} needs a root folder, got None")
    if not download and not os.path.exists(os.fspath(root)):
        raise DatasetNotFoundError(
            f"create_dataset: dataset root {os.fspath(root)!r} does not exist (pass download=True to fetch "
            f"torch/{name})"
        )
    args: dict[str, Any] = dict(root=root, download=download, **kwargs)
    if name in _TORCH_TRAIN_FLAG:
        cls, args["train"] = getattr(tvd, _TORCH_TRAIN_FLAG[name]), split in TRAIN_SPLITS
    elif name in ("inaturalist", "inat"):
        target_type: str | list[str] = "full"
        parts = split.split("/")
        if len(parts) > 1:
            types = parts[0].split("_")
            target_type = types[0] if len(types) == 1 else types
            split = parts[-1]
        version = "2021_train" if split in TRAIN_SPLITS else "2021_valid" if split in EVAL_SPLITS else split
        cls, args["version"], args["target_type"] = tvd.INaturalist, version, target_type
    elif name == "places365":
        mapped = "train-standard" if split in TRAIN_SPLITS else "val" if split in EVAL_SPLITS else split
        cls, args["split"] = tvd.Places365, mapped
    else:  # imagenet: torchvision's ImageNet never downloads
        args.pop("download")
        cls, args["split"] = tvd.ImageNet, "val" if split in EVAL_SPLITS else split
    try:
        return cls(**args)
    except RuntimeError as e:
        text = str(e).lower()
        if "not found" in text or "not present" in text:
            raise DatasetNotFoundError(f"create_dataset: torch/{name} under {os.fspath(root)!r}: {e}") from e
        raise


def create_dataset(
    name: str,
    root: str | os.PathLike[str] | None = None,
    split: str = "validation",
    search_split: bool = True,
    class_map: dict[str, int] | str | os.PathLike[str] | None = None,
    load_bytes: bool = False,
    is_training: bool = False,
    download: bool = False,
    batch_size: int = 1,
    num_samples: int | None = None,
    seed: int = 42,
    repeats: int = 0,
    input_img_mode: str = "RGB",
    trust_remote_code: bool = False,
    **kwargs: Any,
) -> Any:
    """Build a dataset from a name and a root, as the reference's ``create_dataset`` does.

    Name forms: ``''`` (or any name without a known prefix) for a folder of class folders or a ``.tar``
    (with split search: ``root/<split>`` or its synonyms, see :func:`find_split_root`); ``torch/<name>`` for
    the torchvision datasets in :data:`TORCH_DATASETS`; ``hfds/<hf name>`` for a Hugging Face dataset;
    ``hfids/<hf name>`` and ``wds/<name>`` for streaming datasets. Only the prefix is case-insensitive.

    Args:
        name: dataset name, ``''`` for a folder or tar.
        root: dataset root (folder or ``.tar`` file; cache folder for Hugging Face datasets).
        split: split name (``'train'``, ``'validation'``, ...; ``'train[:10%]'`` style slices for streams).
        search_split: look for the split's sub-folder under ``root`` (folders and ``torch/folder``).
        class_map: class-name-to-index map (dict or file) for folder/tar/HF datasets.
        load_bytes: return encoded bytes instead of images (folder/tar).
        is_training: shuffle and repeat streaming datasets.
        download: let torchvision / streaming readers download.
        batch_size: batch size hint for streaming datasets.
        num_samples: sample count for streaming datasets.
        seed: shuffle seed for streaming datasets.
        repeats: epochs repeated per iteration for streaming datasets.
        input_img_mode: PIL mode images are converted to.
        trust_remote_code: forwarded to Hugging Face ``datasets``.
        **kwargs: passed on to the dataset / reader (``None`` values dropped): e.g. ``on_error``,
            ``image_backend``, ``exif_transpose``, ``max_image_pixels`` for the dataset,
            ``max_member_bytes`` for tar archives and shards.

    Raises:
        DatasetNotFoundError: ``root`` is missing.
        UnknownReaderError: unknown ``torch/`` dataset or reader prefix; streaming unavailable.
        ConfigError: ``tfds/`` (not supported).

    Example:
        >>> import os, tempfile
        >>> root = tempfile.mkdtemp()
        >>> create_dataset('torch/nope', root=root)
        Traceback (most recent call last):
        ...
        pixelpipe.errors.UnknownReaderError: create_dataset: unknown torchvision dataset 'nope'; known: ...
    """
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    head, sep, rest = name.partition("/")
    prefix = head.lower() if sep else ""
    if prefix == "torch":
        ds_name = rest.split("/", 1)[-1]
        return _torch_dataset(ds_name, root, split, search_split, download, **kwargs)
    if prefix == "tfds":
        raise ConfigError(
            f"create_dataset: {name!r}: TensorFlow Datasets (tfds/) are not supported by pixelpipe; "
            "use hfds/, wds/, torch/ or a folder / tar"
        )
    reader_name: Reader | str = f"{prefix}/{rest}" if prefix else name
    if prefix == "hfds":
        return ImageDataset(
            root,
            reader=reader_name,
            split=split,
            class_map=class_map,
            input_img_mode=input_img_mode,
            trust_remote_code=trust_remote_code,
            **kwargs,
        )
    if prefix in ("hfids", "wds"):
        from ..datasets.iterable import IterableImageDataset as iterable

        extra: dict[str, Any] = {}
        if prefix == "hfids":
            extra = dict(download=download, trust_remote_code=trust_remote_code)
        return iterable(
            root,
            reader=reader_name,
            split=split,
            class_map=class_map,
            is_training=is_training,
            batch_size=batch_size,
            num_samples=num_samples,
            repeats=repeats,
            seed=seed,
            input_img_mode=input_img_mode,
            **extra,
            **kwargs,
        )
    path = _require_root(root, "a folder / tar dataset")
    reader: Any = reader_name
    if search_split and os.path.isdir(path):
        path = find_split_root(path, split)
    elif search_split and not reader_name and os.path.isfile(path) and path.lower().endswith(".tar"):
        # One archive holding split folders (imagenette2/train/..., imagenette2/val/...): keep the split.
        from ..readers.factory import create_reader

        tar_opts = {k: kwargs.pop(k) for k in _TAR_READER_OPTIONS if k in kwargs}
        reader = create_reader("", root=path, class_map=class_map, tar_split=split, **tar_opts)
    return ImageDataset(
        path,
        reader=reader,
        class_map=class_map,
        load_bytes=load_bytes,
        input_img_mode=input_img_mode,
        **kwargs,
    )
