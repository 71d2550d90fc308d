"""Datasets: decode and transform what readers find (ImageDataset, AugMixDataset, create_dataset)."""

from .augmix import AugMixDataset
from .factory import create_dataset, find_split_root
from .image_dataset import ImageDataset, SkipRecord

__all__ = ["AugMixDataset", "ImageDataset", "SkipRecord", "create_dataset", "find_split_root"]
