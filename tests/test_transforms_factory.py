"""create_transform behaviour: PIL and tensor inputs, uint8 prefetcher output, the three-stage split,
reproducibility from one seed, argument errors and the augmentation branch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import pixelpipe.transforms as T
from conftest import make_image
from pixelpipe.errors import ConfigError
from pixelpipe.factories import create_transform
from pixelpipe.rng import use_rng


def _tensor(img):
    return torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1).contiguous()


TRAIN_CFGS = [
    dict(),
    dict(interpolation="random", vflip=0.5, color_jitter=(0.4, 0.4, 0.2, 0.1), color_jitter_prob=0.8),
    dict(train_crop_mode="rkrc"),
    dict(train_crop_mode="rkrr", grayscale_prob=0.5, gaussian_blur_prob=0.5),
]


@pytest.mark.parametrize("cfg", TRAIN_CFGS)
def test_train_prefetcher_output_is_uint8_for_pil_and_tensor(cfg):
    tf = create_transform(32, is_training=True, use_prefetcher=True, **cfg)
    img = make_image(0, (60, 45))
    for x in (img, _tensor(img)):
        with use_rng(3):
            out = tf(x)
        assert out.dtype == torch.uint8 and out.shape == (3, 32, 32)


@pytest.mark.parametrize("cfg", TRAIN_CFGS)
def test_train_tensor_path_close_to_pil_path(cfg):
    tf = create_transform(32, is_training=True, use_prefetcher=True, **cfg)
    img = make_image(1, (60, 45))
    for seed in range(4):
        with use_rng(seed):
            a = tf(img)
        with use_rng(seed):
            b = tf(_tensor(img))
        assert (a.float() - b.float()).abs().mean() <= 2.0


def test_normalised_train_output_with_erasing_and_seed_reproducibility():
    tf = create_transform(32, is_training=True, re_prob=1.0, re_mode="pixel")
    img = make_image(2, (50, 40))
    with use_rng(9):
        a = tf(img)
    with use_rng(9):
        b = tf(img)
    with use_rng(10):
        c = tf(img)
    assert a.dtype == torch.float32 and a.shape == (3, 32, 32)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_uint8_tensor_pipeline_normalises_like_pil():
    tf = create_transform(32)
    img = make_image(3, (50, 40))
    a, b = tf(img), tf(_tensor(img))
    assert b.dtype == torch.float32
    assert (a - b).abs().mean() < 0.02  # about 1 grey level in normalised units


def test_separate_returns_three_stages():
    primary, secondary, final = create_transform(32, is_training=True, separate=True)
    img = make_image(4, (50, 40))
    with use_rng(0):
        out = final(secondary(primary(img)))
    assert out.shape == (3, 32, 32)
    assert len(primary) == 2 and len(secondary) == 1 and len(final) == 2


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(separate=True), "separate"),
        (dict(is_training=True, no_aug=True, separate=True), "separate"),
        (dict(is_training=True, train_crop_mode="foo"), "train_crop_mode"),
        (dict(is_training=True, color_jitter=(0.1, 0.2)), "color_jitter"),
        (dict(interpolation="random"), "random"),
        (dict(tf_preprocessing=True, use_prefetcher=True), "tf_preprocessing"),
        (dict(naflex=True), "naflex"),
        (dict(is_training=True, auto_augment=5), "auto_augment"),
    ],
)
def test_invalid_arguments_raise_config_error(kw, match):
    with pytest.raises(ConfigError, match=match):
        create_transform(32, **kw)


def test_public_builders_direct_defaults():
    tf = T.transforms_imagenet_train(32)
    assert "interpolation=bilinear bicubic" in repr(tf)  # 'random' by default when called directly
    assert "Resize(size=32," in repr(T.transforms_noaug_train(32, interpolation="random"))
    assert "crop_pct" not in repr(T.transforms_imagenet_eval(32))


def _augment_available(name: str) -> bool:
    import pixelpipe.augment as aug

    return hasattr(aug, name)


@pytest.mark.parametrize(
    "aa, fn, jitter_kept",
    [
        ("rand-m9-mstd0.5-inc1", "rand_augment_transform", False),
        ("rand-m9-n2-t3a", "rand_augment_transform", True),
        ("augmix-m3-w3-d2", "augment_and_mix_transform", False),
        ("v0", "auto_augment_transform", False),
        ("3a", "auto_augment_transform", True),
    ],
)
def test_auto_augment_branch(aa, fn, jitter_kept):
    if not _augment_available(fn):
        pytest.skip(f"pixelpipe.augment.{fn} not available yet")
    tf = create_transform(32, is_training=True, auto_augment=aa, use_prefetcher=True)
    assert ("ColorJitter" in repr(tf)) == jitter_kept
    img = make_image(5, (50, 40))
    for x in (img, _tensor(img)):
        with use_rng(1):
            out = tf(x)
        assert out.dtype == torch.uint8 and out.shape == (3, 32, 32)
    with use_rng(1):
        a = tf(img)
    with use_rng(1):
        b = tf(img)
    assert torch.equal(a, b)
    forced = T.transforms_imagenet_train(32, auto_augment=aa, force_color_jitter=True)
    assert "ColorJitter" in repr(forced)


def test_random_interpolation_draws_both_modes():
    rrc = T.RandomResizedCropAndInterpolation(16, interpolation="random")
    rng = np.random.default_rng(0)
    img = make_image(6, (40, 30))
    modes = [rrc.make_params(img, rng).interpolation.value for _ in range(400)]
    share = modes.count("bicubic") / len(modes)
    assert set(modes) == {"bilinear", "bicubic"} and 0.4 < share < 0.6
