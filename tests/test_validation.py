"""Argument validation of every public constructor: bad values raise ``ValueError`` (``ConfigError``) or
``TypeError`` naming the argument; every value the reference accepts with a meaning is still accepted.

Each row of :data:`BAD` is ``(id, factory, argument name, bad values)``; :data:`GOOD` lists timm-compatible
calls that must keep working (REFERENCE §4-8).
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

from pixelpipe.augment import (
    AugmentOp,
    AugMixAugment,
    AutoAugment,
    RandAugment,
    augment_and_mix_transform,
    augmix_ops,
    auto_augment_policy,
    auto_augment_transform,
    rand_augment_ops,
    rand_augment_transform,
)
from pixelpipe.batch import FastCollateMixup, Mixup
from pixelpipe.errors import ConfigError
from pixelpipe.factories import create_transform
from pixelpipe.transforms import (
    CenterCrop,
    CenterCropOrPad,
    ColorJitter,
    DecodeRandomResizedCrop,
    GaussianBlur,
    Normalize,
    RandomApply,
    RandomCropOrPad,
    RandomErasing,
    RandomGrayscale,
    RandomHorizontalFlip,
    RandomPad,
    RandomResizedCropAndInterpolation,
    RandomVerticalFlip,
    Resize,
    ResizeKeepRatio,
    ToTensor,
    TrimBorder,
)

NAN, INF = math.nan, math.inf
NOT_NUMBERS = ["0.5", None, [0.5], object()]
NON_FINITE = [NAN, INF, -INF]
BAD_PROB = [*NON_FINITE, -0.1, 1.5, True, *NOT_NUMBERS]
BAD_SIZE = [0, -1, 1.5, NAN, INF, True, "224", None, (), (1, 2, 3), (0, 4), (4, -2), [NAN]]
BAD_POS_RANGE = [(0, 1), (-1, 1), (NAN, 1), (1, INF), (True, 2), (1,), (), "ab", None, 5, (1, "2")]
BAD_NONNEG_RANGE = [(-0.1, 1), (NAN, 1), (0, INF), (1,), (1, 2, 3), None, "ab", (0.1, None)]
BAD_COUNT = [0, -1, 1.5, NAN, INF, True, "2"]


def _ops():
    return rand_augment_ops(9, transforms=["Rotate", "Invert"])


BAD = [
    # transforms: crops and resizes
    ("rrc-size", lambda v: RandomResizedCropAndInterpolation(v), "size", BAD_SIZE),
    ("rrc-scale", lambda v: RandomResizedCropAndInterpolation(8, scale=v), "scale", BAD_NONNEG_RANGE),
    ("rrc-ratio", lambda v: RandomResizedCropAndInterpolation(8, ratio=v), "ratio", BAD_POS_RANGE),
    (
        "rrc-interp",
        lambda v: RandomResizedCropAndInterpolation(8, interpolation=v),
        "interpolation",
        ["bilinearx", "", None, 3, (), ["bilinear", "cubic"]],
    ),
    ("drrc-size", lambda v: DecodeRandomResizedCrop(v), "size", BAD_SIZE),
    ("drrc-ratio", lambda v: DecodeRandomResizedCrop(8, ratio=v), "ratio", BAD_POS_RANGE),
    ("rkr-size", lambda v: ResizeKeepRatio(v), "size", BAD_SIZE),
    ("rkr-longest", lambda v: ResizeKeepRatio(8, longest=v), "longest", BAD_PROB),
    ("rkr-scale-prob", lambda v: ResizeKeepRatio(8, random_scale_prob=v), "random_scale_prob", BAD_PROB),
    (
        "rkr-scale-range",
        lambda v: ResizeKeepRatio(8, random_scale_range=v),
        "random_scale_range",
        BAD_POS_RANGE,
    ),
    ("rkr-aspect-prob", lambda v: ResizeKeepRatio(8, random_aspect_prob=v), "random_aspect_prob", BAD_PROB),
    (
        "rkr-aspect-range",
        lambda v: ResizeKeepRatio(8, random_aspect_range=v),
        "random_aspect_range",
        BAD_POS_RANGE,
    ),
    ("resize-size", lambda v: Resize(v), "size", BAD_SIZE),
    ("resize-max", lambda v: Resize(8, max_size=v), "max_size", [0, -1, 1.5, NAN, True, "9"]),
    ("center-crop", lambda v: CenterCrop(v), "size", BAD_SIZE),
    ("ccop-size", lambda v: CenterCropOrPad(v), "size", BAD_SIZE),
    ("ccop-fill", lambda v: CenterCropOrPad(8, fill=v), "fill", [NAN, INF, "red", None, (), (1, NAN)]),
    ("ccop-mode", lambda v: CenterCropOrPad(8, padding_mode=v), "padding_mode", ["wrap", "", None, 1]),
    ("rcop-size", lambda v: RandomCropOrPad(v), "size", BAD_SIZE),
    ("rcop-mode", lambda v: RandomCropOrPad(8, padding_mode=v), "padding_mode", ["mirror", None]),
    ("random-pad", lambda v: RandomPad(v), "input_size", BAD_SIZE),
    ("trim-border", lambda v: TrimBorder(v), "border_size", [-1, 1.5, NAN, INF, True, "2", None]),
    # colour, flips, conversion
    (
        "jitter-brightness",
        lambda v: ColorJitter(brightness=v),
        "brightness",
        [-0.1, NAN, INF, True, "0.4", (0.5,), (2, 1), (-1, 1), (0.5, INF), None],
    ),
    ("jitter-hue", lambda v: ColorJitter(hue=v), "hue", [0.6, -0.1, NAN, (-0.6, 0.1), (0.2, 0.1)]),
    ("grayscale", lambda v: RandomGrayscale(v), "p", BAD_PROB),
    ("blur-kernel", lambda v: GaussianBlur(v), "kernel_size", [0, 2, -3, 1.5, NAN, True, (3, 4), None]),
    ("blur-sigma", lambda v: GaussianBlur(3, sigma=v), "sigma", [0, -1, NAN, INF, True, (2, 1), (0, 1), "1"]),
    ("hflip", lambda v: RandomHorizontalFlip(v), "p", BAD_PROB),
    ("vflip", lambda v: RandomVerticalFlip(v), "p", BAD_PROB),
    ("random-apply-p", lambda v: RandomApply([RandomHorizontalFlip()], p=v), "p", BAD_PROB),
    ("random-apply-transforms", lambda v: RandomApply(v), "callable", [[1], ["x"], [None]]),
    (
        "normalize-std",
        lambda v: Normalize((0.5, 0.5, 0.5), v),
        "std",
        [(0, 1, 1), (NAN, 1, 1), (INF, 1, 1), (), "abc", None, (True, 1, 1), (1, 1)],
    ),
    ("normalize-mean", lambda v: Normalize(v, (0.5, 0.5, 0.5)), "mean", [(NAN, 1, 1), (), None, "x"]),
    ("to-tensor", lambda v: ToTensor(v), "dtype", ["float32", None, float, 1]),
    # random erasing
    ("erasing-p", lambda v: RandomErasing(v, device="cpu"), "probability", BAD_PROB),
    ("erasing-min-area", lambda v: RandomErasing(min_area=v), "min_area", [0, -0.1, NAN, INF, True, "0.1"]),
    ("erasing-max-area", lambda v: RandomErasing(max_area=v), "max_area", [0.01, NAN, INF, -1, None, "1"]),
    ("erasing-min-aspect", lambda v: RandomErasing(min_aspect=v), "min_aspect", [0, -1, NAN, INF, True]),
    (
        "erasing-max-aspect",
        lambda v: RandomErasing(min_aspect=0.3, max_aspect=v),
        "max_aspect",
        [0.1, -1, NAN, INF, "3"],
    ),
    ("erasing-mode", lambda v: RandomErasing(mode=v), "mode", ["noise", "cons", 1, True, ["const"]]),
    ("erasing-min-count", lambda v: RandomErasing(min_count=v), "min_count", BAD_COUNT),
    ("erasing-max-count", lambda v: RandomErasing(min_count=2, max_count=v), "max_count", [1, -1, 1.5, NAN]),
    ("erasing-num-splits", lambda v: RandomErasing(num_splits=v), "num_splits", [-1, 1.5, NAN, True, "2"]),
    ("erasing-paste", lambda v: RandomErasing(paste=v), "paste", ["mask", None]),
    # augmentation ops and policies
    ("op-name", lambda v: AugmentOp(v), "name", ["rotate", "", None, 3, "Cutout"]),
    ("op-prob", lambda v: AugmentOp("Rotate", prob=v), "prob", BAD_PROB),
    (
        "op-magnitude",
        lambda v: AugmentOp("Rotate", magnitude=v),
        "magnitude",
        [-1, NAN, INF, True, "9", None],
    ),
    ("op-hparams", lambda v: AugmentOp("Rotate", hparams=v), "hparams", [[("a", 1)], "x", 3]),
    (
        "op-mstd",
        lambda v: AugmentOp("Rotate", hparams={"magnitude_std": v}),
        "magnitude_std",
        [-1, NAN, True, "0.5"],
    ),
    (
        "op-mmax",
        lambda v: AugmentOp("Rotate", hparams={"magnitude_max": v}),
        "magnitude_max",
        [-1, NAN, INF, True, "10"],
    ),
    (
        "op-translate",
        lambda v: AugmentOp("TranslateX", hparams={"translate_const": v}),
        "translate_const",
        [NAN, INF, True, "100", None],
    ),
    (
        "op-fill",
        lambda v: AugmentOp("Rotate", hparams={"img_mean": v}),
        "img_mean",
        [NAN, -1, 256, (1, 2, 3, 4, 5), (), (1, NAN, 3), "grey", None],
    ),
    (
        "op-interp",
        lambda v: AugmentOp("Rotate", hparams={"interpolation": v}),
        "interpolation",
        ["lanczos", "cubic", 99, (), None],
    ),
    (
        "randaugment-layers",
        lambda v: RandAugment(_ops(), num_layers=v),
        "num_layers",
        [-1, 1.5, NAN, True, "2", None],
    ),
    (
        "randaugment-weights",
        lambda v: RandAugment(_ops(), choice_weights=v),
        "choice_weights",
        [[1.0], [1, -1], [NAN, 1], [0, 0]],
    ),
    ("randaugment-ops", lambda v: RandAugment(v), "ops", ["Rotate", [1, 2], [None], 5]),
    ("augmix-alpha", lambda v: AugMixAugment(augmix_ops(), alpha=v), "alpha", [0, -1, NAN, INF, True, "1"]),
    ("augmix-width", lambda v: AugMixAugment(augmix_ops(), width=v), "width", [0, -1, 1.5, True, "3"]),
    ("augmix-depth", lambda v: AugMixAugment(augmix_ops(), depth=v), "depth", [1.5, NAN, True, "1"]),
    ("augmix-ops", lambda v: AugMixAugment(v), "ops", [[], "Rotate", [1]]),
    ("autoaugment-policy", lambda v: AutoAugment(v), "policy", [[], "v0", [["Rotate"]], 5]),
    ("aa-policy-name", lambda v: auto_augment_policy(v), "polic", ["v1", "ORIGINAL", None, ""]),
    (
        "rand-config",
        lambda v: rand_augment_transform(v),
        "config",
        [
            "rand-m",
            "rand-x9",
            "rand-p2",
            "rand-inc",
            "rand-m9-m8",
            "rand-tfoo",
            "random",
            None,
            9,
            "rand-m-9",
        ],
    ),
    ("aa-config", lambda v: auto_augment_transform(v), "", ["v0-m9", "trivialaugment", "", None, "v0-mstd"]),
    (
        "augmix-config",
        lambda v: augment_and_mix_transform(v),
        "config",
        ["augmix-w0", "augmix-a0", "augmix-z1", "augmix-m", "augmixm3", None],
    ),
    # mixup
    ("mixup-alpha", lambda v: Mixup(mixup_alpha=v), "mixup_alpha", [-1, NAN, INF, True, "1", None]),
    ("cutmix-alpha", lambda v: Mixup(cutmix_alpha=v), "cutmix_alpha", [-1, NAN, INF, True, "1"]),
    ("mixup-nothing", lambda v: Mixup(mixup_alpha=v, cutmix_alpha=0.0), "alpha", [0, 0.0]),
    (
        "cutmix-minmax",
        lambda v: Mixup(cutmix_minmax=v),
        "cutmix_minmax",
        [(0.5,), (0.6, 0.4), (-0.1, 0.5), (0.2, 1.5), (NAN, 0.5), "ab", 0.5, (0.5, 0.5)],
    ),
    ("mixup-prob", lambda v: Mixup(prob=v), "prob", BAD_PROB),
    ("mixup-switch-prob", lambda v: Mixup(switch_prob=v), "switch_prob", BAD_PROB),
    ("mixup-mode", lambda v: Mixup(mode=v), "mode", ["bach", "", None, 1]),
    ("mixup-smoothing", lambda v: Mixup(label_smoothing=v), "label_smoothing", BAD_PROB),
    (
        "mixup-classes",
        lambda v: Mixup(num_classes=v),
        "num_classes",
        [0, -1, 1.5, NAN, INF, True, "10", None],
    ),
    ("fast-collate-alpha", lambda v: FastCollateMixup(mixup_alpha=v), "mixup_alpha", [-1, NAN, INF, True]),
    ("fast-collate-classes", lambda v: FastCollateMixup(num_classes=v), "num_classes", [0, 2.5, True]),
]

CREATE_TRANSFORM_BAD = [
    ("input_size", [0, -224, (3, 0, 224), (), "224", None, 1.5, NAN]),
    ("hflip", [-0.5, 1.5, NAN, True, "0.5"]),
    ("vflip", [-0.5, 2, NAN]),
    ("re_prob", [-0.1, 1.1, NAN, INF]),
    ("grayscale_prob", [-0.1, 1.1, NAN]),
    ("gaussian_blur_prob", [-0.1, 1.1, NAN]),
    ("color_jitter_prob", [-0.1, 1.1, NAN]),
    ("color_jitter", [-0.4, (0.4, 0.4), (0.4,) * 5, "x", INF]),  # "0.4" works: float() as the reference
    ("scale", [(-0.1, 1.0), (0.08,), (NAN, 1.0)]),
    ("ratio", [(0, 1.0), (0.75,), (INF, 1.0)]),
    ("train_crop_mode", ["rc", "RRC", 1]),
    ("interpolation", ["cubic", "", None]),
    ("auto_augment", ["rand-m", "v5", 5, ["rand-m9"]]),
    ("re_mode", ["noise", 1]),
    ("re_count", [-1, 1.5, NAN]),
    ("mean", [(NAN, 0.5, 0.5), (), "abc", None]),
    ("std", [(0.0, 0.5, 0.5), (INF, 1, 1), ()]),
]

EVAL_BAD = [
    ("crop_pct", [-0.5, NAN, INF, "0.9"]),
    ("crop_border_pixels", [-1, 1.5, NAN]),
    ("crop_mode", [1, ["center"]]),
    ("interpolation", ["random", "cubic"]),
    ("mean", [(NAN, 0.5, 0.5), ()]),
]


def _check_raises(factory, value, name: str) -> None:
    with pytest.raises((ValueError, TypeError)) as info:
        factory(value)
    msg = str(info.value)
    assert name.lower() in msg.lower(), f"message does not name {name!r}: {msg}"


@pytest.mark.parametrize(("factory", "name", "values"), [row[1:] for row in BAD], ids=[row[0] for row in BAD])
def test_bad_arguments_raise_naming_the_argument(factory, name, values):
    for value in values:
        _check_raises(factory, value, name)


@pytest.mark.parametrize(
    ("name", "values"), CREATE_TRANSFORM_BAD, ids=[row[0] for row in CREATE_TRANSFORM_BAD]
)
def test_create_transform_train_rejects(name, values):
    extra = {"re_prob": 0.5} if name in ("re_mode", "re_count") else {}
    for value in values:
        _check_raises(lambda v: create_transform(32, is_training=True, **{**extra, name: v}), value, name)


@pytest.mark.parametrize(("name", "values"), EVAL_BAD, ids=[row[0] for row in EVAL_BAD])
def test_create_transform_eval_rejects(name, values):
    for value in values:
        _check_raises(lambda v: create_transform(32, **{name: v}), value, name)


def test_errors_are_config_errors_with_the_value():
    with pytest.raises(
        ConfigError, match=re.escape("RandomErasing: probability must be a number in [0, 1], got nan")
    ):
        RandomErasing(NAN)
    with pytest.raises(ConfigError, match=r"RandomResizedCropAndInterpolation: size .* got 0"):
        RandomResizedCropAndInterpolation(0)
    with pytest.raises(ConfigError, match=r"Mixup: num_classes must be an int >= 1, got True"):
        Mixup(num_classes=True)


# --- what the reference accepts keeps working -----------------------------------------------------------

GOOD = [
    lambda: RandomResizedCropAndInterpolation(224, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)),
    lambda: RandomResizedCropAndInterpolation((224, 160), interpolation="random"),
    lambda: RandomResizedCropAndInterpolation([224], scale=(0.0, 1.0)),
    lambda: RandomResizedCropAndInterpolation(np.int64(96), scale=(np.float32(0.5), 1)),
    lambda: RandomResizedCropAndInterpolation(224.0, scale=(0.35, 1.5)),  # integral float size
    lambda: RandomResizedCropAndInterpolation(64, interpolation=("bilinear", "bicubic")),
    lambda: ResizeKeepRatio((256, 365), longest=1.0, interpolation="bicubic"),
    lambda: ResizeKeepRatio(
        224,
        random_scale_prob=0.5,
        random_scale_range=(0.8, 1.0),
        random_scale_area=True,
        random_aspect_prob=0.5,
        random_aspect_range=(0.9, 1 / 0.9),
    ),
    lambda: Resize([256]),
    lambda: Resize((256, 320), max_size=None),
    lambda: Resize(256, max_size=512),
    lambda: CenterCrop([7]),
    lambda: CenterCropOrPad(224, fill=[124, 116, 104], padding_mode="reflect"),
    lambda: RandomCropOrPad((32, 48), fill=0.5, padding_mode="edge"),
    lambda: RandomPad((5, 6)),
    lambda: TrimBorder(0),
    lambda: ColorJitter(0.4, 0.4, 0.4, 0.1),
    lambda: ColorJitter((0.5, 1.5), 0, 0, (-0.5, 0.5)),
    lambda: GaussianBlur(23),
    lambda: GaussianBlur((3, 5), sigma=0.5),
    lambda: Normalize(mean=torch.tensor([0.485, 0.456, 0.406]), std=torch.tensor([0.229, 0.224, 0.225])),
    lambda: Normalize(0.5, 0.5),
    lambda: RandomErasing(0.25, mode="pixel", max_count=3, device="cpu"),
    lambda: RandomErasing(0.0, mode="", max_count=0, device="cpu"),  # '' is const, 0 means min_count
    lambda: RandomErasing(1, mode="RAND", max_aspect=0, num_splits=2, device="cpu"),  # 0 means 1/min_aspect
    lambda: RandomErasing(0.5, min_area=0.02, max_area=1.5, device="cpu"),
    lambda: AugmentOp("Rotate", prob=1, magnitude=15, hparams={"magnitude_max": 20}),  # beyond 10 with mmax
    lambda: AugmentOp("PosterizeIncreasing", magnitude=30, hparams={"magnitude_std": math.inf}),
    lambda: AugmentOp("Rotate", hparams={"magnitude_std": None, "magnitude_max": None, "img_mean": 0}),
    lambda: AugmentOp("TranslateX", hparams={"translate_const": -10, "interpolation": 3}),
    lambda: RandAugment(_ops(), num_layers=0),
    lambda: RandAugment(_ops(), num_layers=np.int64(2), choice_weights=[1, 2]),
    lambda: AugMixAugment(augmix_ops(3), alpha=np.float32(0.5), width=1, depth=-1, blended=True),
    lambda: rand_augment_transform(
        "rand-m9-mstd0.5-inc1", {"translate_const": 100, "img_mean": (124, 116, 104)}
    ),
    lambda: rand_augment_transform("rand-m30-mmax30-n0-p0-mstd200-inc0-t3aw"),
    lambda: auto_augment_transform("originalr-mstd0.5", None),
    lambda: augment_and_mix_transform("augmix-m3-w3-d0-a0.5-b1-mstd0.5", {"translate_pct": 0.3}),
    lambda: Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, label_smoothing=0.1, num_classes=1000),
    lambda: Mixup(mixup_alpha=0.0, cutmix_alpha=0.0, cutmix_minmax=(0.2, 0.8), prob=0, switch_prob=1),
    lambda: Mixup(mode="elem", label_smoothing=0.0, num_classes=np.int64(10), correct_lam=False),
    lambda: FastCollateMixup(mixup_alpha=1.0, mode="half", num_classes=10),
    lambda: create_transform(
        224,
        is_training=True,
        auto_augment="rand-m9-mstd0.5-inc1",
        re_prob=0.25,
        re_mode="pixel",
        re_count=0,
        interpolation="random",
    ),
    lambda: create_transform(
        (3, 224, 224),
        is_training=True,
        hflip=0,
        vflip=1,
        color_jitter=(0.4, 0.4, 0.4, 0.1),
        color_jitter_prob=0.8,
        grayscale_prob=0.2,
        gaussian_blur_prob=0.1,
        scale=(0.08, 1),
        ratio=[0.75, 1.33],
        train_crop_mode="rkrr",
    ),
    lambda: create_transform(224, crop_pct=0, crop_mode="squash"),  # 0 means the default 0.875
    lambda: create_transform((224, 160), crop_pct=1.15, crop_mode="unknown-is-center", crop_border_pixels=2),
    lambda: create_transform(224, is_training=True, no_aug=True, interpolation="random"),
    lambda: create_transform(224, mean=torch.tensor([0.5, 0.5, 0.5]), std=np.array([0.5, 0.5, 0.5])),
    lambda: DecodeRandomResizedCrop(224, scale=(0.08, 1.0), mode="L", output="pil"),
]


@pytest.mark.parametrize("factory", GOOD, ids=[f"good-{i}" for i in range(len(GOOD))])
def test_reference_compatible_values_are_accepted(factory):
    factory()


def test_reversed_rrc_range_warns_as_the_reference():
    with pytest.warns(UserWarning, match=r"range should be of kind \(min, max\)"):
        RandomResizedCropAndInterpolation(32, scale=(1.0, 0.08))
