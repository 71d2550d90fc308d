"""Datasets: decode and transform what readers find (ImageDataset, IterableImageDataset, AugMixDataset),
and dataset info helpers (label names and descriptions, ImageNet ReaL accuracy).

``create_dataset`` is a factory, in the top layer: :mod:`pixelpipe.factories.dataset`
(``pixelpipe.create_dataset``, ``pixelpipe.dataset_factory.create_dataset``)."""

from ..readers.folder import find_images_and_targets
from .augmix import AugMixDataset
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
    "find_images_and_targets",
    "infer_imagenet_subset",
]
