"""Fuzzing every transform on random image sizes (1x1 to 300 px, odd aspect ratios, 1 and 3 channels).

Each transform runs on PIL images and on ``uint8`` ``(C, H, W)`` tensors drawn by hypothesis. The
properties: no exception but the documented ones, the output has the expected kind, size and dtype,
``uint8`` stays ``uint8`` (so in 0..255), floats are finite, and the input is never modified.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from _fuzz import check_float, check_image, fuzz_settings, hw, image_sizes, images
from pixelpipe.augment import (
    AugmentOp,
    augment_and_mix_transform,
    auto_augment_transform,
    rand_augment_transform,
)
from pixelpipe.augment.policies import AA_POLICY_NAMES
from pixelpipe.augment.registry import OP_NAMES
from pixelpipe.batch import FastCollateMixup, Mixup
from pixelpipe.factories import create_transform
from pixelpipe.io import EncodedImage
from pixelpipe.transforms import (
    CenterCrop,
    CenterCropOrPad,
    ColorJitter,
    DecodeRandomResizedCrop,
    GaussianBlur,
    MaybePILToTensor,
    MaybeToTensor,
    Normalize,
    RandomCropOrPad,
    RandomErasing,
    RandomGrayscale,
    RandomHorizontalFlip,
    RandomPad,
    RandomResizedCropAndInterpolation,
    RandomVerticalFlip,
    Resize,
    ResizeKeepRatio,
    ToNumpy,
    ToTensor,
    TrimBorder,
)
from pixelpipe.transforms.decode_crop import fuse_decode

SEEDS = st.integers(0, 2**32 - 1)
INTERPOLATIONS = st.sampled_from(["bilinear", "bicubic", "nearest", "box", "hamming", "lanczos"])

pytestmark = pytest.mark.fuzz


def _snapshot(img):
    return img.tobytes() if isinstance(img, Image.Image) else img.clone()


def _unchanged(img, snap) -> bool:
    return img.tobytes() == snap if isinstance(img, Image.Image) else torch.equal(img, snap)


# --- augmentation ops -----------------------------------------------------------------------------------


@st.composite
def op_hparams(draw):
    hp: dict = {}
    if draw(st.booleans()):
        hp["magnitude_std"] = draw(st.sampled_from([0.0, 0.5, 3.0, math.inf]))
    if draw(st.booleans()):
        hp["magnitude_max"] = draw(st.sampled_from([None, 0, 5, 10, 20, 40]))
    if draw(st.booleans()):
        hp["img_mean"] = draw(st.sampled_from([(124, 116, 104), 0, 255, (0,), (10, 20, 30, 40)]))
    if draw(st.booleans()):
        hp["interpolation"] = draw(st.sampled_from(["nearest", "bilinear", "bicubic", "random"]))
    if draw(st.booleans()):
        hp["translate_const"] = draw(st.sampled_from([0, 1, 100, 250, 10_000]))
    if draw(st.booleans()):
        hp["translate_pct"] = draw(st.sampled_from([0.0, 0.3, 0.45, 2.0]))
    return hp


@fuzz_settings(250)
@given(
    st.sampled_from(OP_NAMES),
    st.floats(0, 40, allow_nan=False),
    op_hparams(),
    images(max_side=96),
    SEEDS,
)
def test_every_op_any_size_both_backends(name, magnitude, hparams, img, seed):
    op = AugmentOp(name, prob=1.0, magnitude=magnitude, hparams=hparams)
    snap = _snapshot(img)
    out = op(img, rng=np.random.default_rng(seed))
    check_image(out, img)
    assert hw(out) == hw(img)  # ops keep the size
    assert _unchanged(img, snap)


@fuzz_settings(60)
@given(
    st.sampled_from(
        [
            "rand-m9-mstd0.5-inc1",
            "rand-m9-n3-mstd0.5",
            "rand-m15-mmax20-n4-p1",
            "rand-m10-mstd101-inc1",
            "rand-t3aw-n3-m9",
            "rand-tweights-p1",
            "rand-t3a-m9-inc1-p1",
        ]
    ),
    images(max_side=200),
    SEEDS,
)
def test_rand_augment_any_size(config_str, img, seed):
    hparams = {"translate_const": int(0.45 * min(hw(img))), "img_mean": (124, 116, 104)}
    out = rand_augment_transform(config_str, hparams)(img, rng=np.random.default_rng(seed))
    check_image(out, img)
    assert hw(out) == hw(img)


@fuzz_settings(40)
@given(st.sampled_from(AA_POLICY_NAMES), st.sampled_from(["", "-mstd0.5", "-mstd10"]), images(200), SEEDS)
def test_auto_augment_any_size(policy, suffix, img, seed):
    out = auto_augment_transform(policy + suffix)(img, rng=np.random.default_rng(seed))
    check_image(out, img)
    assert hw(out) == hw(img)


@fuzz_settings(40)
@given(
    st.sampled_from(
        ["augmix-m3-w3", "augmix-m5-w2-d1-b1", "augmix-m9-w4-d3-a0.5", "augmix-m1-w1-d0-mstd0.5"]
    ),
    images(max_side=160),
    SEEDS,
)
def test_augmix_any_size(config_str, img, seed):
    out = augment_and_mix_transform(config_str, {"translate_pct": 0.3})(img, rng=np.random.default_rng(seed))
    check_image(out, img)
    assert hw(out) == hw(img)


# --- crops, resizes, pads ---------------------------------------------------------------------------------


@st.composite
def out_sizes(draw):
    return draw(st.one_of(st.integers(1, 64), st.tuples(st.integers(1, 64), st.integers(1, 64))))


def _pair(size) -> tuple[int, int]:
    return (size, size) if isinstance(size, int) else tuple(size)


@fuzz_settings(150)
@given(
    out_sizes(),
    st.tuples(st.floats(0.0, 1.5), st.floats(0.0, 1.5)).map(sorted),
    st.tuples(st.floats(0.05, 20), st.floats(0.05, 20)).map(sorted),
    st.one_of(INTERPOLATIONS, st.just("random")),
    images(),
    SEEDS,
)
def test_random_resized_crop(size, scale, ratio, interpolation, img, seed):
    t = RandomResizedCropAndInterpolation(
        size, scale=tuple(scale), ratio=tuple(ratio), interpolation=interpolation
    )
    snap = _snapshot(img)
    out = t(img, rng=np.random.default_rng(seed))
    check_image(out, img)
    assert hw(out) == _pair(size)
    assert _unchanged(img, snap)


@fuzz_settings(120)
@given(
    out_sizes(),
    st.floats(0.0, 1.0),
    st.floats(0.0, 1.0),
    st.tuples(st.floats(0.05, 3.0), st.floats(0.05, 3.0)).map(sorted),
    st.booleans(),
    st.floats(0.0, 1.0),
    st.tuples(st.floats(0.2, 5.0), st.floats(0.2, 5.0)).map(sorted),
    images(),
    SEEDS,
)
def test_resize_keep_ratio(size, longest, scale_p, scale_range, area, aspect_p, aspect_range, img, seed):
    t = ResizeKeepRatio(
        size,
        longest=longest,
        random_scale_prob=scale_p,
        random_scale_range=tuple(scale_range),
        random_scale_area=area,
        random_aspect_prob=aspect_p,
        random_aspect_range=tuple(aspect_range),
    )
    out = t(img, rng=np.random.default_rng(seed))
    check_image(out, img)


@fuzz_settings(120)
@given(out_sizes(), st.sampled_from(["constant", "edge", "reflect", "symmetric"]), images(), SEEDS)
def test_crops_and_pads(size, padding_mode, img, seed):
    rng = np.random.default_rng(seed)
    target = _pair(size)
    for t in (
        CenterCrop(size),
        CenterCropOrPad(size, fill=(1, 2, 3)[: _channels(img)]),
        RandomCropOrPad(size),
    ):
        out = t(img, rng=rng)
        check_image(out, img)
        assert hw(out) == target, t
    if padding_mode != "reflect" or min(hw(img)) > 1:  # reflect padding needs 2 pixels (torch and numpy)
        out = RandomCropOrPad(size, padding_mode=padding_mode)(img, rng=rng)
        assert hw(out) == target
    out = RandomPad(size)(img, rng=rng)
    assert hw(out) == tuple(max(a, b) for a, b in zip(hw(img), target, strict=True))
    border = int(rng.integers(0, 5))
    out = TrimBorder(border)(img)
    assert hw(out) == tuple(max(1, s - 2 * border) for s in hw(img))


def _channels(img) -> int:
    return len(img.getbands()) if isinstance(img, Image.Image) else int(img.shape[0])


@fuzz_settings(100)
@given(
    st.one_of(st.integers(1, 64), st.tuples(st.integers(1, 64), st.integers(1, 64))), INTERPOLATIONS, images()
)
def test_resize(size, interpolation, img):
    out = Resize(size, interpolation=interpolation)(img)
    check_image(out, img)
    if isinstance(size, tuple):
        assert hw(out) == size
    else:
        assert min(hw(out)) == size or max(hw(img)) * size < min(hw(img))  # long side may truncate to 0


# --- colour, flips, conversion, erasing ---------------------------------------------------------------------


@fuzz_settings(80)
@given(
    st.floats(0, 2),
    st.floats(0, 2),
    st.floats(0, 2),
    st.floats(0, 0.5),
    st.floats(0, 1),
    st.sampled_from([1, 3, 5, 23]),
    images(max_side=128),
    SEEDS,
)
def test_colour_and_flips(b, c, s, h, p, kernel, img, seed):
    rng = np.random.default_rng(seed)
    transforms = [
        ColorJitter(b, c, s, h),
        RandomGrayscale(p),
        GaussianBlur(kernel, sigma=(0.1, 2.0)),
        RandomHorizontalFlip(p),
        RandomVerticalFlip(p),
    ]
    for t in transforms:
        if isinstance(t, ColorJitter) and _channels(img) == 1 and h > 0:
            continue  # hue needs colour (torchvision refuses greyscale), a documented TypeError
        out = t(img, rng=rng)
        check_image(out, img)
        assert hw(out) == hw(img), t


@fuzz_settings(80)
@given(images())
def test_conversions(img):
    c = _channels(img)
    h, w = hw(img)
    out = MaybeToTensor()(img)
    check_float(out, 0.0, 1.0)
    assert tuple(out.shape) == (c, h, w)
    out = MaybePILToTensor()(img)
    assert out.dtype == torch.uint8 and tuple(out.shape) == (c, h, w)
    out = ToTensor()(img)
    check_float(out, 0.0, 255.0)
    arr = ToNumpy()(img)
    assert arr.dtype == np.uint8 and arr.shape == (c, h, w)
    out = Normalize(mean=(0.5,) * c, std=(0.25,) * c)(MaybeToTensor()(img))
    check_float(out, -2.0, 2.0)


@fuzz_settings(120)
@given(
    st.floats(0, 1),
    st.tuples(st.floats(0.001, 1.5), st.floats(0.001, 1.5)).map(sorted),
    st.floats(0.05, 1.0),
    st.sampled_from(["const", "rand", "pixel"]),
    st.integers(1, 4),
    st.integers(1, 4),
    st.sampled_from(["auto", "masks", "slices"]),
    st.booleans(),
    images(backends=("tensor",)),
    SEEDS,
)
def test_random_erasing(p, area, min_aspect, mode, min_count, extra, paste, batched, img, seed):
    t = RandomErasing(
        p,
        min_area=area[0],
        max_area=area[1],
        min_aspect=min_aspect,
        mode=mode,
        min_count=min_count,
        max_count=min_count + extra - 1,
        num_splits=2 if batched else 0,
        device="cpu",
        paste=paste,
    )
    x = (img.float() - 127.5) / 64.0
    x = torch.stack([x, x.flip(-1), x]) if batched else x
    snap = x.clone()
    out = t(x, rng=np.random.default_rng(seed))
    check_float(out)
    assert out.shape == x.shape and torch.equal(x, snap)
    if mode == "const":  # uint8 images can be erased with zeros
        out = t(img, rng=np.random.default_rng(seed))
        assert out.dtype == torch.uint8 and out.shape == img.shape


# --- whole pipelines ---------------------------------------------------------------------------------------


@st.composite
def train_args(draw):
    args = {
        "input_size": draw(st.one_of(st.integers(1, 48), st.tuples(st.integers(1, 48), st.integers(1, 48)))),
        "is_training": True,
        "hflip": draw(st.sampled_from([0.0, 0.5, 1.0])),
        "vflip": draw(st.sampled_from([0.0, 0.5])),
        "color_jitter": draw(st.sampled_from([None, 0.0, 0.4, (0.4, 0.4, 0.4, 0.1)])),
        "interpolation": draw(st.sampled_from(["bilinear", "bicubic", "random"])),
        "train_crop_mode": draw(st.sampled_from([None, "rrc", "rkrc", "rkrr"])),
        "auto_augment": draw(
            st.sampled_from(
                [None, "rand-m9-mstd0.5-inc1", "augmix-m3-w2-d1", "v0r-mstd0.5", "3a", "rand-m9-t3a"]
            )
        ),
        "grayscale_prob": draw(st.sampled_from([0.0, 0.5])),
        "gaussian_blur_prob": draw(st.sampled_from([0.0, 0.5])),
        "re_prob": draw(st.sampled_from([0.0, 0.5, 1.0])),
        "re_mode": draw(st.sampled_from(["const", "rand", "pixel"])),
        "re_count": draw(st.integers(0, 3)),
        "use_prefetcher": draw(st.booleans()),
    }
    if draw(st.booleans()):
        args["scale"] = (0.08, 1.0)
        args["ratio"] = (0.5, 2.0)
    return args


@fuzz_settings(60)
@given(train_args(), images(channels=(3,)), SEEDS)
def test_create_transform_train(args, img, seed):
    tf = create_transform(**args)
    _check_pipeline_output(tf(img, rng=np.random.default_rng(seed)), args)


@fuzz_settings(60)
@given(
    st.one_of(st.integers(1, 48), st.tuples(st.integers(1, 48), st.integers(1, 48))),
    st.sampled_from([None, 0.0, 0.5, 0.875, 1.0, 1.3]),
    st.sampled_from([None, "center", "squash", "border", "unknown"]),
    st.sampled_from([None, 0, 2]),
    st.sampled_from(["bilinear", "bicubic", "nearest"]),
    st.booleans(),
    st.booleans(),
    images(channels=(3,)),
)
def test_create_transform_eval(size, crop_pct, crop_mode, border, interpolation, prefetch, no_aug, img):
    args = {
        "input_size": size,
        "crop_pct": crop_pct,
        "crop_mode": crop_mode,
        "crop_border_pixels": border,
        "interpolation": interpolation,
        "use_prefetcher": prefetch,
    }
    if no_aug:  # the no-augmentation training pipeline takes only size, interpolation and the tail args
        args = {"input_size": size, "is_training": True, "no_aug": True, "interpolation": interpolation}
        args["use_prefetcher"] = prefetch
    tf = create_transform(**args)
    _check_pipeline_output(tf(img), args)


def _check_pipeline_output(out, args) -> None:
    size = _pair(args["input_size"])
    assert tuple(out.shape) == (3, *size)
    if args.get("use_prefetcher"):
        assert out.dtype == torch.uint8
    else:
        check_float(out)


@fuzz_settings(30)
@given(train_args(), images(channels=(1,), backends=("pil",)), SEEDS)
def test_create_transform_train_greyscale(args, img, seed):
    """Greyscale PIL input through the uint8 pipelines (``input_img_mode='L'``)."""
    args = {**args, "use_prefetcher": True, "color_jitter": None}
    if args["auto_augment"] and "3a" in args["auto_augment"]:
        args["auto_augment"] = None  # 3-Augment keeps ColorJitter; covered on RGB above
    out = create_transform(**args)(img, rng=np.random.default_rng(seed))
    assert out.dtype == torch.uint8 and tuple(out.shape) == (1, *_pair(args["input_size"]))


# --- decode-and-crop on random sizes -------------------------------------------------------------------


@fuzz_settings(60)
@given(
    out_sizes(),
    st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0)).map(sorted),
    st.sampled_from(["RGB", "L"]),
    st.booleans(),
    st.sampled_from(["tensor", "pil"]),
    st.integers(0, 2),
    images(backends=("pil",)),
    SEEDS,
)
def test_decode_random_resized_crop(size, scale, mode, reduced, output, upscale, img, seed):
    if upscale:  # big enough for the reduced-scale (DCT) decode
        img = img.resize((img.width * 8, img.height * 8), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=85)
    data = buf.getvalue()
    t = DecodeRandomResizedCrop(size, scale=tuple(scale), mode=mode, reduced_decode=reduced, output=output)
    out = t(data, rng=np.random.default_rng(seed))
    if output == "pil":
        assert isinstance(out, Image.Image) and out.mode == mode and hw(out) == _pair(size)
    else:
        assert out.dtype == torch.uint8 and tuple(out.shape) == (len(mode), *_pair(size))
    pipe = fuse_decode(create_transform(size, is_training=True, use_prefetcher=True))
    out = pipe(EncodedImage(data, "RGB", "x.jpg", 0), rng=np.random.default_rng(seed))
    assert out.dtype == torch.uint8 and tuple(out.shape) == (3, *_pair(size))


# --- Mixup / CutMix on random batch shapes ---------------------------------------------------------------


@fuzz_settings(60)
@given(
    st.integers(1, 4).map(lambda n: 2 * n),
    st.sampled_from([1, 3]),
    image_sizes(max_side=40),
    st.sampled_from(["batch", "pair", "elem", "half"]),
    st.sampled_from([(1.0, 0.0, None), (0.0, 1.0, None), (0.8, 1.0, None), (0.0, 0.0, (0.2, 0.8))]),
    st.floats(0, 1),
    st.floats(0, 1),
    st.sampled_from([torch.float32, torch.uint8]),
    SEEDS,
)
def test_mixup_random_batches(batch, channels, size, mode, alphas, prob, smoothing, dtype, seed):
    mixup_alpha, cutmix_alpha, minmax = alphas
    kwargs = dict(
        mixup_alpha=mixup_alpha,
        cutmix_alpha=cutmix_alpha,
        cutmix_minmax=minmax,
        prob=prob,
        mode=mode,
        label_smoothing=smoothing,
        num_classes=5,
    )
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(rng.integers(0, 256, (batch, channels, *size), dtype=np.uint8)).to(dtype)
    target = torch.from_numpy(rng.integers(0, 5, batch))
    out, soft = Mixup(**kwargs)(x, target, rng=rng)
    rows = batch // 2 if mode == "half" else batch
    assert out.shape == (rows, channels, *size) and out.dtype == dtype
    assert soft.shape == (rows, 5) and bool(torch.isfinite(soft).all())
    assert torch.allclose(soft.sum(1), torch.ones(rows), atol=1e-5)
    if dtype.is_floating_point:
        check_float(out, 0.0, 255.0)
    samples = [(x[i].to(torch.uint8).numpy(), int(target[i])) for i in range(batch)]
    out, soft = FastCollateMixup(**kwargs)(samples)
    assert out.dtype == torch.uint8 and out.shape == (rows, channels, *size)
    assert torch.allclose(soft.sum(1), torch.ones(rows), atol=1e-5)
