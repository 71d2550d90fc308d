"""pixelpipe: fast, correct image input pipelines for PyTorch, a drop-in for ``timm.data``.

Replace ``from timm.data import ...`` with ``from pixelpipe import ...``: the same names, parameters,
defaults and augmentation semantics, with the reference's known bugs fixed (see the README).

Names are imported lazily on first use, so ``import pixelpipe`` stays cheap and optional backends
(webdataset, Hugging Face ``datasets``) are only imported when used.

Example:
    >>> import pixelpipe
    >>> pixelpipe.create_transform(32, crop_pct=1.0).transforms[0]
    Resize(size=32, interpolation=bilinear, max_size=None, antialias=True)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, tuple[str, ...]] = {
    "pixelpipe.constants": (
        "DEFAULT_CROP_MODE",
        "DEFAULT_CROP_PCT",
        "IMAGENET_DEFAULT_MEAN",
        "IMAGENET_DEFAULT_STD",
        "IMAGENET_DPN_MEAN",
        "IMAGENET_DPN_STD",
        "IMAGENET_INCEPTION_MEAN",
        "IMAGENET_INCEPTION_STD",
        "OPENAI_CLIP_MEAN",
        "OPENAI_CLIP_STD",
    ),
    "pixelpipe.config": ("resolve_data_config", "resolve_model_data_config"),
    "pixelpipe.readers": (
        "Reader",
        "ReaderFilenameLabel",
        "ReaderImageFolder",
        "ReaderImageInTar",
        "add_img_extensions",
        "create_reader",
        "del_img_extensions",
        "get_img_extensions",
        "is_img_extension",
        "load_class_map",
        "set_img_extensions",
    ),
    "pixelpipe.datasets": (
        "AugMixDataset",
        "CustomDatasetInfo",
        "DatasetInfo",
        "DatasetInfoLabelMapper",
        "ImageDataset",
        "ImageNetInfo",
        "IterableImageDataset",
        "LabelMappingCoverage",
        "RealLabelsImagenet",
        "SkipRecord",
        "SkipReport",
        "find_images_and_targets",
        "infer_imagenet_subset",
    ),
    "pixelpipe.augment": (
        "AugMixAugment",
        "AugmentOp",
        "AutoAugment",
        "RandAugment",
        "augment_and_mix_transform",
        "auto_augment_policy",
        "auto_augment_transform",
        "rand_augment_ops",
        "rand_augment_transform",
    ),
    "pixelpipe.transforms": (
        "CenterCropOrPad",
        "MaybePILToTensor",
        "MaybeToTensor",
        "RandomCropOrPad",
        "RandomErasing",
        "RandomPad",
        "RandomResizedCropAndInterpolation",
        "ResizeKeepRatio",
        "ToNumpy",
        "ToTensor",
        "TrimBorder",
        "center_crop_or_pad",
        "crop_or_pad",
        "interp_mode_to_str",
        "str_to_interp_mode",
        "str_to_pil_interp",
        "transforms_imagenet_eval",
        "transforms_imagenet_train",
        "transforms_noaug_train",
    ),
    "pixelpipe.batch": ("FastCollateMixup", "Mixup", "mixup_target", "one_hot"),
    "pixelpipe.loader": (
        "MultiEpochsDataLoader",
        "OrderedDistributedSampler",
        "PrefetchLoader",
        "RepeatAugSampler",
        "ScheduledBatchSampler",
        "ScheduledTransformDataset",
        "fast_collate",
    ),
    "pixelpipe.factories": ("create_dataset", "create_loader", "create_transform"),
    "pixelpipe.recipe": ("AugmentRecipe",),
    # out of scope: importable (timm's train.py imports create_naflex_loader), raise a clear error when used
    "pixelpipe.naflex": (
        "CenterCropToSequence",
        "NaFlexMapDatasetWrapper",
        "NaFlexMixup",
        "Patchify",
        "RandomCropToSequence",
        "RandomResizedCropToSequence",
        "ResizeKeepRatioToSequence",
        "ResizeToSequence",
        "calculate_naflex_batch_size",
        "create_naflex_loader",
        "mix_batch_variable_size",
        "pairwise_mixup_target",
        "patchify_image",
    ),
    "pixelpipe.rng": ("manual_seed",),
}

_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = ["__version__", *sorted(_WHERE)]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'pixelpipe' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from .augment import (
        AugmentOp,
        AugMixAugment,
        AutoAugment,
        RandAugment,
        augment_and_mix_transform,
        auto_augment_policy,
        auto_augment_transform,
        rand_augment_ops,
        rand_augment_transform,
    )
    from .batch import FastCollateMixup, Mixup, mixup_target, one_hot
    from .config import resolve_data_config, resolve_model_data_config
    from .constants import *
    from .datasets import (
        AugMixDataset,
        CustomDatasetInfo,
        DatasetInfo,
        DatasetInfoLabelMapper,
        ImageDataset,
        ImageNetInfo,
        IterableImageDataset,
        LabelMappingCoverage,
        RealLabelsImagenet,
        SkipRecord,
        SkipReport,
        find_images_and_targets,
        infer_imagenet_subset,
    )
    from .factories import create_dataset, create_loader, create_transform
    from .loader import (
        MultiEpochsDataLoader,
        OrderedDistributedSampler,
        PrefetchLoader,
        RepeatAugSampler,
        ScheduledBatchSampler,
        ScheduledTransformDataset,
        fast_collate,
    )
    from .naflex import (
        CenterCropToSequence,
        NaFlexMapDatasetWrapper,
        NaFlexMixup,
        Patchify,
        RandomCropToSequence,
        RandomResizedCropToSequence,
        ResizeKeepRatioToSequence,
        ResizeToSequence,
        calculate_naflex_batch_size,
        create_naflex_loader,
        mix_batch_variable_size,
        pairwise_mixup_target,
        patchify_image,
    )
    from .readers import (
        Reader,
        ReaderFilenameLabel,
        ReaderImageFolder,
        ReaderImageInTar,
        add_img_extensions,
        create_reader,
        del_img_extensions,
        get_img_extensions,
        is_img_extension,
        load_class_map,
        set_img_extensions,
    )
    from .recipe import AugmentRecipe
    from .rng import manual_seed
    from .transforms import (
        CenterCropOrPad,
        MaybePILToTensor,
        MaybeToTensor,
        RandomCropOrPad,
        RandomErasing,
        RandomPad,
        RandomResizedCropAndInterpolation,
        ResizeKeepRatio,
        ToNumpy,
        ToTensor,
        TrimBorder,
        center_crop_or_pad,
        crop_or_pad,
        interp_mode_to_str,
        str_to_interp_mode,
        str_to_pil_interp,
        transforms_imagenet_eval,
        transforms_imagenet_train,
        transforms_noaug_train,
    )
