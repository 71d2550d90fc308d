"""Differential tests against the reference (timm, test-only oracle): crop/pad helpers and eval pipelines are
pixel-equal on PIL images, random resized crop windows have the same distribution (two-sample KS test), and
``create_transform`` prints the same as the reference's for the configurations users print.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
import torchvision.transforms as TVT
import torchvision.transforms.functional as TVF

import pixelpipe.transforms as T
from _stats import ks_critical, ks_statistic
from conftest import make_image
from pixelpipe.factories import create_transform
from pixelpipe.transforms.resize import CropParams

timm_data = pytest.importorskip("timm.data")
timm_tf = pytest.importorskip("timm.data.transforms")


def _tensor(img):
    return torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1).contiguous()


def _eq(a, b):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


# ----------------------------------------------------------------------------------------------- crop / pad


@pytest.mark.parametrize("size", [(24, 24), (60, 30), (30, 70), (41, 49), 17])
@pytest.mark.parametrize("fill", [0, (10, 20, 30)])
def test_center_crop_or_pad_equals_reference(size, fill):
    img = make_image(0, (48, 40))
    ours = T.center_crop_or_pad(img, size, fill=fill)
    _eq(ours, timm_tf.center_crop_or_pad(img, size, fill=fill))
    # the tensor path gives the same pixels
    _eq(T.center_crop_or_pad(_tensor(img), size, fill=fill), _tensor(ours))


WINDOWS = [(0, 0, 40, 48), (-5, 3, 30, 30), (10, -7, 50, 60), (-3, -4, 60, 70), (35, 44, 9, 9)]


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("mode", ["constant", "reflect", "edge"])
def test_crop_or_pad_equals_reference(window, mode):
    img = make_image(1, (48, 40))
    top, left, h, w = window
    ref = timm_tf.crop_or_pad(img, top, left, h, w, fill=0, padding_mode=mode)
    ours = T.crop_or_pad(img, top, left, h, w, fill=0, padding_mode=mode)
    _eq(ours, ref)
    _eq(T.crop_or_pad(_tensor(img), top, left, h, w, padding_mode=mode), _tensor(ref))


def test_random_crop_or_pad_and_center_crop_or_pad_classes():
    img = make_image(2, (48, 40))
    ref = timm_tf.CenterCropOrPad((30, 60), padding_mode="reflect")(img)
    _eq(T.CenterCropOrPad((30, 60), padding_mode="reflect")(img), ref)
    t = T.RandomCropOrPad((30, 60))
    top, left = t.make_params(img, np.random.default_rng(0))
    assert top >= 0 and left <= 0  # taller image: crop; narrower image: pad
    _eq(t.apply(img, (top, left)), timm_tf.crop_or_pad(img, top, left, 30, 60))
    assert repr(t) == repr(timm_tf.RandomCropOrPad((30, 60)))


def test_trim_border_equals_reference_on_wide_images_and_fixes_narrow_ones():
    wide = make_image(3, (48, 40))  # W > H: the reference's height-for-left bug does not bite
    _eq(T.TrimBorder(5)(wide), timm_tf.TrimBorder(5)(wide))
    narrow = make_image(3, (10, 40))
    out = T.TrimBorder(4)(narrow)
    assert out.size == (2, 32)
    _eq(out, narrow.crop((4, 4, 6, 36)))  # left offset from the width (deliberate difference)


# ---------------------------------------------------------------------------------------------- RRC / resize


@pytest.mark.parametrize("wh", [(500, 375), (1000, 90)])
def test_rrc_get_params_distribution_matches_reference(wh):
    img = make_image(0, wh)
    scale, ratio = (0.08, 1.0), (3 / 4, 4 / 3)
    n = 3000
    random.seed(0)
    ref_get = timm_tf.RandomResizedCropAndInterpolation.get_params
    our_get = T.RandomResizedCropAndInterpolation.get_params
    ref = np.array([ref_get(img, scale, ratio) for _ in range(n)])
    rng = np.random.default_rng(0)
    ours = np.array([our_get(img, scale, ratio, rng) for _ in range(n)])
    w, h = wh
    for name, fn in {
        "area": lambda p: p[:, 2] * p[:, 3] / (w * h),
        "log_aspect": lambda p: np.log(p[:, 3] / p[:, 2]),
        "top": lambda p: p[:, 0] / h,
        "left": lambda p: p[:, 1] / w,
    }.items():
        d = ks_statistic(fn(ref), fn(ours))
        assert d < ks_critical(n, n), f"{name}: KS statistic {d:.4f}"
    # windows always lie inside the image
    assert (ours[:, 0] >= 0).all() and (ours[:, 0] + ours[:, 2] <= h).all()
    assert (ours[:, 1] >= 0).all() and (ours[:, 1] + ours[:, 3] <= w).all()


def test_rrc_get_params_keeps_reference_call_signature():
    img = make_image(0, (64, 48))
    from pixelpipe.rng import use_rng

    with use_rng(5):
        a = T.RandomResizedCropAndInterpolation.get_params(img, (0.08, 1.0), (0.75, 1.333))
    with use_rng(5):
        b = T.RandomResizedCropAndInterpolation.get_params(img, (0.08, 1.0), (0.75, 1.333))
    assert a == b and len(a) == 4


@pytest.mark.parametrize("interp", ["bilinear", "bicubic", "nearest", "lanczos"])
def test_rrc_apply_equals_reference_resized_crop(interp):
    img = make_image(4, (80, 64))
    t = T.RandomResizedCropAndInterpolation(32, interpolation=interp)
    mode = T.str_to_interp_mode(interp)
    for window in [(0, 0, 64, 80), (5, 7, 30, 41), (10, 3, 50, 20)]:
        ours = t.apply(img, CropParams(*window, mode))
        _eq(ours, TVF.resized_crop(img, *window, [32, 32], mode))
        ten = t.apply(_tensor(img), CropParams(*window, mode))
        diff = np.abs(ten.permute(1, 2, 0).numpy().astype(float) - np.asarray(ours, dtype=float))
        assert diff.mean() <= 1.0


@pytest.mark.parametrize("longest", [0.0, 1.0, 0.3])
def test_resize_keep_ratio_equals_reference(longest):
    img = make_image(5, (70, 40))
    ref = timm_tf.ResizeKeepRatio((32, 45), longest=longest, interpolation="bicubic")
    ours = T.ResizeKeepRatio((32, 45), longest=longest, interpolation="bicubic")
    _eq(ours(img), ref(img))
    assert repr(ours) == repr(ref)


def test_interpolation_helpers_match_reference():
    for name in ("nearest", "bilinear", "bicubic", "box", "hamming", "lanczos"):
        assert T.str_to_interp_mode(name) == timm_tf.str_to_interp_mode(name)
        assert T.str_to_pil_interp(name) == timm_tf.str_to_pil_interp(name)
        assert T.interp_mode_to_str(T.str_to_interp_mode(name)) == name
    with pytest.raises(ValueError, match="random"):
        T.str_to_interp_mode("random")


def test_conversions_equal_reference():
    img = make_image(6, (20, 10))
    _eq(T.ToNumpy()(img), timm_tf.ToNumpy()(img))
    _eq(T.ToNumpy()(img.convert("L")), timm_tf.ToNumpy()(img.convert("L")))
    assert torch.equal(T.ToTensor()(img), timm_tf.ToTensor()(img))
    assert torch.equal(T.MaybeToTensor()(img), timm_tf.MaybeToTensor()(img))
    assert torch.equal(T.MaybePILToTensor()(img), timm_tf.MaybePILToTensor()(img))


# -------------------------------------------------------------------------------------------------- factory

REPR_CONFIGS = [
    dict(input_size=224, is_training=True),
    dict(input_size=224),
    dict(input_size=224, use_prefetcher=True),
    dict(input_size=224, is_training=True, use_prefetcher=True),
    dict(input_size=224, is_training=True, no_aug=True),
    dict(input_size=(3, 224, 224), is_training=True, no_aug=True, use_prefetcher=True),
    dict(input_size=224, is_training=True, interpolation="random", re_prob=0.25, re_mode="pixel"),
    dict(input_size=224, is_training=True, train_crop_mode="rkrc"),
    dict(input_size=224, is_training=True, train_crop_mode="rkrr", scale=(0.5, 1.0)),
    dict(input_size=224, crop_pct=0.95, interpolation="bicubic"),
    dict(input_size=(3, 224, 320)),
    dict(input_size=224, crop_mode="squash", crop_pct=1.0, interpolation="bicubic"),
    dict(input_size=224, crop_mode="border", interpolation="bicubic"),
    dict(input_size=224, crop_border_pixels=2),
    dict(input_size=224, is_training=True, normalize=False, color_jitter=None, hflip=0.0),
    dict(input_size=224, is_training=True, color_jitter=0),
    dict(
        input_size=224,
        is_training=True,
        color_jitter=(0.4, 0.4, 0.2, 0.1),
        color_jitter_prob=0.8,
        grayscale_prob=0.2,
        gaussian_blur_prob=0.5,
        vflip=0.5,
    ),
    dict(input_size=(3, 192, 256), is_training=True, re_prob=0.5, re_count=3, re_num_splits=2),
    # a list input_size: the reference's crops print size=[H, W] (a tuple or an int prints (H, W))
    dict(input_size=[3, 224, 224], crop_pct=0.9),
    dict(input_size=[3, 224, 320]),
    dict(input_size=[224, 224]),
    dict(input_size=(3, 224, 224), crop_pct=0.9),
    dict(input_size=[3, 224, 224], crop_mode="squash", crop_pct=1.0),
    dict(input_size=[3, 224, 224], crop_mode="border"),
    dict(input_size=[3, 224, 224], crop_border_pixels=2, use_prefetcher=True),
    dict(input_size=[3, 224, 224], is_training=True),
    dict(input_size=[3, 224, 224], is_training=True, no_aug=True),
    dict(input_size=[3, 192, 256], is_training=True, train_crop_mode="rkrc"),
    dict(input_size=[3, 224, 224], is_training=True, train_crop_mode="rkrr"),
]


@pytest.mark.parametrize("cfg", REPR_CONFIGS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_create_transform_repr_equals_reference(cfg):
    assert repr(create_transform(**cfg)) == repr(timm_data.create_transform(**cfg))


@pytest.mark.parametrize("size", [[30, 60], (30, 60), 30, [30], (30,)])
def test_crop_class_reprs_equal_reference(size):
    # only the repr follows the argument's type: the size used is always the checked (height, width) tuple
    pairs = [
        (T.CenterCrop, TVT.CenterCrop),  # the reference's factory uses torchvision's
        (T.CenterCropOrPad, timm_tf.CenterCropOrPad),
        (T.RandomCropOrPad, timm_tf.RandomCropOrPad),
    ]
    for ours_cls, ref_cls in pairs:
        ours = ours_cls(size)
        assert repr(ours) == repr(ref_cls(size)), ours_cls
        assert isinstance(ours.size, tuple) and len(ours.size) == 2


def test_separate_repr_equals_reference():
    cfg = dict(input_size=224, is_training=True, separate=True, re_prob=0.25, color_jitter=0.3)
    ours, ref = create_transform(**cfg), timm_data.create_transform(**cfg)
    assert isinstance(ours, tuple) and len(ours) == 3
    assert [repr(x) for x in ours] == [repr(x) for x in ref]


def test_eval_non_square_honours_interpolation():
    # deliberate difference: the reference prints (and uses) bilinear here
    ours = repr(create_transform((3, 224, 320), interpolation="bicubic"))
    assert "ResizeKeepRatio(size=(256, 365), interpolation=bicubic" in ours


EVAL_CONFIGS = [
    dict(input_size=32),
    dict(input_size=32, crop_pct=0.95, interpolation="bicubic"),
    dict(input_size=(3, 24, 36)),
    dict(input_size=32, crop_mode="squash", crop_pct=1.0),
    dict(input_size=32, crop_mode="border", interpolation="bicubic"),
    dict(input_size=(3, 24, 36), crop_mode="border"),
    dict(input_size=32, crop_border_pixels=2),
    dict(input_size=32, is_training=True, no_aug=True),
    dict(input_size=32, normalize=True),
]


@pytest.mark.parametrize("cfg", EVAL_CONFIGS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
@pytest.mark.parametrize("wh", [(60, 45), (37, 70)])
def test_eval_outputs_equal_reference_on_pil(cfg, wh):
    img = make_image(7, wh)
    ours = create_transform(**cfg, use_prefetcher=not cfg.get("normalize"), backend="pil")(img)
    ref = timm_data.create_transform(**cfg, use_prefetcher=not cfg.get("normalize"))(img)
    assert ours.dtype == ref.dtype and ours.shape == ref.shape
    if ours.dtype == torch.uint8:
        assert torch.equal(ours, ref)
    else:
        torch.testing.assert_close(ours, ref, rtol=0, atol=1e-6)


def test_resize_keep_ratio_random_sizes_match_reference_distribution():
    img = make_image(8, (64, 48))
    kw = dict(
        random_scale_prob=0.5,
        random_scale_range=(0.8, 1.0),
        random_scale_area=True,
        random_aspect_prob=0.5,
        random_aspect_range=(0.9, 1 / 0.9),
    )
    n = 2000
    random.seed(0)
    ref = np.array([timm_tf.ResizeKeepRatio.get_params(img, (40, 40), 0.0, **kw) for _ in range(n)])
    rng = np.random.default_rng(0)
    ours = np.array([T.ResizeKeepRatio.get_params(img, (40, 40), 0.0, **kw, rng=rng) for _ in range(n)])
    for j in range(2):
        d = ks_statistic(ref[:, j].astype(float), ours[:, j].astype(float))
        assert d < ks_critical(n, n), f"axis {j}: KS {d:.4f}"
