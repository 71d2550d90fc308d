"""One contract, every transform: a catalogue lists each with default arguments (plus the required ones),
and generic tests run them all.

Discovery: every module of the package is imported (``pkgutil.walk_packages``; ``SKIPPED_MODULES`` says why
one is not) and the subclasses, recursively, of the per-image base ``Transform``, of ``Compose`` and of the
batched base ``BatchTransform`` are collected, with any other class of the package that has an ``apply``
and a sampler (``make_params`` / ``sample`` / ``sample_params``). A discovered class in none of
``CATALOGUE`` (per-image), ``BATCH_CATALOGUE`` (batched) and ``EXCLUDED`` (private or abstract classes, each
with a reason) fails the build, and so does a batched class that is not a ``BatchTransform``.

Per-image checks: PIL and ``uint8`` tensor inputs both work and keep their kind and dtype; the tensor path
matches the PIL path given the same parameters (mean absolute difference <= ``TOL`` grey levels, see each
entry; 0 means pixel-equal); inputs are never modified; transforms pickle; ``p=0`` is the identity; the same
generator seed gives the same output; ``apply(img, make_params(img, rng))`` is the call with ``rng``, and the
same parameters give the same output (also from a pickled copy).

Batched checks, through each class's own (timm-shaped) sampling and applying API: the pickled copy gives
the same parameters and output for the same seed; the same seed gives the same parameters; applying
sampled parameters gives the call's output; inputs are never modified (``inplace=True`` writes into them, as
asked); ``p=0`` is the identity (``NO_P0`` says why a class has no such check). The same checks again
through the one batched contract, ``make_params(BatchDesc, torch.Generator)`` then ``apply(batch, params)``,
for every entry; and ``make_params`` reads nothing back to the host (no ``.item()``, ``.tolist()``,
``.cpu()``, ``bool(tensor)``...), so a CUDA generator samples without a host sync (checked on a GPU with
``torch.cuda.set_sync_debug_mode('error')`` where one is present).
"""

from __future__ import annotations

import inspect
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch
from PIL import Image

import pixelpipe.transforms as T
from conftest import encode, make_image
from pixelpipe import augment as A
from pixelpipe.base import BatchDesc, BatchTransform
from pixelpipe.rng import use_rng
from pixelpipe.transforms.decode_crop import DecodePipeline


@dataclass
class Entry:
    make: Callable[[], object]
    # image: PIL and uint8 tensor in, same kind out; convert: conversion; float: float tensor in and out;
    # decode: encoded bytes in; pipeline: PIL or uint8 tensor in, uint8 tensor out
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
    "DecodePipeline": Entry(
        lambda: DecodePipeline([T.RandomResizedCropAndInterpolation(32), T.RandomHorizontalFlip()]),
        kind="pipeline",
        tol=0,
    ),
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


@pytest.mark.parametrize("name", sorted(n for n, e in CATALOGUE.items() if e.kind == "pipeline"))
def test_pipeline_gives_the_same_tensor_for_pil_and_tensor_input(name):
    t = CATALOGUE[name].make()
    pil = _pil()
    ten = _tensor(pil)
    before = ten.clone()
    for seed in range(4):
        with use_rng(seed):
            a = t(pil)
        with use_rng(seed):
            b = t(ten)
        assert isinstance(a, torch.Tensor) and a.dtype == torch.uint8 and a.ndim == 3
        diff = np.abs(_as_array(a) - _as_array(b)).mean()
        assert diff <= CATALOGUE[name].tol, f"{name} seed {seed}: mean abs diff {diff:.3f}"
    assert torch.equal(ten, before), f"{name} modified its input tensor"
    assert np.array_equal(np.asarray(pil), np.asarray(_pil())), f"{name} modified its input image"


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


# --- discovery: what exists, not what is exported ---------------------------------------------------------
#
# Every module of the package is imported, then the subclasses (recursively) of the per-image base class
# (``Transform``), of ``Compose`` and of the batched classes are collected, together with any other class of
# the package that has an ``apply`` and a sampling method (``make_params`` / ``sample`` / ``sample_params``),
# so a new batched op with no base class is found too.

# modules not imported by the discovery, with the reason (none may be skipped because it merely failed)
SKIPPED_MODULES = {
    "pixelpipe.__main__": "runs the command line (and exits) when imported; it defines no class",
}

# discovered classes that are deliberately not in a catalogue, with the reason
EXCLUDED = {
    "Transform": "the abstract per-image base class (its subclasses are catalogued)",
    "BatchTransform": "the abstract batched base class (its subclasses are catalogued)",
    "BatchAugment": "the abstract base of the batched policies (its subclasses are catalogued)",
    "_RandomFlip": "private base of RandomHorizontalFlip / RandomVerticalFlip, both catalogued",
    "_ScaleNormalize": "private step of DecodeRandomResizedCrop's fused pipeline, covered through it",
}

_SAMPLERS = ("make_params", "sample", "sample_params")


def _package_modules() -> list[str]:
    import pkgutil

    import pixelpipe

    return [info.name for info in pkgutil.walk_packages(pixelpipe.__path__, "pixelpipe.")]


def _import_package() -> list[str]:
    import importlib

    names = []
    for name in _package_modules():
        if name in SKIPPED_MODULES:
            continue
        importlib.import_module(name)  # a module that fails to import fails the discovery
        names.append(name)
    return names


def _subclasses(cls: type) -> set[type]:
    out = set()
    for sub in cls.__subclasses__():
        out |= {sub} | _subclasses(sub)
    return out


def _discovered() -> dict[str, type]:
    import sys

    _import_package()
    found: set[type] = set()
    for root in (T.Transform, T.Compose, BatchTransform):
        found |= {root} | _subclasses(root)
    for name, mod in list(sys.modules.items()):
        if name != "pixelpipe" and not name.startswith("pixelpipe."):
            continue
        for obj in vars(mod).values():
            structural = callable(getattr(obj, "apply", None)) and any(hasattr(obj, m) for m in _SAMPLERS)
            if inspect.isclass(obj) and obj.__module__.startswith("pixelpipe.") and structural:
                found.add(obj)
    found = {c for c in found if c.__module__.startswith("pixelpipe.")}  # not test-defined subclasses
    by_name: dict[str, type] = {}
    for cls in found:
        other = by_name.setdefault(cls.__name__, cls)
        assert other is cls, f"two transforms named {cls.__name__}: {other.__module__}, {cls.__module__}"
    return by_name


def test_discovery_imports_every_module():
    names = _import_package()
    assert "pixelpipe.augment.rand_augment" in names and "pixelpipe.batch.mixup" in names
    assert set(SKIPPED_MODULES) <= set(_package_modules()), "a skipped module no longer exists"


def test_discovery_finds_a_new_transform():
    """A transform added to the package (a Transform or BatchTransform subclass, or a batched class with no
    base) is found, is reported as missing from the catalogue, and one outside the contract is flagged."""
    import gc

    class NewOp(T.Transform):
        def apply(self, img, params):
            return img

    class NewBatchOp:
        def sample(self, batch_size, generator=None):
            return None

        def apply(self, images, params):
            return images

    class NewContractOp(BatchTransform):
        def make_params(self, desc, generator):
            return None

        def apply(self, batch, params):
            return batch

    for cls in (NewOp, NewBatchOp, NewContractOp):
        cls.__module__ = "pixelpipe.augment.new_op"
    import sys
    import types

    mod = types.ModuleType("pixelpipe.augment.new_op")
    mod.NewBatchOp = NewBatchOp
    sys.modules[mod.__name__] = mod
    try:
        found = _discovered()
        assert found.get("NewOp") is NewOp and found.get("NewBatchOp") is NewBatchOp
        assert found.get("NewContractOp") is NewContractOp
        missing = set(found) - set(CATALOGUE) - set(BATCH_CATALOGUE) - set(EXCLUDED)
        assert missing == {"NewOp", "NewBatchOp", "NewContractOp"}
        with pytest.raises(AssertionError, match="NewBatchOp"):
            test_every_batched_transform_follows_the_one_contract()
    finally:
        del sys.modules[mod.__name__]
        del mod, found, NewOp, NewBatchOp, NewContractOp, cls
        gc.collect()
    assert not {"NewOp", "NewContractOp"} & set(_discovered())


def test_catalogue_lists_every_discovered_transform():
    found = _discovered()
    catalogued = set(CATALOGUE) | set(BATCH_CATALOGUE)
    missing = sorted(set(found) - catalogued - set(EXCLUDED))
    assert not missing, (
        f"add these transforms to the contract catalogue (CATALOGUE or BATCH_CATALOGUE), or to EXCLUDED "
        f"with a reason: {[f'{found[n].__module__}.{n}' for n in missing]}"
    )
    stale = sorted((catalogued | set(EXCLUDED)) - set(found))
    assert not stale, f"catalogued or excluded but not found by the discovery: {stale}"
    for name in EXCLUDED:
        cls = found[name]
        assert name.startswith("_") or inspect.isabstract(cls), f"{name}: only private or abstract classes"


def test_every_batched_transform_follows_the_one_contract():
    """Every class found that is neither per-image nor a ``Compose`` is a ``BatchTransform`` (one sampling
    signature, one generator type), and so is every batched catalogue entry."""
    found = _discovered()
    per_image = set(CATALOGUE)
    others = sorted(
        n
        for n, c in found.items()
        if n not in per_image and n not in EXCLUDED and not issubclass(c, BatchTransform)
    )
    assert not others, f"batched classes outside the BatchTransform contract: {others}"
    for name, entry in BATCH_CATALOGUE.items():
        assert isinstance(entry.make(), BatchTransform), name


# --- generic helpers ---------------------------------------------------------------------------------------


def _assert_same(a, b, where: str = "") -> None:
    """``a`` and ``b`` are equal, recursively: tensors (dtype and values), arrays, images, dataclasses,
    named tuples, sequences, mappings, scalars."""
    import dataclasses

    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype, f"{where}: {a.dtype} vs {b!r:.60}"
        assert torch.equal(a.cpu(), b.cpu()), f"{where}: tensors differ"
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, Image.Image):
        assert isinstance(b, Image.Image) and a.mode == b.mode, where
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=where)
    elif dataclasses.is_dataclass(a) and not isinstance(a, type):
        assert type(a) is type(b), where
        for f in dataclasses.fields(a):
            _assert_same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for k in a:
            _assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (tuple, list)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def _clone(x):
    """A deep copy of an input (tensors cloned, arrays copied), to check that it is not modified."""
    import copy

    if isinstance(x, torch.Tensor):
        return x.clone()
    if isinstance(x, Image.Image):
        return x.copy()
    return copy.deepcopy(x)


# --- per-image: the same sampled parameters give the same output ----------------------------------------

# the transforms with a sampling step (Compose and DecodePipeline are sequences of them)
PARAM_ENTRIES = sorted(
    n for n, e in CATALOGUE.items() if e.kind != "convert" and isinstance(e.make(), T.Transform)
)


def _inputs(kind: str) -> list:
    if kind == "float":
        return [torch.rand(3, 40, 48, generator=torch.Generator().manual_seed(0))]
    if kind == "decode":
        return [encode(_pil())]
    return [_pil(), _tensor(_pil())]


@pytest.mark.parametrize("name", PARAM_ENTRIES)
def test_params_replay(name):
    """``apply(img, make_params(img, rng))`` is the call with that generator, and applying the same
    parameters twice (and from a pickled copy) gives the same output without touching the input."""
    entry = CATALOGUE[name]
    t = entry.make()
    clone = pickle.loads(pickle.dumps(t))
    for img in _inputs(entry.kind):
        before = _clone(img)
        for seed in range(3):
            params = t.make_params(img, np.random.default_rng(seed))
            _assert_same(params, t.make_params(img, np.random.default_rng(seed)), f"{name} params")
            out = t.apply(img, params)
            _assert_same(out, t.apply(img, params), f"{name} apply twice")
            _assert_same(out, clone.apply(img, params), f"{name} pickled copy")
            _assert_same(out, t(img, rng=np.random.default_rng(seed)), f"{name} call vs apply")
        _assert_same(img, before, f"{name} modified its input")


# --- batched transforms ------------------------------------------------------------------------------------
#
# Each has its own sampling API (read from the code, not changed here); an adapter per family says how to
# draw parameters for a seed, apply them, and call the transform with that seed.

B, H, W = 4, 20, 24


def _uint8_batch(seed: int = 0, h: int = H, w: int = W) -> torch.Tensor:
    return torch.randint(
        0, 256, (B, 3, h, w), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8
    )


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@dataclass
class Contract:
    """How an entry's inputs go through the one batched contract (``make_params`` / ``apply``)."""

    batch: Callable[[object], torch.Tensor] = lambda x: x  # inputs -> the batch tensor
    desc: Callable[[torch.Tensor], BatchDesc] = BatchDesc.of  # batch -> its description
    images: Callable[[object], torch.Tensor] = lambda out: out  # apply's output -> the images
    # (transform, inputs, generator) -> images: the entry point drawing from that generator
    call: Callable[[object, object, torch.Generator], torch.Tensor] = lambda t, x, g: t(x, g)


@dataclass
class BatchEntry:
    make: Callable[[], object]
    inputs: Callable[[], object]  # a fresh input (batch, or (batch, targets), or collate samples)
    sample: Callable[[object, object, int], object]  # (transform, inputs, seed) -> params
    apply: Callable[[object, object, object], object] | None  # (transform, inputs, params) -> output
    call: Callable[[object, object, int], object]  # (transform, inputs, seed) -> output
    p0: Callable[[], object] | None = None  # the same transform with probability 0 (must be the identity)
    identity: Callable[[object, object], None] | None = None  # asserts output == input for p0
    contract: Contract = field(default_factory=Contract)


# family adapters: BatchAugment subclasses and BatchColorJitter draw from a torch.Generator
_TORCH_FAMILY = dict(
    inputs=_uint8_batch,
    sample=lambda t, x, s: t.sample(x.shape[0], _gen(s)),
    apply=lambda t, x, p: t.apply(x, p),
    call=lambda t, x, s: t(x, _gen(s)),
    identity=lambda x, out: _assert_same(out, x, "p=0"),
)


def _mixup_inputs():
    x = torch.rand(B, 3, H, W, generator=_gen(1))
    return x, torch.tensor([0, 1, 2, 3])


_MIXUP_FAMILY = dict(
    inputs=_mixup_inputs,
    sample=lambda t, xy, s: t.sample_params(len(xy[0]), xy[0].shape, rng=np.random.default_rng(s)),
    apply=lambda t, xy, p: (t.apply(xy[0], p), t.mix_targets(xy[1], p)),
    call=lambda t, xy, s: t(*xy, rng=np.random.default_rng(s)),
    identity=lambda xy, out: _assert_same(out[0], xy[0], "p=0 images"),
    contract=Contract(batch=lambda xy: xy[0], call=lambda t, xy, g: t(*xy, generator=g)[0]),
)


def _collate_inputs():
    rng = np.random.default_rng(2)
    return [(rng.integers(0, 256, (3, H, W), dtype=np.uint8), i) for i in range(B)]


_COLLATE_FAMILY = dict(
    inputs=_collate_inputs,
    sample=lambda t, batch, s: t.sample_params(
        len(batch), (len(batch), 3, H, W), "cpu", np.random.default_rng(s)
    ),
    apply=None,  # the collate has no params entry point: replayed through the seed only
    call=lambda t, batch, s: t(batch, rng=np.random.default_rng(s)),
    identity=lambda batch, out: _assert_same(
        out[0], torch.from_numpy(np.stack([b[0] for b in batch])), "p=0"
    ),
    # the contract's batch is the stacked uint8 batch: mixing it gives the collate's bits
    contract=Contract(
        batch=lambda samples: torch.from_numpy(np.stack([b[0] for b in samples])),
        call=lambda t, samples, g: t(samples, generator=g)[0],
    ),
)


def _device_inputs():
    return _uint8_batch(3, 28, 32)


def _sizes(x: torch.Tensor) -> torch.Tensor:
    return torch.tensor([x.shape[-2:]] * x.shape[0], dtype=torch.int64)


_DEVICE_FAMILY = dict(
    inputs=_device_inputs,
    sample=lambda t, x, s: t.sample(_sizes(x), _gen(s), x.shape[1]),
    apply=lambda t, x, p: t.apply(x, p)[0],
    call=lambda t, x, s: t(x, generator=_gen(s)),
    contract=Contract(
        desc=lambda x: BatchDesc.of(x, _sizes(x)),
        images=lambda out: out[0],
        call=lambda t, x, g: t(x, generator=g),
    ),
)


def _erasing_inputs():
    return torch.randn(B, 3, H, W, generator=_gen(4))


# RandomErasing in batch use: its batched contract is its only API taking a torch.Generator
_ERASING_FAMILY = dict(
    inputs=_erasing_inputs,
    sample=lambda t, x, s: t.make_params(BatchDesc.of(x), _gen(s)),
    apply=lambda t, x, p: t.apply(x, p),
    call=lambda t, x, s: t(x, generator=_gen(s)),
    identity=lambda x, out: _assert_same(out, x, "p=0"),
    contract=Contract(call=lambda t, x, g: t(x, generator=g)),
)


def _batch_catalogue() -> dict[str, BatchEntry]:
    from pixelpipe.batch import FastCollateMixup, Mixup
    from pixelpipe.batch.augment import BatchAugMix, BatchAutoAugment, BatchRandAugment
    from pixelpipe.batch.color import BatchColorJitter
    from pixelpipe.device.pipeline import DeviceAugment

    mix = dict(mixup_alpha=0.8, cutmix_alpha=1.0, mode="elem", num_classes=5)
    return {
        "BatchRandAugment": BatchEntry(
            lambda: BatchRandAugment.from_config("rand-m9-n2-mstd0.5"),
            p0=lambda: BatchRandAugment(A.rand_augment_ops(9, prob=0.0), 2),
            **_TORCH_FAMILY,
        ),
        "BatchAutoAugment": BatchEntry(
            lambda: BatchAutoAugment.from_config("v0"),
            p0=lambda: BatchAutoAugment([[A.AugmentOp("Rotate", 0.0), A.AugmentOp("Invert", 0.0)]]),
            **_TORCH_FAMILY,
        ),
        "BatchAugMix": BatchEntry(lambda: BatchAugMix.from_config("augmix-m3-w2"), **_TORCH_FAMILY),
        "BatchColorJitter": BatchEntry(
            lambda: BatchColorJitter(0.4, 0.4, 0.4, 0.1, p=0.5),
            p0=lambda: BatchColorJitter(0.4, 0.4, 0.4, 0.1, p=0.0),
            **_TORCH_FAMILY,
        ),
        "Mixup": BatchEntry(lambda: Mixup(**mix), p0=lambda: Mixup(**mix, prob=0.0), **_MIXUP_FAMILY),
        "FastCollateMixup": BatchEntry(
            lambda: FastCollateMixup(**mix), p0=lambda: FastCollateMixup(**mix, prob=0.0), **_COLLATE_FAMILY
        ),
        "DeviceAugment": BatchEntry(
            lambda: DeviceAugment(16, auto_augment="rand-m9-n2", force_color_jitter=True, re_prob=0.5),
            **_DEVICE_FAMILY,
        ),
        "RandomErasing": BatchEntry(
            lambda: T.RandomErasing(0.7, mode="pixel", max_count=2, num_splits=2, device="cpu"),
            p0=lambda: T.RandomErasing(0.0, mode="pixel", device="cpu"),
            **_ERASING_FAMILY,
        ),
    }


BATCH_CATALOGUE = _batch_catalogue()

# batched transforms without a p=0 check, and why
NO_P0 = {
    "BatchAugMix": "no probability: every sample is mixed (as AugMixAugment)",
    "DeviceAugment": "a pipeline whose crop always applies; the probabilities of its steps are checked "
    "through BatchRandAugment, BatchColorJitter, RandomErasing and Mixup",
}


def test_every_batched_entry_has_p0_or_a_reason():
    assert sorted(n for n, e in BATCH_CATALOGUE.items() if e.p0 is None) == sorted(NO_P0)


@pytest.mark.parametrize("name", sorted(BATCH_CATALOGUE))
def test_batched_pickles(name):
    entry = BATCH_CATALOGUE[name]
    t = entry.make()
    clone = pickle.loads(pickle.dumps(t))
    assert repr(clone) == repr(t)
    x = entry.inputs()
    _assert_same(entry.call(clone, x, 7), entry.call(t, x, 7), f"{name} pickled copy")
    _assert_same(entry.sample(clone, x, 7), entry.sample(t, x, 7), f"{name} pickled copy's params")


@pytest.mark.parametrize("name", sorted(BATCH_CATALOGUE))
def test_batched_replay(name):
    """The same seed gives the same parameters and output; applying sampled parameters gives the call's
    output, twice over."""
    entry = BATCH_CATALOGUE[name]
    t = entry.make()
    x = entry.inputs()
    for seed in range(2):
        params = entry.sample(t, x, seed)
        _assert_same(params, entry.sample(t, x, seed), f"{name} params")
        out = entry.call(t, x, seed)
        _assert_same(out, entry.call(t, x, seed), f"{name} call")
        if entry.apply is not None:
            _assert_same(entry.apply(t, x, params), out, f"{name} apply vs call")
            _assert_same(entry.apply(t, x, params), out, f"{name} apply twice")


@pytest.mark.parametrize("name", sorted(BATCH_CATALOGUE))
def test_batched_inputs_not_modified(name):
    entry = BATCH_CATALOGUE[name]
    t = entry.make()
    x = entry.inputs()
    before = _clone(x)
    for seed in range(3):
        entry.call(t, x, seed)
        if entry.apply is not None:
            entry.apply(t, x, entry.sample(t, x, seed))
        _assert_same(x, before, f"{name} modified its input")


@pytest.mark.parametrize("name", sorted(n for n, e in BATCH_CATALOGUE.items() if e.p0 is not None))
def test_batched_probability_zero_is_identity(name):
    entry = BATCH_CATALOGUE[name]
    t = entry.p0()
    x = entry.inputs()
    for seed in range(3):
        entry.identity(x, entry.call(t, x, seed))
        if entry.apply is not None:
            entry.identity(x, entry.apply(t, x, entry.sample(t, x, seed)))


# --- batched: the one contract, make_params(BatchDesc, torch.Generator) then apply(batch, params) -----------


def _contract_params(entry: BatchEntry, t, x, seed: int):
    batch = entry.contract.batch(x)
    return batch, t.make_params(entry.contract.desc(batch), _gen(seed))


@pytest.mark.parametrize("name", sorted(BATCH_CATALOGUE))
def test_contract_replay(name):
    """Equal generator seeds give equal params (also from a pickled copy); applying them twice gives the
    same output, which is the entry point's output with that generator; inputs are not modified."""
    entry = BATCH_CATALOGUE[name]
    t = entry.make()
    clone = pickle.loads(pickle.dumps(t))
    x = entry.inputs()
    before = _clone(x)
    for seed in range(3):
        batch, params = _contract_params(entry, t, x, seed)
        _assert_same(params, _contract_params(entry, t, x, seed)[1], f"{name} params")
        _assert_same(params, _contract_params(entry, clone, x, seed)[1], f"{name} pickled copy's params")
        out = entry.contract.images(t.apply(batch, params))
        _assert_same(entry.contract.images(t.apply(batch, params)), out, f"{name} apply twice")
        _assert_same(entry.contract.images(clone.apply(batch, params)), out, f"{name} pickled copy")
        _assert_same(entry.contract.call(t, x, _gen(seed)), out, f"{name} call vs apply")
        _assert_same(batch, entry.contract.batch(before), f"{name} modified its input")
    _assert_same(x, before, f"{name} modified its input")
    other = _contract_params(entry, t, x, 99)[1]
    with pytest.raises(AssertionError):
        _assert_same(params, other, "another seed")  # the params do depend on the generator


@pytest.mark.parametrize("name", sorted(n for n, e in BATCH_CATALOGUE.items() if e.p0 is not None))
def test_contract_probability_zero_is_identity(name):
    entry = BATCH_CATALOGUE[name]
    t = entry.p0()
    x = entry.inputs()
    for seed in range(3):
        batch, params = _contract_params(entry, t, x, seed)
        _assert_same(entry.contract.images(t.apply(batch, params)), batch, f"{name} p=0")


class _HostReads(torch.overrides.TorchFunctionMode):
    """Records every call that reads a tensor's values into Python or copies it to the host."""

    READS = frozenset(
        {"item", "tolist", "cpu", "numpy", "__bool__", "__int__", "__float__", "__index__", "nonzero"}
        | {"bincount", "unique", "_local_scalar_dense", "__array__", "argwhere", "masked_select"}
    )

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", str(func))
        if name in self.READS:
            self.reads.append(name)
        elif name == "to" and args and isinstance(args[0], torch.Tensor):
            dev = kwargs.get(
                "device", next((a for a in args[1:] if isinstance(a, (str, torch.device))), None)
            )
            if dev is not None and torch.device(dev).type == "cpu" and args[0].device.type != "cpu":
                self.reads.append("to(cpu)")
        return func(*args, **kwargs)


def test_host_reads_spy_sees_reads():
    x = torch.tensor([1.0, 2.0])
    with _HostReads() as spy:
        bool(x.any()), x[0].item(), x.tolist(), int(x[1])
    assert {"__bool__", "item", "tolist", "__int__"} <= set(spy.reads)


@pytest.mark.parametrize("name", sorted(BATCH_CATALOGUE))
def test_make_params_reads_nothing_back(name):
    """``make_params`` draws everything on the generator's device and never reads a value into Python:
    with a CUDA generator its tensors are CUDA tensors, so this is what keeps sampling free of host syncs."""
    entry = BATCH_CATALOGUE[name]
    for make in (entry.make, entry.p0) if entry.p0 is not None else (entry.make,):
        t = make()
        batch = entry.contract.batch(entry.inputs())
        desc = entry.contract.desc(batch)
        with _HostReads() as spy:
            t.make_params(desc, _gen(0))
        assert not spy.reads, f"{name}.make_params read tensors back: {spy.reads}"


@pytest.mark.cuda
@pytest.mark.parametrize("name", sorted(BATCH_CATALOGUE))
def test_make_params_on_cuda_does_not_synchronise(name):
    """With a CUDA generator, ``make_params`` runs under ``set_sync_debug_mode('error')``: no host sync."""
    entry = BATCH_CATALOGUE[name]
    t = entry.make()
    batch = entry.contract.batch(entry.inputs()).cuda()
    desc = entry.contract.desc(batch)
    if desc.sizes is not None:
        desc = BatchDesc(*desc.shape, device=desc.device, sizes=desc.sizes.cuda())
    gen = torch.Generator(device="cuda").manual_seed(0)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        params = t.make_params(desc, gen)
    finally:
        torch.cuda.set_sync_debug_mode(0)
    again = t.make_params(desc, torch.Generator(device="cuda").manual_seed(0))
    _assert_same(params, again, f"{name} CUDA params")


def test_explicit_inplace_writes_into_the_input():
    """``inplace=True`` is the one case where the input changes: the output is the input, holding what the
    default (copying) transform returns for the same parameters."""
    from pixelpipe.batch import Mixup

    mix = dict(mixup_alpha=0.8, cutmix_alpha=1.0, mode="elem", num_classes=5)
    x, _ = _mixup_inputs()
    params = Mixup(**mix).sample_params(B, x.shape, rng=np.random.default_rng(0))
    expected = Mixup(**mix).apply(x, params)
    out = Mixup(**mix, inplace=True).apply(x, params)
    assert out.data_ptr() == x.data_ptr()
    _assert_same(out, expected, "Mixup inplace")

    img = torch.rand(3, 40, 48)
    erase = dict(probability=1.0, mode="pixel", device="cpu")
    params = T.RandomErasing(**erase).make_params(img, np.random.default_rng(0))
    expected = T.RandomErasing(**erase).apply(img, params)
    out = T.RandomErasing(**erase, inplace=True).apply(img, params)
    assert out is img
    _assert_same(out, expected, "RandomErasing inplace")


# --- the op catalogue: every op spec of pixelpipe.ops, through every tier -----------------------------------

# op name -> mean |tensor - PIL| allowed (grey levels) on the per-image tensor path and the batched kernel;
# 0: pixel-equal. Adding an op to pixelpipe.ops means adding it here (ARCHITECTURE.md, "The op spec").
OP_CATALOGUE: dict[str, float] = {
    "AutoContrast": 0,
    "Equalize": 0,
    "Invert": 0,
    "Posterize": 0,
    "PosterizeIncreasing": 0,
    "PosterizeOriginal": 0,
    "Solarize": 0,
    "SolarizeIncreasing": 0,
    "SolarizeAdd": 0,
    "Color": 0,
    "ColorIncreasing": 0,
    "Contrast": 0,
    "ContrastIncreasing": 0,
    "Brightness": 0,
    "BrightnessIncreasing": 0,
    "Desaturate": 0,
    "Sharpness": 0,
    "SharpnessIncreasing": 0,
    "GaussianBlur": 0,
    "GaussianBlurRand": 0,
    "Rotate": 0.25,  # resampling: float rounding (OpenCV's float32 bilinear on the per-image CPU path)
    "ShearX": 0.25,
    "ShearY": 0.25,
    "TranslateX": 0.25,
    "TranslateY": 0.25,
    "TranslateXRel": 0.25,
    "TranslateYRel": 0.25,
}


def test_op_catalogue_lists_every_op():
    from pixelpipe.ops import OPS

    assert set(OPS) == set(OP_CATALOGUE), (
        f"ops missing from OP_CATALOGUE: {sorted(set(OPS) - set(OP_CATALOGUE))}; "
        f"catalogued ops that do not exist: {sorted(set(OP_CATALOGUE) - set(OPS))}"
    )


@pytest.mark.parametrize("name", sorted(OP_CATALOGUE))
def test_op_spec_every_tier_agrees(name):
    """One op spec, every tier: the level function gives the same argument on numbers and on tensors; the PIL
    kernel, the per-image tensor path (AugmentOp on a tensor) and the batched kernel (through
    BatchRandAugment's dispatch: the kind's batched kernel or the shared affine resampling) give the same
    pixels within the catalogue's tolerance; no tier writes into its input; the spec pickles by name."""
    from pixelpipe.batch.augment import BatchRandAugment
    from pixelpipe.ops import OPS

    spec = OPS[name]
    assert pickle.loads(pickle.dumps(spec)) is spec and pickle.loads(pickle.dumps(spec.kind)) is spec.kind
    hp = {"translate_const": 9, "img_mean": (100, 150, 200), "interpolation": "bilinear"}
    if spec.level is not None:
        mags = torch.tensor([0.0, 3.3, 7.0, 10.0], dtype=torch.float64)
        for sign in (1.0, -1.0):
            got = spec.level(mags, hp, torch.full_like(mags, sign)).tolist()
            assert got == [float(spec.level(float(m), hp, sign)) for m in mags.tolist()], sign
    imgs = [make_image(seed, (23, 19)) for seed in range(3)]
    batch = torch.stack([torch.from_numpy(np.asarray(i).transpose(2, 0, 1).copy()) for i in imgs])
    before = batch.clone()
    op = A.AugmentOp(name, prob=1.0, magnitude=7.0, hparams=hp)
    aug = BatchRandAugment([op], num_layers=1)
    params = aug.sample(len(imgs), torch.Generator().manual_seed(3))
    out = aug.apply(batch, params)
    for i, img in enumerate(imgs):
        p = aug.per_sample_params(params, i).op_params[0]
        pil = np.asarray(op.apply(img, p)).astype(int)
        tensor = op.apply(batch[i], p)
        for got in (tensor, out[i]):
            diff = np.abs(got.numpy().transpose(1, 2, 0).astype(int) - pil)
            assert diff.mean() <= OP_CATALOGUE[name], (name, i, diff.mean())
            assert diff.max() <= (1 if OP_CATALOGUE[name] else 0), (name, i)
    assert torch.equal(batch, before)
