"""Datasets: decode and transform what readers find (ImageDataset, IterableImageDataset, AugMixDataset,
create_dataset)."""

from .augmix import AugMixDataset
from .factory import create_dataset, find_split_root
from .image_dataset import ImageDataset, SkipRecord
from .iterable import IterableImageDataset

__all__ = [
    "AugMixDataset",
    "ImageDataset",
    "IterableImageDataset",
    "SkipRecord",
    "create_dataset",
    "find_split_root",
]
