"""RandomErasing: box distribution against the reference (KS test), modes, counts, num_splits, batch path
equal to the per-image path, reproducibility and devices."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch

from _stats import ks_critical, ks_statistic
from pixelpipe.errors import ConfigError
from pixelpipe.rng import use_rng
from pixelpipe.transforms import RandomErasing
from pixelpipe.transforms.erasing import ErasingParams


def _our_boxes(t: RandomErasing, shape, n_batches: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = torch.empty(shape)
    out = []
    for _ in range(n_batches):
        p = t.make_params(x, rng)
        out.append(p.boxes[p.valid][:, 2:])
    return np.concatenate(out)


@pytest.mark.parametrize("count", [(1, 1), (3, 3), (1, 4)])
def test_box_sizes_match_reference(count, monkeypatch):
    rer = pytest.importorskip("timm.data.random_erasing")
    sizes = []

    def record(per_pixel, rand_color, patch_size, dtype=torch.float32, device="cpu"):
        sizes.append(patch_size[1:])
        return torch.zeros((patch_size[0], 1, 1), dtype=dtype)

    monkeypatch.setattr(rer, "_get_pixels", record)
    kw = dict(probability=0.7, min_count=count[0], max_count=count[1], device="cpu")
    ref = rer.RandomErasing(**kw)
    random.seed(0)
    batch = torch.zeros(200, 3, 20, 36)
    for _ in range(10):
        ref(batch)
    ref_hw = np.array(sizes, dtype=float)
    ours_hw = _our_boxes(RandomErasing(**kw), (200, 3, 20, 36), 10).astype(float)
    n, m = len(ref_hw), len(ours_hw)
    assert abs(n - m) < 4 * math.sqrt(n) + 10, (n, m)  # same number of boxes (gate, count, rejections)
    crit = ks_critical(n, m)
    for j, name in enumerate(["height", "width"]):
        d = ks_statistic(ref_hw[:, j], ours_hw[:, j])
        assert d < crit, f"{name}: KS {d:.4f} >= {crit:.4f}"
    assert (ours_hw[:, 0] < 20).all() and (ours_hw[:, 1] < 36).all()  # strictly smaller than the image


def test_counts_are_uniform_and_boxes_inside():
    t = RandomErasing(probability=1.0, max_count=3, device="cpu")
    p = t.make_params(torch.empty(3000, 3, 30, 40), np.random.default_rng(1))
    counts = np.bincount(p.valid.sum(1), minlength=4)
    assert counts[0] < 30  # only when all 10 attempts fail
    assert np.all(np.abs(counts[1:] / 3000 - 1 / 3) < 0.04)
    top, left, h, w = p.boxes[p.valid].T
    assert (top >= 0).all() and (top + h <= 30).all() and (left >= 0).all() and (left + w <= 40).all()


def test_const_mode_zeros_boxes_and_keeps_input():
    x = torch.ones(3, 30, 40)
    t = RandomErasing(probability=1.0, device="cpu")
    p = t.make_params(x, np.random.default_rng(0))
    out = t.apply(x, p)
    top, left, h, w = (int(v) for v in p.boxes[0, 0])
    assert (out[:, top : top + h, left : left + w] == 0).all()
    assert int((out == 0).sum()) == 3 * h * w
    assert (x == 1).all()


def test_rand_mode_one_colour_per_box_and_channel():
    x = torch.full((3, 30, 40), 9.0)
    t = RandomErasing(probability=1.0, mode="rand", device="cpu")
    p = t.make_params(x, np.random.default_rng(2))
    out = t.apply(x, p)
    top, left, h, w = (int(v) for v in p.boxes[0, 0])
    box = out[:, top : top + h, left : left + w].reshape(3, -1)
    assert (box == box[:, :1]).all() and (box != 9.0).all()


def test_pixel_mode_is_per_pixel_normal_noise():
    x = torch.full((4, 3, 60, 60), 9.0)
    out = RandomErasing(probability=1.0, mode="pixel", min_area=0.2, max_area=0.3, device="cpu")(
        x, rng=np.random.default_rng(3)
    )
    noise = out[out != 9.0]
    assert noise.numel() > 1000
    assert abs(float(noise.mean())) < 0.1 and abs(float(noise.std()) - 1.0) < 0.1


def test_num_splits_skips_the_clean_split():
    x = torch.ones(8, 3, 16, 16)
    out = RandomErasing(probability=1.0, num_splits=2, device="cpu")(x, rng=np.random.default_rng(0))
    assert (out[:4] == 1).all()
    assert all((out[i] == 0).any() for i in range(4, 8))


@pytest.mark.parametrize("mode", ["const", "rand", "pixel"])
def test_batch_path_equals_per_image_path_given_same_boxes(mode):
    x = torch.randn(6, 3, 24, 32)
    t = RandomErasing(probability=0.8, mode=mode, max_count=3, device="cpu")
    p = t.make_params(x, np.random.default_rng(4))
    batch = t.apply(x, p)
    # const: every image; noise modes: the first image draws the same noise from the same seed
    images = range(6) if mode == "const" else range(1)
    for i in images:
        single = t.apply(x[i], ErasingParams(p.boxes[i : i + 1], p.valid[i : i + 1], p.seed))
        assert torch.equal(single, batch[i])


def test_same_seed_same_output_and_inplace():
    x = torch.randn(4, 3, 20, 20)
    t = RandomErasing(probability=1.0, mode="pixel", device="cpu")
    with use_rng(11):
        a = t(x)
    with use_rng(11):
        b = t(x)
    assert torch.equal(a, b) and not torch.equal(a, x)
    y = x.clone()
    out = RandomErasing(probability=1.0, device="cpu", inplace=True)(y, rng=np.random.default_rng(0))
    assert out is y and not torch.equal(y, x)


def test_uint8_const_works_and_noise_needs_float():
    x = torch.full((3, 20, 20), 200, dtype=torch.uint8)
    out = RandomErasing(probability=1.0, device="cpu")(x, rng=np.random.default_rng(0))
    assert out.dtype == torch.uint8 and (out == 0).any()
    with pytest.raises(TypeError, match="float"):
        RandomErasing(probability=1.0, mode="pixel", device="cpu")(x, rng=np.random.default_rng(0))


def test_invalid_arguments_raise_config_error():
    with pytest.raises(ConfigError, match="mode"):
        RandomErasing(mode="blur")
    with pytest.raises(ConfigError, match="count"):
        RandomErasing(min_count=3, max_count=2)
    with pytest.raises(ConfigError, match="probability"):
        RandomErasing(probability=1.5)


def test_repr_matches_reference():
    rer = pytest.importorskip("timm.data.random_erasing")
    for kw in (dict(), dict(probability=0.25, mode="pixel", max_count=3), dict(mode="RAND", min_count=2)):
        assert repr(RandomErasing(**kw)) == repr(rer.RandomErasing(**kw))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("mode", ["const", "rand", "pixel"])
def test_runs_on_cuda(mode):
    x = torch.randn(8, 3, 32, 32, device="cuda")
    out = RandomErasing(probability=1.0, mode=mode)(x, rng=np.random.default_rng(0))
    assert out.device == x.device and not torch.equal(out, x)


@pytest.mark.parametrize("mode", ["const", "rand"])
def test_mask_and_slice_pasting_agree(mode):
    x = torch.randn(16, 3, 24, 32)
    kw = dict(probability=0.7, mode=mode, max_count=3, device="cpu")
    p = RandomErasing(**kw).make_params(x, np.random.default_rng(5))
    a = RandomErasing(**kw, paste="masks").apply(x, p)
    b = RandomErasing(**kw, paste="slices").apply(x, p)
    assert torch.equal(a, b) and not torch.equal(a, x)


def test_pixel_mode_masks_and_slices_erase_the_same_pixels():
    x = torch.full((8, 3, 24, 32), 9.0)
    kw = dict(probability=1.0, mode="pixel", max_count=2, device="cpu")
    p = RandomErasing(**kw).make_params(x, np.random.default_rng(6))
    a = RandomErasing(**kw, paste="masks").apply(x, p)
    b = RandomErasing(**kw, paste="slices").apply(x, p)
    assert torch.equal(a == 9.0, b == 9.0)


@pytest.mark.parametrize("mode", ["const", "rand", "pixel"])
def test_copy_and_in_place_agree_on_large_and_strided_batches(mode):
    """Large batches (fresh copies get huge-page advice), channels-last and sliced inputs."""
    kw = dict(probability=0.5, mode=mode, max_count=2, device="cpu")
    big = torch.randn(32, 3, 160, 160, generator=torch.Generator().manual_seed(7))  # 9.4 MiB
    for x in (big, big.to(memory_format=torch.channels_last), big[3:30, :, 5:150, 1:]):
        p = RandomErasing(**kw).make_params(x, np.random.default_rng(8))
        copied = RandomErasing(**kw).apply(x, p)
        y = x.clone()
        assert RandomErasing(**kw, inplace=True).apply(y, p) is y
        assert torch.equal(copied, y) and not torch.equal(copied, x)
        if mode != "pixel":
            assert torch.equal(RandomErasing(**kw, paste="masks").apply(x, p), copied)
