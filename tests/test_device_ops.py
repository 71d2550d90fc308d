"""Batched device ops (pixelpipe.batch.ops) against the per-sample PIL ops, which equal the reference.

Stated tolerances (see the module docstring of pixelpipe.batch.ops): every non-resampling op is identical
to Pillow; resampling ops (bilinear, bicubic) have a mean absolute difference <= 0.02 level and more than
1 level at under 0.1 % of pixels; nearest is identical to the per-sample tensor path and differs from Pillow
(whose nearest affine runs in 16.16 fixed point) only at sample points on a pixel boundary (< 0.1 %).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import make_image
from pixelpipe.augment import functional_pil as FP
from pixelpipe.augment import functional_tensor as FT
from pixelpipe.augment.ops import AugmentOp
from pixelpipe.augment.registry import OPS
from pixelpipe.batch import _sample
from pixelpipe.batch import ops as D

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.cuda),  # skipped without a GPU (conftest)
]
MEAN_TOL = 0.002
BIG_TOL = 0.001  # fraction of pixels more than 1 level off
FILL = (100, 150, 200)
INTERP = {0: Image.Resampling.NEAREST, 2: Image.Resampling.BILINEAR, 3: Image.Resampling.BICUBIC}


def _to_tensor(img: Image.Image) -> torch.Tensor:
    arr = np.asarray(img)
    arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    return torch.from_numpy(arr.copy())


def _to_array(t: torch.Tensor) -> np.ndarray:
    arr = t.cpu().numpy()
    return arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0)


def _batch(mode: str, n: int = 6, size: tuple[int, int] = (41, 33)) -> tuple[list[Image.Image], torch.Tensor]:
    imgs = [make_image(seed, size, mode) for seed in range(n)]
    return imgs, torch.stack([_to_tensor(i) for i in imgs])


def _draw_args(name: str, n: int, seed: int) -> list:
    """Per-sample arguments drawn by the per-sample op itself (various magnitudes and signs)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        op = AugmentOp(name, 1.0, float(rng.uniform(0, 10)) if i else 10.0, {"translate_const": 15})
        out.append(op.make_params(None, rng).arg)
    return out


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mode", ["RGB", "L"])
@pytest.mark.parametrize("name", list(OPS))
def test_batched_op_matches_pil(name, mode, device):
    spec = OPS[name]
    imgs, batch = _batch(mode)
    n = batch.shape[0]
    batch = batch.to(device)
    before = batch.clone()
    args = _draw_args(name, n, seed=len(name))
    mask = torch.tensor([i != 2 for i in range(n)], device=device)
    fn = getattr(D, spec.fn)
    codes = torch.tensor([(0, 2, 3)[i % 3] for i in range(n)], device=device)
    if spec.geometric:
        out = fn(batch, torch.tensor(args, dtype=torch.float64), FILL, codes, mask=mask)
    elif spec.level is None:
        out = fn(batch, mask=mask)
    else:
        out = fn(batch, torch.tensor(args, dtype=torch.float64), mask=mask)
    assert out.dtype == torch.uint8 and out.shape == batch.shape and out.device == batch.device
    assert torch.equal(batch, before), "the input was modified"
    assert torch.equal(out[2], batch[2]), "a masked-off sample changed"
    for i in range(n):
        if i == 2:
            continue
        pil_fn = getattr(FP, spec.fn)
        if spec.geometric:
            exp = pil_fn(imgs[i], args[i], FP.fill_for_mode(FILL, mode), INTERP[int(codes[i])])
        elif spec.level is None:
            exp = pil_fn(imgs[i])
        else:
            exp = pil_fn(imgs[i], args[i])
        diff = np.abs(_to_array(out[i]).astype(int) - np.asarray(exp).astype(int))
        if not spec.geometric:
            assert diff.max() == 0, (name, i, args[i])
        else:
            assert diff.mean() <= MEAN_TOL, (name, i, args[i], diff.mean())
            assert (diff > 1).mean() <= BIG_TOL, (name, i, args[i])


@pytest.mark.parametrize("kind", D.GEOMETRIC_KINDS)
def test_geometric_on_photos(kind, photos_dir):
    if photos_dir is None:
        pytest.skip("no photos")
    imgs = [
        Image.open(photos_dir / p).convert("RGB").resize((64, 48)) for p in ("astronaut.png", "coffee.png")
    ]
    batch = torch.stack([_to_tensor(i) for i in imgs])
    args = {"rotate": [23.0, -17.5], "shear_x": [0.27, -0.3], "shear_y": [-0.21, 0.3]}.get(kind, [0.31, -0.2])
    if kind in ("translate_x", "translate_y"):
        args = [17.3, -40.0]
    for code in (2, 3):
        out = getattr(D, kind)(
            batch, torch.tensor(args, dtype=torch.float64), FILL, INTERP[code].name.lower()
        )
        for i, img in enumerate(imgs):
            exp = getattr(FP, kind)(img, args[i], FILL, INTERP[code])
            diff = np.abs(_to_array(out[i]).astype(int) - np.asarray(exp).astype(int))
            assert diff.mean() <= MEAN_TOL and (diff > 1).mean() <= BIG_TOL, (kind, code, diff.mean())


def test_nearest_equals_per_sample_tensor_path():
    _, batch = _batch("RGB", 4)
    degrees = [13.0, -29.0, 7.5, 30.0]
    out = D.rotate(batch, torch.tensor(degrees), FILL, "nearest")
    for i, deg in enumerate(degrees):
        exp = FT._affine_exact(batch[i], _rotation(deg, *batch.shape[-2:]), FILL, "nearest")
        assert torch.equal(out[i], exp)


def _rotation(degrees: float, h: int, w: int) -> tuple[float, ...]:
    return tuple(D.affine_matrices("rotate", torch.tensor([degrees]), h, w)[0].tolist())


@pytest.mark.parametrize("device", DEVICES)
def test_identity_and_scalar_arguments(device):
    _, batch = _batch("RGB", 3)
    batch = batch.to(device)
    eye = D.affine_matrices("translate_x", torch.zeros(3), *batch.shape[-2:])
    for interp in ("nearest", "bilinear", "bicubic"):
        assert torch.equal(D.affine_batch(batch, eye, FILL, interp), batch)
    assert torch.equal(D.solarize(batch, 256), batch)
    assert torch.equal(D.posterize(batch, 8), batch)
    assert torch.equal(D.brightness(batch, 1.0), batch)
    assert torch.equal(D.gaussian_blur(batch, 0.0), batch)
    assert torch.equal(D.invert(batch, mask=torch.zeros(3, dtype=torch.bool, device=device)), batch)
    assert D.solarize(batch, 0).eq(255 - batch).all()


def test_gaussian_blur_radius_per_sample():
    imgs, batch = _batch("RGB", 4)
    radii = [0.1, 0.7, 1.33, 2.0]
    out = D.gaussian_blur(batch, torch.tensor(radii))
    for i, r in enumerate(radii):
        assert np.array_equal(_to_array(out[i]), np.asarray(FP.gaussian_blur(imgs[i], r)))


@pytest.mark.parametrize("size", [(2, 2), (1, 5), (3, 3), (7, 1)])
def test_tiny_images(size):
    imgs, batch = _batch("RGB", 2, size)
    for name in ("sharpness", "equalize", "auto_contrast", "contrast", "gaussian_blur"):
        args = () if name in ("equalize", "auto_contrast") else (torch.tensor([1.7, 0.3]),)
        out = getattr(D, name)(batch, *args)
        for i in range(2):
            exp = getattr(FP, name)(imgs[i], *(float(a[i]) for a in args))
            assert np.array_equal(_to_array(out[i]), np.asarray(exp)), (name, size)
    out = D.rotate(batch, torch.tensor([10.0, -10.0]), FILL, "bicubic")
    assert out.shape == batch.shape


def test_other_channel_counts():
    batch = torch.randint(0, 256, (3, 2, 9, 8), dtype=torch.uint8)
    assert torch.equal(D.solarize_add(batch, 50), batch)  # Pillow has no 2-band mode: unchanged
    assert torch.equal(D.color(batch[:, :1], 0.3), batch[:, :1])
    out = D.shear_x(batch, torch.tensor([0.3, -0.3, 0.1]), (10, 20), "bilinear")
    assert out.shape == batch.shape
    empty = torch.zeros(0, 3, 5, 5, dtype=torch.uint8)
    assert D.equalize(empty).shape == empty.shape
    assert D.rotate(empty, torch.zeros(0)).shape == empty.shape


def test_fill_vector_matches_per_sample_path():
    for fill, ch in [((128, 64, 0), 1), (7, 3), ((1, 2, 3), 3), ((1, 2, 3), 4), (200.4, 1)]:
        assert D.fill_vector(fill, ch).tolist() == FT._fill_vector(fill, ch).view(-1).tolist()


def test_bad_inputs():
    img = torch.zeros(2, 3, 4, 4, dtype=torch.uint8)
    with pytest.raises(TypeError, match="uint8"):
        D.invert(img.float())
    with pytest.raises(TypeError, match="uint8"):
        D.invert(img[0])
    with pytest.raises(ValueError, match=r"\(2,\)"):
        D.solarize(img, torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="mask"):
        D.invert(img, mask=torch.ones(3, dtype=torch.bool))
    with pytest.raises(ValueError, match="interpolation"):
        D.rotate(img, 3.0, 0, "lanczos")
    with pytest.raises(ValueError, match="valid"):
        D.affine_matrices("scale", torch.zeros(2), 4, 4)


def test_level_functions_equal_the_registry():
    rng = np.random.default_rng(0)
    mags = np.concatenate([np.arange(0, 10.5, 0.5), rng.uniform(0, 10, 200), [9.999999, 3.3333333]])
    hp = {"translate_const": 117, "translate_pct": 0.3}
    for name, spec in OPS.items():
        for sign in (1.0, -1.0) if spec.signed else (1.0,):
            got = _sample.LEVELS[name](
                torch.tensor(mags), torch.full((mags.size,), sign, dtype=torch.float64), hp
            )
            if spec.level is None:
                assert not got.any(), name
                continue
            exp = [float(spec.level(float(m), hp, sign)) for m in mags]
            assert got.tolist() == exp, name


def _count_torch_calls(fn) -> int:
    from torch.overrides import TorchFunctionMode

    class Count(TorchFunctionMode):
        calls = 0

        def __torch_function__(self, func, types, args=(), kwargs=None):
            Count.calls += 1
            return func(*args, **(kwargs or {}))

    with Count():
        fn()
    return Count.calls


@pytest.mark.parametrize("name", [op for op in D.KERNELS if op not in D.GEOMETRIC_KINDS] + ["rotate"])
def test_no_python_loop_over_the_batch(name):
    counts = []
    for n in (3, 24):
        batch = torch.randint(0, 256, (n, 3, 12, 10), dtype=torch.uint8)
        arg = torch.linspace(0.2, 1.8, n, dtype=torch.float64)
        mask = torch.arange(n) % 3 != 0
        fn = getattr(D, name)
        if name in ("auto_contrast", "equalize", "invert"):
            counts.append(_count_torch_calls(lambda fn=fn, b=batch, m=mask: fn(b, mask=m)))
        elif name == "rotate":
            codes = torch.tensor([0, 2, 3])[torch.arange(n) % 3]
            counts.append(
                _count_torch_calls(lambda b=batch, a=arg, c=codes, m=mask: D.rotate(b, a, 0, c, mask=m))
            )
        else:
            counts.append(_count_torch_calls(lambda fn=fn, b=batch, a=arg, m=mask: fn(b, a, mask=m)))
    assert counts[0] == counts[1], counts


def test_channels_last_input():
    batch = torch.randint(0, 256, (3, 3, 10, 12), dtype=torch.uint8)
    strided = batch.to(memory_format=torch.channels_last)
    arg = torch.tensor([0.4, 1.0, 1.6], dtype=torch.float64)
    for name in ("equalize", "auto_contrast", "contrast", "sharpness", "gaussian_blur", "rotate"):
        args = () if name in ("equalize", "auto_contrast") else (arg,)
        assert torch.equal(getattr(D, name)(strided, *args), getattr(D, name)(batch, *args)), name
