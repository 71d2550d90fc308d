"""Drop-in conformance: the reference's public names exist, with the reference's parameters and defaults."""

from __future__ import annotations

import inspect

import pytest

import pixelpipe

# Names of timm.data's public API that pixelpipe provides (NaFlex, TFDS and scheduled resolution sampling are
# out of scope; see the README), plus find_images_and_targets (timm.data.readers.reader_image_folder).
REFERENCE_NAMES = [
    "RandAugment",
    "AutoAugment",
    "rand_augment_ops",
    "auto_augment_policy",
    "rand_augment_transform",
    "auto_augment_transform",
    "resolve_data_config",
    "resolve_model_data_config",
    "ImageDataset",
    "IterableImageDataset",
    "AugMixDataset",
    "create_dataset",
    "create_loader",
    "Mixup",
    "FastCollateMixup",
    "create_reader",
    "get_img_extensions",
    "is_img_extension",
    "set_img_extensions",
    "add_img_extensions",
    "del_img_extensions",
    "ToNumpy",
    "ToTensor",
    "str_to_interp_mode",
    "str_to_pil_interp",
    "interp_mode_to_str",
    "RandomResizedCropAndInterpolation",
    "CenterCropOrPad",
    "center_crop_or_pad",
    "crop_or_pad",
    "RandomCropOrPad",
    "RandomPad",
    "ResizeKeepRatio",
    "TrimBorder",
    "MaybeToTensor",
    "MaybePILToTensor",
    "create_transform",
    "IMAGENET_DEFAULT_MEAN",
    "IMAGENET_DEFAULT_STD",
    "IMAGENET_INCEPTION_MEAN",
    "IMAGENET_INCEPTION_STD",
    "DEFAULT_CROP_PCT",
    "CustomDatasetInfo",
    "DatasetInfo",
    "DatasetInfoLabelMapper",
    "LabelMappingCoverage",
    "ImageNetInfo",
    "infer_imagenet_subset",
    "RealLabelsImagenet",
    "find_images_and_targets",
]

# (reference path, our name, parameters whose default deliberately differs, reference-only parameters)
SIGNATURES = [
    (
        "timm.data.create_transform",
        "create_transform",
        {},
        {
            "naflex",
            "patch_size",
            "max_seq_len",
            "patchify",
            "patchify_channels_last",
            "patchify_flatten",
            "tf_preprocessing",
        },
    ),
    ("timm.data.create_dataset", "create_dataset", {}, set()),
    ("timm.data.ImageDataset", "ImageDataset", {}, set()),
    ("timm.data.IterableImageDataset", "IterableImageDataset", {}, set()),
    ("timm.data.AugMixDataset", "AugMixDataset", {}, set()),
    ("timm.data.Mixup", "Mixup", {}, set()),
    ("timm.data.FastCollateMixup", "FastCollateMixup", {}, set()),
    ("timm.data.RandomResizedCropAndInterpolation", "RandomResizedCropAndInterpolation", {}, set()),
    ("timm.data.ResizeKeepRatio", "ResizeKeepRatio", {}, set()),
    ("timm.data.random_erasing.RandomErasing", "RandomErasing", {}, set()),
    ("timm.data.rand_augment_transform", "rand_augment_transform", {}, set()),
    ("timm.data.auto_augment_transform", "auto_augment_transform", {}, set()),
    ("timm.data.auto_augment.augment_and_mix_transform", "augment_and_mix_transform", {}, set()),
    ("timm.data.auto_augment.AugmentOp", "AugmentOp", {}, set()),
    ("timm.data.create_reader", "create_reader", {}, set()),
    (
        "timm.data.readers.reader_image_folder.find_images_and_targets",
        "find_images_and_targets",
        {},
        set(),
    ),
    ("timm.data.CustomDatasetInfo", "CustomDatasetInfo", {}, set()),
    ("timm.data.DatasetInfoLabelMapper", "DatasetInfoLabelMapper", {}, set()),
    ("timm.data.ImageNetInfo", "ImageNetInfo", {}, set()),
    ("timm.data.infer_imagenet_subset", "infer_imagenet_subset", {}, set()),
    ("timm.data.RealLabelsImagenet", "RealLabelsImagenet", {}, set()),
    (
        "timm.data.create_loader",
        "create_loader",
        # device: cuda when available, else cpu (the reference hard-codes cuda).
        {"device"},
        set(),
    ),
]


def test_reference_names_exist():
    missing = [name for name in REFERENCE_NAMES if not hasattr(pixelpipe, name)]
    assert not missing, f"missing from pixelpipe: {missing}"


def test_all_exports_resolve():
    for name in pixelpipe.__all__:
        assert hasattr(pixelpipe, name), name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = pixelpipe.nope


def _resolve(path: str):
    import importlib

    module, _, attr = path.rpartition(".")
    return getattr(importlib.import_module(module), attr)


def _params(obj) -> dict[str, inspect.Parameter]:
    target = obj.__init__ if inspect.isclass(obj) else obj
    return {
        n: p
        for n, p in inspect.signature(target).parameters.items()
        if n != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    }


@pytest.mark.parametrize("ref_path, ours, differs, ref_only", SIGNATURES, ids=[s[1] for s in SIGNATURES])
def test_signature_matches_reference(ref_path, ours, differs, ref_only):
    pytest.importorskip("timm")
    ref = _params(_resolve(ref_path))
    mine = _params(getattr(pixelpipe, ours))
    missing = sorted(set(ref) - set(mine) - ref_only)
    assert not missing, f"{ours} lacks reference parameters {missing}"
    wrong = {
        n: (mine[n].default, ref[n].default)
        for n in ref
        if n in mine and n not in differs and not _same_default(mine[n].default, ref[n].default)
    }
    assert not wrong, f"{ours}: defaults differ from the reference (ours, reference): {wrong}"
    # Reference parameters keep their positions, so positional calls written for timm still work.
    ref_order = [n for n in ref if n in mine]
    assert [n for n in mine if n in ref][: len(ref_order)] == ref_order


def _same_default(a, b) -> bool:
    if a is b:
        return True
    try:
        return bool(a == b)
    except Exception:  # tensors and other types without a plain truth value
        return repr(a) == repr(b)


# pixelpipe's own names beyond the reference's, exported at the top level
EXTRA_NAMES = {
    "SkipRecord": "pixelpipe.datasets",
    "SkipReport": "pixelpipe.datasets",
    "AugmentRecipe": "pixelpipe.recipe",
}


def test_extra_names_are_exported():
    import importlib

    for name, module in EXTRA_NAMES.items():
        assert name in pixelpipe.__all__ and name in dir(pixelpipe), name
        assert getattr(pixelpipe, name) is getattr(importlib.import_module(module), name), name
