"""Datasets: decode and transform what readers find (ImageDataset, IterableImageDataset, AugMixDataset,
create_dataset), and dataset info helpers (label names and descriptions, ImageNet ReaL accuracy)."""

from ..readers.folder import find_images_and_targets
from .augmix import AugMixDataset
from .factory import create_dataset, find_split_root
from .image_dataset import ImageDataset
from .info import (
    CustomDatasetInfo,
    DatasetInfo,
    DatasetInfoLabelMapper,
    ImageNetInfo,
    LabelMappingCoverage,
    infer_imagenet_subset,
)
from .iterable import IterableImageDataset
from .real_labels import RealLabelsImagenet
from .skips import SkipMark, SkipRecord, SkipReport

__all__ = [
    "AugMixDataset",
    "CustomDatasetInfo",
    "DatasetInfo",
    "DatasetInfoLabelMapper",
    "ImageDataset",
    "ImageNetInfo",
    "IterableImageDataset",
    "LabelMappingCoverage",
    "RealLabelsImagenet",
    "SkipMark",
    "SkipRecord",
    "SkipReport",
    "create_dataset",
    "find_images_and_targets",
    "find_split_root",
    "infer_imagenet_subset",
]
