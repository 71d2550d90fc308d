"""The uint8 tensor path of every op against the PIL path (which equals the reference)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import make_image
from pixelpipe.augment import functional_tensor as FT
from pixelpipe.augment.ops import OP_NAMES, AugmentOp
from pixelpipe.augment.registry import OPS

# Stated tolerance (see pixelpipe.augment.functional_tensor): point/histogram ops, blends and blur are exact
# on these images; resampling ops may differ by float rounding: mean |diff| <= 0.05 level (exact torch path,
# bicubic via Pillow), <= 0.25 level for bilinear on CPU (OpenCV, 1/32 px coordinate steps); max 1 level
# except at most 0.5 % of pixels. The bound is a mean of 1 level.
MEAN_TOL = 0.05
MEAN_TOL_CV2 = 0.25


def _to_tensor(img: Image.Image) -> torch.Tensor:
    arr = np.asarray(img)
    arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    return torch.from_numpy(arr.copy())


def _to_array(t: torch.Tensor) -> np.ndarray:
    arr = t.numpy()
    return arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0)


@pytest.mark.parametrize("mode", ["RGB", "L"])
@pytest.mark.parametrize("name", OP_NAMES)
def test_tensor_matches_pil(name, mode):
    img = make_image(7, (41, 33), mode)
    tensor = _to_tensor(img)
    before = tensor.clone()
    spec = OPS[name]
    interps = (Image.Resampling.NEAREST, Image.Resampling.BILINEAR, Image.Resampling.BICUBIC)
    for magnitude in (0, 1, 5, 9, 10):
        op = AugmentOp(name, 1.0, magnitude, {"translate_const": 15, "img_mean": (100, 150, 200)})
        rng = np.random.default_rng(magnitude)
        for _ in range(4 if spec.signed or spec.geometric else 1):
            params = op.make_params(tensor, rng)
            for interp in interps if spec.geometric else (None,):
                if interp is not None:
                    params = params._replace(interpolation=interp)
                expected = np.asarray(op.apply(img, params)).astype(int)
                got = op.apply(tensor, params)
                assert got.dtype == torch.uint8 and got.shape == tensor.shape
                diff = np.abs(_to_array(got).astype(int) - expected)
                tol = MEAN_TOL_CV2 if interp == Image.Resampling.BILINEAR else MEAN_TOL
                assert diff.mean() <= tol, (name, magnitude, params)
                assert (diff > 1).mean() <= 0.005, (name, magnitude, params)
                if not spec.geometric:
                    assert diff.max() == 0, (name, magnitude, params)
    assert torch.equal(tensor, before)


def test_batched_tensor_equals_per_image():
    imgs = torch.stack([_to_tensor(make_image(s, (20, 17))) for s in range(3)])
    rng = np.random.default_rng(0)
    for name in OP_NAMES:
        op = AugmentOp(name, 1.0, 7)
        params = op.make_params(imgs, rng)
        batched = op.apply(imgs, params)
        for i in range(len(imgs)):
            assert torch.equal(batched[i], op.apply(imgs[i], params)), name


def test_edge_cases():
    flat = torch.full((3, 5, 4), 77, dtype=torch.uint8)
    assert torch.equal(FT.auto_contrast(flat), flat)
    assert torch.equal(FT.equalize(flat), flat)
    assert not FT.posterize(flat, 0).any()
    assert torch.equal(FT.solarize(flat, 256), flat)
    assert torch.equal(FT.solarize(flat, 0), 255 - flat)
    tiny = torch.arange(4, dtype=torch.uint8).view(1, 2, 2)
    assert torch.equal(FT.sharpness(tiny, 1.5), tiny)
    with pytest.raises(TypeError, match="uint8"):
        FT.invert(torch.zeros(3, 4, 4))


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_exact_affine_path_matches_pil(mode):
    img = make_image(3, (41, 33), mode)
    tensor = _to_tensor(img)
    for matrix in [(1, 0, 1.5, 0, 1, -2.5), (1, 0.3, 0, 0, 1, 0), (0.96, 0.28, -4.0, -0.28, 0.96, 7.0)]:
        for interp, name in ((Image.Resampling.BILINEAR, "bilinear"), (Image.Resampling.BICUBIC, "bicubic")):
            fill = (100, 150, 200)
            expected = np.asarray(
                img.transform(
                    img.size,
                    Image.Transform.AFFINE,
                    matrix,
                    interp,
                    fillcolor=(fill if mode == "RGB" else 141),
                )
            ).astype(int)
            got = _to_array(FT._affine_exact(tensor, matrix, fill, name)).astype(int)
            assert np.abs(got - expected).mean() <= MEAN_TOL


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_fast_affine_border_matches_pil(mode):
    """The fill/inside decision of the OpenCV path is Pillow's (exact halves included)."""
    rng = np.random.default_rng(0)
    arr = rng.integers(10, 250, (30, 37, 3), dtype=np.uint8)
    img = Image.fromarray(arr, "RGB").convert(mode)
    tensor = _to_tensor(img)
    fill = (1, 2, 3)
    fill_l = 2  # luma of (1, 2, 3); the image has no value below 10
    for m in [
        (1, 0, 1.5, 0, 1, 0),
        (1, 0, 0, 0, 1, -2.5),
        (1, 0, 36.5, 0, 1, 0),
        (1, 0.5, -7.5, 0, 1, 0),
        (0.96, 0.28, -4.0, -0.28, 0.96, 7.0),
        (1, 0, 0, 0.25, 1, 0.5),
    ]:
        pil = np.asarray(
            img.transform(
                img.size,
                Image.Transform.AFFINE,
                m,
                Image.Resampling.BILINEAR,
                fillcolor=fill if mode == "RGB" else fill_l,
            )
        )
        got = _to_array(FT._affine(tensor, m, fill, "bilinear"))
        if mode == "RGB":
            assert np.array_equal((pil == fill).all(-1), (got == fill).all(-1)), m
        else:
            assert np.array_equal(pil == fill_l, got == fill_l), m
        assert np.abs(got.astype(int) - pil.astype(int)).max() <= 1, m


@pytest.mark.parametrize("mode", ["RGB", "L"])
@pytest.mark.parametrize("axis", ["x", "y"])
def test_translation_fast_path_matches_pil(mode, axis):
    """Translations along one axis skip the warp (two shifted views and one weight): same fill pixels as
    Pillow, at most 1 level off, a small mean (float32 instead of Pillow's float64)."""
    img = make_image(11, (37, 29), mode)
    tensor = _to_tensor(img)
    fill = (1, 2, 3)
    pil_fill = fill if mode == "RGB" else 2
    for shift in (0.0, 1.0, -1.0, 0.5, -0.5, 2.25, -3.75, 13.3, 28.5, 28.49, -36.6, 40.0, -90.0):
        m = (1, 0, shift, 0, 1, 0) if axis == "x" else (1, 0, 0, 0, 1, shift)
        pil = np.asarray(
            img.transform(img.size, Image.Transform.AFFINE, m, Image.Resampling.BILINEAR, fillcolor=pil_fill)
        )
        got = _to_array(FT._affine(tensor, m, fill, "bilinear"))
        if mode == "RGB":
            assert np.array_equal((pil == fill).all(-1), (got == fill).all(-1)), shift
        else:
            assert np.array_equal(pil == 2, got == 2), shift
        diff = np.abs(got.astype(int) - pil.astype(int))
        assert diff.max() <= 1 and diff.mean() <= MEAN_TOL, (shift, diff.mean())
