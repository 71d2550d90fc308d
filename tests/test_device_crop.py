"""Batched crop boxes and resized crops (pixelpipe.batch.crop) against the per-sample path."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision.transforms.v2.functional as TF

from _stats import ks_critical, ks_statistic
from conftest import make_image
from pixelpipe.batch.crop import FILTERS, center_crop_boxes, flip, resized_crop, sample_crop_boxes
from pixelpipe.errors import ConfigError
from pixelpipe.factories import create_transform
from pixelpipe.transforms import RandomResizedCropAndInterpolation
from pixelpipe.transforms import functional as F

SIZES = [(90, 120), (80, 100), (90, 60), (50, 120), (64, 64), (30, 40)]


def _padded(seed: int = 0, fill: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Textured images of SIZES in one padded batch (padding set to ``fill``)."""
    h_max, w_max = max(h for h, _ in SIZES), max(w for _, w in SIZES)
    out = torch.full((len(SIZES), 3, h_max, w_max), fill, dtype=torch.uint8)
    for i, (h, w) in enumerate(SIZES):
        out[i, :, :h, :w] = TF.pil_to_tensor(make_image(seed + i, size=(w, h)))
    return out, torch.tensor(SIZES)


def _per_sample(images, sizes, boxes, size, interp) -> torch.Tensor:
    outs = []
    for i in range(images.shape[0]):
        h, w = sizes[i].tolist()
        img = images[i, :, :h, :w]
        outs.append(F.resized_crop(img, *boxes[i].tolist(), size, interp))
    return torch.stack(outs)


@pytest.mark.parametrize("interp", FILTERS)
@pytest.mark.parametrize("size", [(32, 24), (150, 140)])
def test_resized_crop_matches_the_per_sample_path(interp: str, size: tuple[int, int]) -> None:
    images, sizes = _padded()
    boxes = sample_crop_boxes(sizes, generator=torch.Generator().manual_seed(1))
    got = resized_crop(images, boxes, size, interp)
    ref = _per_sample(images, sizes, boxes, size, interp)
    diff = (got.int() - ref.int()).abs()
    assert got.shape == (len(SIZES), 3, *size) and got.dtype == torch.uint8
    assert diff.max() <= 2 and diff.float().mean() <= 0.2  # box: PIL rounds its fixed-point weights


@pytest.mark.parametrize("interp", ["bilinear", "bicubic"])
def test_float_resized_crop_equals_torch_antialiased_resize(interp: str) -> None:
    images, sizes = _padded()
    boxes = sample_crop_boxes(sizes, generator=torch.Generator().manual_seed(2))
    got = resized_crop(images.float(), boxes, (40, 36), interp)
    mode = TF.InterpolationMode(interp)
    for i, (top, left, h, w) in enumerate(boxes.tolist()):
        window = images[i, :, top : top + h, left : left + w].float()
        ref = TF.resize(window, [40, 36], interpolation=mode, antialias=True)
        torch.testing.assert_close(got[i], ref, atol=2e-3, rtol=0)


def test_padding_is_never_read() -> None:
    zeros, sizes = _padded(fill=0)
    white, _ = _padded(fill=255)
    gen = torch.Generator().manual_seed(3)
    boxes = sample_crop_boxes(sizes, scale=(0.9, 1.0), generator=gen)
    for interp in ("bicubic", "lanczos"):
        assert torch.equal(resized_crop(zeros, boxes, 32, interp), resized_crop(white, boxes, 32, interp))


def test_flips_are_folded_into_the_weights() -> None:
    images, sizes = _padded()
    boxes = sample_crop_boxes(sizes, generator=torch.Generator().manual_seed(4))
    h = torch.tensor([True, False, True, False, True, False])
    v = torch.tensor([True, True, False, False, False, True])
    plain = resized_crop(images, boxes, (20, 30), "bicubic")
    assert torch.equal(resized_crop(images, boxes, (20, 30), "bicubic", hflip=h, vflip=v), flip(plain, h, v))


def test_per_sample_filters_select_each_samples_filter() -> None:
    images, sizes = _padded()
    boxes = sample_crop_boxes(sizes, generator=torch.Generator().manual_seed(5))
    ids = torch.tensor([1, 2, 1, 2, 2, 1])
    got = resized_crop(images, boxes, 24, ids, choices=(1, 2))
    for name, fid in (("bilinear", 1), ("bicubic", 2)):
        ref = resized_crop(images, boxes, 24, name)
        assert torch.equal(got[ids == fid], ref[ids == fid])


def test_bad_arguments_raise_config_errors() -> None:
    images, _ = _padded()
    with pytest.raises(ConfigError, match="boxes"):
        resized_crop(images, torch.zeros(2, 4), 8)
    with pytest.raises(ConfigError, match="interpolation"):
        resized_crop(images, torch.zeros(6, 4), 8, "cubic")
    with pytest.raises(ConfigError, match="sizes"):
        sample_crop_boxes(torch.tensor([1, 2]))


# --- box distribution ---------------------------------------------------------------------------------

KS_SIZES = [(375, 500), (500, 333), (40, 400), (100, 100)]


@pytest.mark.parametrize(("scale", "ratio"), [((0.08, 1.0), (3 / 4, 4 / 3)), ((0.5, 1.0), (0.2, 5.0))])
def test_box_distribution_matches_the_per_sample_sampler(scale, ratio) -> None:
    n = 3000
    sizes = torch.tensor(KS_SIZES).repeat_interleave(n, dim=0)
    boxes = sample_crop_boxes(sizes, scale, ratio, generator=torch.Generator().manual_seed(0)).numpy()
    rng = np.random.default_rng(0)
    for k, (height, width) in enumerate(KS_SIZES):
        img = torch.empty((1, height, width), dtype=torch.uint8)
        ref = np.array(
            [RandomResizedCropAndInterpolation.get_params(img, scale, ratio, rng) for _ in range(n)]
        )
        got = boxes[k * n : (k + 1) * n]
        assert (got[:, 0] + got[:, 2] <= height).all() and (got[:, 1] + got[:, 3] <= width).all()
        assert (got >= 0).all() and (got[:, 2:] > 0).all()
        for col in range(4):  # top, left, height, width
            assert ks_statistic(got[:, col], ref[:, col]) < ks_critical(n, n), (height, width, col)
        # the centre-crop fallback happens as often (it is exact: compare the rates)
        fb_got = np.mean((got[:, 0] == (height - got[:, 2]) // 2) & (got[:, 1] == (width - got[:, 3]) // 2))
        fb_ref = np.mean((ref[:, 0] == (height - ref[:, 2]) // 2) & (ref[:, 1] == (width - ref[:, 3]) // 2))
        assert abs(fb_got - fb_ref) < 0.05


def test_fallback_is_the_references_centre_crop() -> None:
    sizes = torch.tensor([[10, 400], [400, 10], [100, 100]])
    boxes = sample_crop_boxes(sizes, scale=(1.0, 1.0), ratio=(1.0, 1.0), generator=torch.Generator())
    assert boxes.tolist() == [[0, 195, 10, 10], [195, 0, 10, 10], [0, 0, 100, 100]]


# --- evaluation windows -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(),
        dict(crop_pct=0.95, interpolation="bicubic"),
        dict(crop_mode="squash"),
        dict(crop_border_pixels=3),
        dict(input_size=(3, 32, 40)),
    ],
)
def test_centre_crop_windows_match_the_eval_transform(kwargs) -> None:
    kwargs = dict(kwargs)
    input_size = kwargs.pop("input_size", (3, 32, 32))
    interp = kwargs.get("interpolation", "bilinear")
    tf = create_transform(input_size, use_prefetcher=True, **kwargs)
    images, sizes = _padded()
    boxes, bounds = center_crop_boxes(
        sizes,
        input_size[1:],
        kwargs.get("crop_pct"),
        kwargs.get("crop_mode"),
        kwargs.get("crop_border_pixels", 0),
    )
    got = resized_crop(images, boxes, input_size[1:], interp, bounds=bounds)
    ref = torch.stack([tf(images[i, :, :h, :w]) for i, (h, w) in enumerate(SIZES)])
    diff = (got.int() - ref.int()).abs()
    assert diff.max() <= 2 and diff.float().mean() <= 0.1
