"""One contract, every public transform: a catalogue lists each with default arguments (plus the required
ones), and generic tests run them all.

Checks: PIL and ``uint8`` tensor inputs both work and keep their kind and dtype; the tensor path matches the
PIL path given the same parameters (mean absolute difference <= ``TOL`` grey levels, see each entry; 0 means
pixel-equal); inputs are never modified; transforms pickle; ``p=0`` is the identity; the same generator seed
gives the same output. A public transform missing from the catalogue fails the build.
"""

from __future__ import annotations

import inspect
import pickle
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from PIL import Image

import pixelpipe.transforms as T
from conftest import encode, make_image
from pixelpipe import augment as A
from pixelpipe.rng import use_rng


@dataclass
class Entry:
    make: Callable[[], object]
    # image: PIL and uint8 tensor in, same kind out; convert: conversion; float: float tensor in and out
    kind: str = "image"
    tol: float = 1.0  # tensor vs PIL mean abs difference, grey levels
    p0: Callable[[], object] | None = None  # the same transform with probability 0 (must be the identity)


# tensor vs PIL for the augmentation ops (see pixelpipe.augment.functional_tensor for the per-op tolerances)
TOL_AUGMENT = 1.0

CATALOGUE: dict[str, Entry] = {
    "CenterCrop": Entry(lambda: T.CenterCrop(24), tol=0),
    "CenterCropOrPad": Entry(lambda: T.CenterCropOrPad((24, 60)), tol=0),
    "ColorJitter": Entry(lambda: T.ColorJitter(0.4, 0.4, 0.4, 0.1), tol=2.0),  # tensor blends truncate
    "Compose": Entry(lambda: T.Compose([T.CenterCrop(24), T.RandomHorizontalFlip()]), tol=0),
    "DecodeRandomResizedCrop": Entry(lambda: T.DecodeRandomResizedCrop(32), kind="decode"),
    "GaussianBlur": Entry(lambda: T.GaussianBlur(5), tol=0.5),
    "MaybePILToTensor": Entry(T.MaybePILToTensor, kind="convert"),
    "MaybeToTensor": Entry(T.MaybeToTensor, kind="convert"),
    "Normalize": Entry(lambda: T.Normalize((0.5, 0.4, 0.3), (0.2, 0.25, 0.3)), kind="float"),
    "RandomApply": Entry(
        lambda: T.RandomApply([T.ColorJitter(0.4)], p=0.5),
        tol=1.0,
        p0=lambda: T.RandomApply([T.ColorJitter(0.4)], p=0.0),
    ),
    "RandomCropOrPad": Entry(lambda: T.RandomCropOrPad((24, 60)), tol=0),
    "RandomErasing": Entry(
        lambda: T.RandomErasing(probability=1.0, mode="pixel", device="cpu"),
        kind="float",
        p0=lambda: T.RandomErasing(probability=0.0, device="cpu"),
    ),
    "RandomGrayscale": Entry(lambda: T.RandomGrayscale(0.5), tol=1.0, p0=lambda: T.RandomGrayscale(0.0)),
    "RandomHorizontalFlip": Entry(T.RandomHorizontalFlip, tol=0, p0=lambda: T.RandomHorizontalFlip(0.0)),
    "RandomPad": Entry(lambda: T.RandomPad((50, 60)), tol=0),
    "RandomResizedCropAndInterpolation": Entry(lambda: T.RandomResizedCropAndInterpolation(32)),
    "RandomVerticalFlip": Entry(T.RandomVerticalFlip, tol=0, p0=lambda: T.RandomVerticalFlip(0.0)),
    "Resize": Entry(lambda: T.Resize(30)),
    "ResizeKeepRatio": Entry(lambda: T.ResizeKeepRatio(30, random_scale_prob=0.5, random_aspect_prob=0.5)),
    "ToNumpy": Entry(T.ToNumpy, kind="convert"),
    "ToTensor": Entry(T.ToTensor, kind="convert"),
    "TrimBorder": Entry(lambda: T.TrimBorder(3), tol=0),
    # pixelpipe.augment: the per-image augmentations (Transform subclasses found by the discovery below)
    "AugmentOp": Entry(
        lambda: A.AugmentOp("Rotate", prob=0.5, magnitude=9),
        tol=TOL_AUGMENT,
        p0=lambda: A.AugmentOp("Rotate", prob=0.0, magnitude=9),
    ),
    "RandAugment": Entry(
        lambda: A.rand_augment_transform("rand-m9-n2-mstd0.5"),
        tol=TOL_AUGMENT,
        p0=lambda: A.RandAugment(A.rand_augment_ops(9, prob=0.0), 2),  # its probability is its ops'
    ),
    "AutoAugment": Entry(
        lambda: A.auto_augment_transform("v0"),
        tol=TOL_AUGMENT,
        p0=lambda: A.AutoAugment([[A.AugmentOp("Rotate", 0.0), A.AugmentOp("Invert", 0.0)]]),
    ),
    "AugMixAugment": Entry(lambda: A.augment_and_mix_transform("augmix-m3-w2"), tol=TOL_AUGMENT),
}


def _public_transform_classes() -> set[str]:
    out = set()
    for name in T.__all__:
        obj = getattr(T, name)
        is_transform = inspect.isclass(obj) and (issubclass(obj, T.Transform) or obj is T.Compose)
        if is_transform and obj is not T.Transform:
            out.add(name)
    return out


def test_catalogue_lists_every_public_transform():
    missing = _public_transform_classes() - set(CATALOGUE)
    assert not missing, f"add these public transforms to the contract catalogue: {sorted(missing)}"


def _pil() -> Image.Image:
    return make_image(3, (48, 40))


def _tensor(img: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1).contiguous()


def _as_array(x) -> np.ndarray:
    if isinstance(x, Image.Image):
        return np.asarray(x).astype(np.float64)
    return x.permute(1, 2, 0).numpy().astype(np.float64)


IMAGE_ENTRIES = sorted(n for n, e in CATALOGUE.items() if e.kind == "image")
FLOAT_ENTRIES = sorted(n for n, e in CATALOGUE.items() if e.kind == "float")


@pytest.mark.parametrize("name", IMAGE_ENTRIES)
def test_tensor_path_matches_pil_path(name):
    entry = CATALOGUE[name]
    for seed in range(6):
        t = entry.make()
        pil = _pil()
        ten = _tensor(pil)
        before = ten.clone()
        with use_rng(seed):
            out_pil = t(pil)
        with use_rng(seed):
            out_ten = t(ten)
        assert isinstance(out_pil, Image.Image) and out_pil.mode == pil.mode
        assert isinstance(out_ten, torch.Tensor) and out_ten.dtype == torch.uint8 and out_ten.ndim == 3
        a, b = _as_array(out_pil), _as_array(out_ten)
        assert a.shape == b.shape
        diff = np.abs(a - b).mean()
        assert diff <= entry.tol, f"{name} seed {seed}: mean abs diff {diff:.3f} > {entry.tol}"
        assert torch.equal(ten, before), f"{name} modified its input tensor"
        assert np.array_equal(np.asarray(pil), np.asarray(_pil())), f"{name} modified its input image"


@pytest.mark.parametrize("name", FLOAT_ENTRIES)
def test_float_transforms_keep_input_and_dtype(name):
    t = CATALOGUE[name].make()
    x = torch.rand(3, 40, 48)
    before = x.clone()
    with use_rng(0):
        out = t(x)
    assert out.dtype == x.dtype and out.shape == x.shape
    assert torch.equal(x, before)
    with use_rng(0):
        assert torch.equal(out, t(x))


@pytest.mark.parametrize("name", sorted(n for n, e in CATALOGUE.items() if e.kind == "convert"))
def test_conversions_agree_on_pil_and_tensor(name):
    t = CATALOGUE[name].make()
    pil = _pil()
    ten = _tensor(pil)
    before = ten.clone()
    a, b = t(pil), t(ten)
    assert type(a) is type(b)
    assert a.shape == b.shape == (3, 40, 48)
    assert a.dtype == b.dtype
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert torch.equal(ten, before)


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_pickles_and_replays(name):
    t = CATALOGUE[name].make()
    clone = pickle.loads(pickle.dumps(t))
    assert repr(clone) == repr(t)
    kind = CATALOGUE[name].kind
    x = torch.rand(3, 40, 48) if kind == "float" else encode(_pil()) if kind == "decode" else _pil()
    with use_rng(7):
        a = t(x)
    with use_rng(7):
        b = clone(x)
    np.testing.assert_array_equal(
        np.asarray(_as_array(a) if not isinstance(a, np.ndarray) else a),
        np.asarray(_as_array(b) if not isinstance(b, np.ndarray) else b),
    )


@pytest.mark.parametrize("name", sorted(n for n, e in CATALOGUE.items() if e.p0 is not None))
def test_probability_zero_is_identity(name):
    t = CATALOGUE[name].p0()
    if CATALOGUE[name].kind == "float":
        x = torch.rand(3, 40, 48)
        assert torch.equal(t(x), x)
        return
    pil = _pil()
    for seed in range(5):
        with use_rng(seed):
            assert np.array_equal(np.asarray(t(pil)), np.asarray(pil))
            assert torch.equal(t(_tensor(pil)), _tensor(pil))


@pytest.mark.parametrize("name", IMAGE_ENTRIES)
def test_params_do_not_depend_on_image_kind(name):
    t = CATALOGUE[name].make()
    pil = _pil()
    p1 = t.make_params(pil, np.random.default_rng(1)) if hasattr(t, "make_params") else None
    p2 = t.make_params(_tensor(pil), np.random.default_rng(1)) if hasattr(t, "make_params") else None
    assert repr(p1) == repr(p2)


def test_greyscale_and_single_channel_tensors():
    grey = make_image(1, (40, 30), mode="L")
    ten = torch.from_numpy(np.asarray(grey).copy())[None]
    for t in (T.RandomResizedCropAndInterpolation(16), T.Resize(20), T.CenterCropOrPad(36), T.TrimBorder(2)):
        with use_rng(0):
            a = t(grey)
        with use_rng(0):
            b = t(ten)
        assert a.mode == "L" and b.shape[0] == 1
        assert np.abs(np.asarray(a, dtype=float) - b[0].numpy()).mean() <= 1.0


@pytest.mark.parametrize("interp", ["bilinear", "bicubic"])
@pytest.mark.parametrize(("window", "out"), [((30, 40), (17, 23)), ((12, 9), (31, 29)), ((25, 25), (25, 25))])
def test_channels_last_resize_fast_path_equals_torchvision(interp, window, out):
    """Crops of channels-last uint8 images (what torchvision.io decodes) skip torchvision's resize wrapper:
    same pixels, same channels-last output, the input itself when the size does not change."""
    import torchvision.transforms.v2.functional as TF

    from pixelpipe.transforms import functional as F
    from pixelpipe.transforms.interpolation import str_to_interp_mode

    hwc = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (40, 50, 3), dtype=np.uint8))
    crop = hwc.permute(2, 0, 1)[:, 3 : 3 + window[0], 5 : 5 + window[1]]
    got = F.resize(crop, out, interp)
    if out == window:
        assert got is crop
        return
    x = crop.unsqueeze(0).contiguous(memory_format=torch.channels_last)
    expected = TF.resize(x, list(out), interpolation=str_to_interp_mode(interp), antialias=True)[0]
    assert torch.equal(got, expected)
    assert got.stride() == (1, out[1] * 3, 3)
