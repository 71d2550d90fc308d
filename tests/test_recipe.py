"""The augmentation recipe (issue 17): one frozen AugmentRecipe, built from timm's keyword arguments, read by
``create_transform``, ``create_loader`` and the device path."""

from __future__ import annotations

import dataclasses
import inspect
import pickle

import pytest
import torch

import pixelpipe
from pixelpipe.device import DeviceAugment
from pixelpipe.errors import ConfigError
from pixelpipe.factories import create_loader, create_transform
from pixelpipe.factories.device_loader import device_loader_parts
from pixelpipe.recipe import LOADER_KEYWORDS, AugmentRecipe
from pixelpipe.transforms import (
    ColorJitter,
    RandomApply,
    RandomErasing,
    RandomGrayscale,
    RandomHorizontalFlip,
    RandomResizedCropAndInterpolation,
    RandomVerticalFlip,
    transforms_from_recipe,
)

# a value other than the default for every create_transform argument that a recipe can hold
NON_DEFAULT = {
    "input_size": (3, 40, 48),
    "is_training": True,
    "no_aug": False,
    "train_crop_mode": "rkrc",
    "scale": (0.3, 0.9),
    "ratio": (0.5, 2.0),
    "hflip": 0.25,
    "vflip": 0.75,
    "color_jitter": (0.1, 0.2, 0.3, 0.05),
    "color_jitter_prob": 0.5,
    "grayscale_prob": 0.2,
    "gaussian_blur_prob": 0.1,
    "auto_augment": "rand-m7-n2",
    "interpolation": "bicubic",
    "mean": (0.5, 0.4, 0.3),
    "std": (0.2, 0.3, 0.4),
    "re_prob": 0.4,
    "re_mode": "pixel",
    "re_count": 3,
    "re_num_splits": 2,
    "crop_pct": 0.8,
    "crop_mode": "squash",
    "crop_border_pixels": 2,
    "tf_preprocessing": True,
    "use_prefetcher": True,
    "normalize": False,
    "separate": True,
    "naflex": True,
    "patch_size": (14, 14),
    "max_seq_len": 256,
    "patchify": True,
    "patchify_channels_last": False,
    "patchify_flatten": False,
    "backend": "pil",
}


def _params(fn) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(fn).parameters)


def test_fields_are_create_transforms_arguments_with_its_defaults() -> None:
    fields = {f.name: f.default for f in dataclasses.fields(AugmentRecipe)}
    ct = _params(create_transform)
    assert set(ct) <= set(fields)
    assert {n: p.default for n, p in ct.items()} == {n: fields[n] for n in ct}
    assert set(fields) - set(ct) == {"force_color_jitter", "img_dtype", "channels_last"}
    assert set(NON_DEFAULT) == set(ct)


def test_defaults_equal_timms() -> None:
    timm_tf = pytest.importorskip("timm.data.transforms_factory")
    fields = {f.name: f.default for f in dataclasses.fields(AugmentRecipe)}
    for name, p in _params(timm_tf.create_transform).items():
        assert fields[name] == p.default, name
    train = _params(timm_tf.transforms_imagenet_train)
    assert fields["force_color_jitter"] == train["force_color_jitter"].default


def test_round_trips_every_create_transform_argument() -> None:
    recipe = AugmentRecipe.from_kwargs(**NON_DEFAULT)
    extras = {"force_color_jitter": False, "img_dtype": torch.float32, "channels_last": False}
    assert recipe.to_kwargs() == {**NON_DEFAULT, **extras}
    assert AugmentRecipe.from_kwargs(**recipe.to_kwargs()) == recipe
    for name, value in NON_DEFAULT.items():  # each one alone, too
        assert getattr(AugmentRecipe.from_kwargs(**{name: value}), name) == value, name


def test_round_trips_every_create_loader_augmentation_argument() -> None:
    loader_params = _params(create_loader)
    recipe_args = [n for n in loader_params if n in AugmentRecipe.keywords()]
    assert set(LOADER_KEYWORDS) <= set(recipe_args)
    # every create_loader argument is the recipe's or the loading's; none is both
    loading = {n for n in loader_params if n not in recipe_args}
    assert loading.isdisjoint(f.name for f in dataclasses.fields(AugmentRecipe))
    kwargs = {n: NON_DEFAULT[n] for n in recipe_args if n in NON_DEFAULT}
    kwargs.update(re_split=True, num_aug_splits=3, fp16=True, channels_last=True)
    recipe = AugmentRecipe.from_kwargs(**kwargs)
    for name in kwargs.keys() - set(LOADER_KEYWORDS):
        assert getattr(recipe, name) == kwargs[name], name
    assert (recipe.re_num_splits, recipe.separate, recipe.img_dtype) == (3, True, torch.float16)
    assert AugmentRecipe.from_kwargs(re_split=True).re_num_splits == 2  # halves without AugMix splits


def test_create_loader_reads_the_recipe() -> None:
    class Solid(torch.utils.data.Dataset):
        transform = None

        def __len__(self) -> int:
            return 2

        def __getitem__(self, i: int):
            return self.transform(torch.zeros(3, 12, 10, dtype=torch.uint8)), i

    kw = dict(is_training=True, hflip=0.0, vflip=1.0, color_jitter=None, re_prob=0.5, re_count=2)
    loader = create_loader(Solid(), 8, 2, num_workers=0, device="cpu", seed=0, **kw)
    recipe = AugmentRecipe(input_size=8, use_prefetcher=True, **kw)
    assert repr(loader.dataset.transform) == repr(transforms_from_recipe(recipe))
    assert loader.random_erasing.probability == 0.5 and loader.random_erasing.max_count == 2
    assert loader.img_dtype == recipe.img_dtype


def test_frozen_picklable_hashable_and_replace_rechecks() -> None:
    recipe = AugmentRecipe.from_kwargs(input_size=[3, 32, 32], is_training=True, mean=torch.tensor([0.5] * 3))
    with pytest.raises(dataclasses.FrozenInstanceError):
        recipe.hflip = 0.0  # type: ignore[misc]  # the point: assigning a field fails
    assert pickle.loads(pickle.dumps(recipe)) == recipe
    assert hash(recipe) == hash(AugmentRecipe.from_kwargs(**recipe.to_kwargs()))
    assert recipe.mean == (0.5, 0.5, 0.5) and recipe.img_size == [32, 32]  # a list input_size stays a list
    assert recipe.replace(hflip=0.0).hflip == 0.0 and recipe.hflip == 0.5
    with pytest.raises(ConfigError, match="hflip"):
        recipe.replace(hflip=2.0)
    assert repr(recipe) == "AugmentRecipe(input_size=[3, 32, 32], is_training=True, mean=(0.5, 0.5, 0.5))"


BAD = [
    ("backend", "numpy", {}),
    ("input_size", 0, {}),
    ("mean", (), {}),
    ("std", (0.0, 1.0, 1.0), {}),
    ("img_dtype", torch.uint8, {}),
    ("hflip", 1.5, {"is_training": True}),
    ("vflip", -0.1, {"is_training": True}),
    ("re_prob", float("nan"), {"is_training": True}),
    ("grayscale_prob", 2, {"is_training": True}),
    ("gaussian_blur_prob", True, {"is_training": True}),
    ("color_jitter_prob", -1, {"is_training": True}),
    ("color_jitter", (0.4, 0.4), {"is_training": True}),
    ("train_crop_mode", "rc", {"is_training": True}),
    ("auto_augment", 5, {"is_training": True}),
    ("scale", "ab", {}),
    ("crop_pct", -0.5, {}),
    ("crop_border_pixels", 1.5, {}),
    ("crop_mode", 1, {}),
    ("interpolation", "random", {}),
]


@pytest.mark.parametrize(("name", "value", "extra"), BAD, ids=[b[0] for b in BAD])
def test_invalid_values_raise_naming_the_parameter(name: str, value: object, extra: dict) -> None:
    with pytest.raises(ConfigError, match=name):
        AugmentRecipe.from_kwargs(**extra, **{name: value})


def test_unknown_keyword_and_contradictions_raise() -> None:
    with pytest.raises(ConfigError, match="'hflipp'"):
        AugmentRecipe.from_kwargs(hflipp=0.5)
    with pytest.raises(ConfigError, match="re_split or re_num_splits"):
        AugmentRecipe.from_kwargs(re_split=True, re_num_splits=2)
    with pytest.raises(ConfigError, match="num_aug_splits"):
        AugmentRecipe.from_kwargs(num_aug_splits=-1)
    with pytest.raises(ConfigError, match="separate"):
        AugmentRecipe.from_kwargs(num_aug_splits=2, separate=False)


def test_settings_are_checked_where_used() -> None:
    AugmentRecipe(hflip=1.5)  # evaluation: the flips are not used
    AugmentRecipe(is_training=True, crop_pct=-1)  # training: the evaluation crop is not used
    AugmentRecipe(is_training=True, no_aug=True, hflip=7)


def _cpu_parts(tf) -> dict[type, object]:
    found: dict[type, object] = {}
    for t in tf.transforms:
        inner = t.transforms[0] if isinstance(t, RandomApply) else t
        found[type(inner)] = (inner, t.p if isinstance(t, RandomApply) else None)
    return found


@pytest.mark.parametrize("auto_augment", [None, "rand-m9-n2", "augmix-m3-w2"])
def test_one_recipe_drives_the_cpu_transform_and_device_augment_alike(auto_augment: str | None) -> None:
    recipe = AugmentRecipe(
        input_size=(3, 24, 32),
        is_training=True,
        scale=(0.3, 0.9),
        ratio=(0.6, 1.6),
        hflip=0.25,
        vflip=0.125,
        color_jitter=(0.3, 0.2, 0.1),
        color_jitter_prob=0.75,
        grayscale_prob=0.2,
        gaussian_blur_prob=0.1,
        auto_augment=auto_augment,
        force_color_jitter=True,
        interpolation="bicubic",
        mean=(0.5, 0.4, 0.3),
        std=(0.2, 0.3, 0.4),
        re_prob=0.3,
        re_mode="pixel",
        re_count=2,
    )
    cpu = _cpu_parts(transforms_from_recipe(recipe))
    dev = DeviceAugment.from_recipe(recipe)
    assert dev.recipe is recipe
    crop = cpu[RandomResizedCropAndInterpolation][0]
    assert tuple(crop.size) == dev.size == (24, 32)
    assert tuple(crop.scale) == dev.scale and tuple(crop.ratio) == dev.ratio
    assert dev.interpolation == "bicubic"
    assert cpu[RandomHorizontalFlip][0].p == dev.hflip and cpu[RandomVerticalFlip][0].p == dev.vflip
    jitter, p = cpu[ColorJitter]
    assert p == dev.jitter.p == 0.75
    for i, name in enumerate(("brightness", "contrast", "saturation")):
        assert tuple(getattr(jitter, name)) == pytest.approx(tuple(dev.jitter.ranges[i])), name
    assert cpu[RandomGrayscale][0].p == dev.grayscale_prob
    assert next(p for t, (_, p) in cpu.items() if t.__name__ == "GaussianBlur") == dev.blur_prob
    assert (dev.augment is None) == (auto_augment is None)
    # erasing: per image without the prefetcher, on the batch (after normalising) on the device
    erasing = cpu[RandomErasing][0]
    for attr in ("probability", "mode", "max_count"):
        assert getattr(erasing, attr) == getattr(dev.erasing, attr), attr
    assert dev.mean == recipe.mean and dev.std == recipe.std


def test_device_keyword_constructor_is_a_recipe_wrapper() -> None:
    aug = DeviceAugment(32, hflip=0.25, re_prob=0.5, grayscale_prob=None)
    assert aug.recipe == AugmentRecipe(
        input_size=32, is_training=True, hflip=0.25, re_prob=0.5, grayscale_prob=None
    )
    assert repr(DeviceAugment.from_recipe(aug.recipe)) == repr(aug)
    with pytest.raises(ConfigError, match="AugmentRecipe"):
        DeviceAugment.from_recipe({"input_size": 32})  # type: ignore[arg-type]  # the point: not a recipe


def test_device_loader_parts_read_the_recipe() -> None:
    recipe = AugmentRecipe(
        input_size=16, is_training=True, use_prefetcher=True, vflip=0.5, channels_last=True
    )
    _, _, aug = device_loader_parts(recipe)
    assert aug.recipe is recipe and aug.vflip == 0.5 and aug.channels_last
    with pytest.raises(ConfigError, match="use_prefetcher"):
        device_loader_parts(recipe.replace(use_prefetcher=False))
    with pytest.raises(ConfigError, match="train_crop_mode"):
        device_loader_parts(recipe.replace(train_crop_mode="rkrc"))


def test_public_and_thin_wrappers() -> None:
    assert pixelpipe.AugmentRecipe is AugmentRecipe
    assert repr(create_transform(32, is_training=True, hflip=0.0)) == repr(
        transforms_from_recipe(AugmentRecipe(input_size=32, is_training=True, hflip=0.0))
    )
