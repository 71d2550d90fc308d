"""Datasets: decode and transform what readers find (ImageDataset, IterableImageDataset, AugMixDataset,
create_dataset)."""

from .augmix import AugMixDataset
from .factory import create_dataset, find_split_root
from .image_dataset import ImageDataset
from .iterable import IterableImageDataset
from .skips import SkipMark, SkipRecord, SkipReport

__all__ = [
    "AugMixDataset",
    "ImageDataset",
    "IterableImageDataset",
    "SkipMark",
    "SkipRecord",
    "SkipReport",
    "create_dataset",
    "find_split_root",
]
