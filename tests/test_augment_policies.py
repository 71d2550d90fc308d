"""Policy tables, RandAugment / AutoAugment / AugMix behaviour, and differential tests against the reference.

The reference (timm) is only an oracle here. Where its randomness must be sampled, the TEST seeds Python's
``random`` and NumPy's legacy global state; pixelpipe itself only ever draws from the generator passed in.
"""

from __future__ import annotations

import itertools
import pickle
import random

import numpy as np
import pytest
import torch
from PIL import Image

import pixelpipe.rng as prng
from _stats import ks_critical, ks_statistic
from conftest import make_image
from pixelpipe.augment import (
    AugmentOp,
    AugMixAugment,
    AugMixParams,
    AutoAugment,
    RandAugment,
    augment_and_mix_transform,
    augmix_ops,
    auto_augment_policy,
    auto_augment_transform,
    rand_augment_choices,
    rand_augment_ops,
    rand_augment_transform,
)
from pixelpipe.augment import policies as P
from pixelpipe.augment.augmix import blend, blended_weights
from pixelpipe.errors import ConfigError


def _ref():
    return pytest.importorskip("timm.data.auto_augment")


def _to_tensor(img: Image.Image) -> torch.Tensor:
    arr = np.asarray(img)
    arr = arr[:, :, None] if arr.ndim == 2 else arr
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).contiguous()


def _chi2_pvalue(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample chi-square test on category counts; sparse categories are pooled."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    small = (a + b) < 10
    if small.any():
        a = np.append(a[~small], a[small].sum())
        b = np.append(b[~small], b[small].sum())
    keep = (a + b) > 0
    a, b = a[keep], b[keep]
    total = a + b
    ea, eb = total * a.sum() / total.sum(), total * b.sum() / total.sum()
    stat = float((((a - ea) ** 2) / ea).sum() + (((b - eb) ** 2) / eb).sum())
    dof = a.size - 1
    return float(torch.special.gammaincc(torch.tensor(dof / 2, dtype=torch.float64), torch.tensor(stat / 2)))


def _ks_ok(x: np.ndarray, y: np.ndarray, c_alpha: float = 1.95) -> bool:
    """Two-sample Kolmogorov-Smirnov test at alpha = 0.001 (critical value c(alpha) = 1.95)."""
    return ks_statistic(x, y) <= ks_critical(x.size, y.size, c_alpha)


# --- tables equal the reference's -----------------------------------------------------------------------


def test_op_sets_equal_reference():
    aa = _ref()
    assert list(P.RAND_TRANSFORMS) == aa._RAND_TRANSFORMS
    assert list(P.RAND_INCREASING_TRANSFORMS) == aa._RAND_INCREASING_TRANSFORMS
    assert list(P.RAND_3A) == aa._RAND_3A
    assert dict(P.RAND_WEIGHTED_3A) == aa._RAND_WEIGHTED_3A
    assert list(P.RAND_WEIGHTED_3A) == list(aa._RAND_WEIGHTED_3A)
    assert dict(P.RAND_WEIGHTED_0) == aa._RAND_WEIGHTED_0
    assert list(P.RAND_WEIGHTED_0) == list(aa._RAND_WEIGHTED_0)
    assert list(P.AUGMIX_TRANSFORMS) == aa._AUGMIX_TRANSFORMS
    assert dict(P.HPARAMS_DEFAULT) == aa._HPARAMS_DEFAULT
    for name in ("3a", "3aw", "weights"):
        for inc in (False, True):
            ours, ref = rand_augment_choices(name, inc), aa.rand_augment_choices(name, inc)
            assert (dict(ours) if isinstance(ref, dict) else list(ours)) == ref
    for weights in (P.RAND_WEIGHTED_0, P.RAND_WEIGHTED_3A):
        names, probs = P.normalized_weights(weights)
        ref_names, ref_probs = aa._get_weighted_transforms(dict(weights))
        assert names == tuple(ref_names)
        np.testing.assert_allclose(probs, ref_probs, rtol=0, atol=1e-15)


def test_rand_augment_ops_equal_reference():
    aa = _ref()
    hp = {"translate_const": 100, "img_mean": (124, 116, 104)}
    for transforms in (None, list(P.RAND_INCREASING_TRANSFORMS), dict(P.RAND_WEIGHTED_3A)):
        ours = rand_augment_ops(9, 0.5, hp, transforms)
        ref = aa.rand_augment_ops(9, 0.5, dict(hp), transforms)
        assert [repr(o) for o in ours] == [repr(o) for o in ref]
    assert [o.name for o in augmix_ops(3)] == [o.name for o in aa.augmix_ops(3)]


@pytest.mark.parametrize("name", P.AA_POLICY_NAMES)
def test_auto_augment_policies_equal_reference(name):
    aa = _ref()
    ours = [[(o.name, o.prob, o.magnitude) for o in sub] for sub in auto_augment_policy(name)]
    ref = [[(o.name, o.prob, o.magnitude) for o in sub] for sub in aa.auto_augment_policy(name)]
    assert ours == ref
    assert ours == [[tuple(o) for o in sub] for sub in P.AA_POLICIES[name]]


def test_unknown_policy_lists_valid_names():
    with pytest.raises(ConfigError, match="original, originalr, v0, v0r, 3a"):
        auto_augment_policy("v1")


# --- AutoAugment sub-policies: pixel-equal to the reference's ops ---------------------------------------


@pytest.mark.parametrize("interpolation", [Image.Resampling.BILINEAR, Image.Resampling.BICUBIC])
@pytest.mark.parametrize("name", P.AA_POLICY_NAMES)
def test_auto_augment_sub_policies_pixel_equal(name, interpolation, monkeypatch):
    """Every sub-policy with probability 1 and no magnitude noise: equal to one of the reference's signed
    outputs, pixel for pixel."""
    aa = _ref()
    img = make_image(3, (48, 40))
    hp = {"translate_const": 100, "img_mean": (124, 116, 104), "interpolation": interpolation}
    rng = np.random.default_rng(0)
    ref_policy = aa.auto_augment_policy(name, dict(hp))
    # deliberate difference: 0-bit posterize (v0 "Posterize" at m2) is black; Pillow >= 12 raises
    pil_posterize = aa.ImageOps.posterize
    monkeypatch.setattr(
        aa.ImageOps,
        "posterize",
        lambda im, bits: im.point(lambda _: 0) if bits == 0 else pil_posterize(im, bits),
    )
    for k, sub in enumerate(auto_augment_policy(name, hp)):
        ours = AutoAugment([[AugmentOp(op.name, 1.0, op.magnitude, hp) for op in sub]])
        params = ours.make_params(img, rng)
        out = ours.apply(img, params).tobytes()
        ref_ops = [aa.AugmentOp(op.name, 1.0, op.magnitude, dict(hp)) for op in ref_policy[k]]
        for p, op in zip(params.op_params, sub, strict=True):  # replay our blur radius in the reference
            if op.name == "GaussianBlurRand":
                monkeypatch.setattr(aa.random, "uniform", lambda lo, hi, r=p.arg: r)
        candidates = set()
        for signs in itertools.product((1, -1), repeat=len(ref_ops)):  # each signed op draws one sign
            it = iter(signs)
            monkeypatch.setattr(aa, "_randomly_negate", lambda v, it=it: v * next(it))
            x = img
            for op in ref_ops:
                x = op(x)
            candidates.add(x.tobytes())
        assert out in candidates, f"{name} sub-policy {k}: {[o.name for o in sub]}"


# --- AugMix mixing arithmetic ---------------------------------------------------------------------------

_DET_OPS = ["AutoContrast", "Equalize", "PosterizeIncreasing", "SolarizeIncreasing", "Invert"]


def _augmix_pair(aa, blended: bool, depth: int, names=_DET_OPS):
    hp = {"magnitude_std": 0}
    ours = AugMixAugment([AugmentOp(n, 1.0, 3, hp) for n in names], width=3, depth=depth, blended=blended)
    ref = aa.AugMixAugment([aa.AugmentOp(n, 1.0, 3, dict(hp)) for n in names], 1.0, 3, depth, blended)
    return ours, ref


def _reference_chains(seed: int, width: int, depth: int, num_ops: int) -> list[np.ndarray]:
    """The op indices the reference draws after ``np.random.seed(seed)`` (its choice == randint here)."""
    state = np.random.RandomState(seed)
    out = []
    for _ in range(width):
        d = depth if depth > 0 else state.randint(1, 4)
        out.append(state.randint(0, num_ops, d))
    return out


@pytest.mark.parametrize("blended", [False, True])
@pytest.mark.parametrize("depth", [2, -1])
@pytest.mark.parametrize("size", [(40, 40), (48, 40)])
def test_augmix_mixing_equals_reference(blended, depth, size):
    """Fixed weights and op choices: pixelpipe's mix equals the reference's exactly (no rounding slack)."""
    aa = _ref()
    ours, ref = _augmix_pair(aa, blended, depth)
    rng = np.random.default_rng(1)
    for seed in range(4):
        img = make_image(seed, size)
        ws = np.float32(rng.dirichlet([1.0] * 3))
        m = np.float32(rng.beta(1.0, 1.0))
        chains = _reference_chains(seed, 3, depth, len(_DET_OPS))
        np.random.seed(seed)
        ref_out = ref._apply_blended(img, ws, m) if blended else ref._apply_basic(img, ws, m)
        params = AugMixParams(
            tuple(float(w) for w in ws),
            float(m),
            tuple(tuple((int(i), ours.ops[int(i)].make_params(img, rng)) for i in c) for c in chains),
        )
        out = ours.apply(img, params)
        assert out.mode == ref_out.mode and out.size == ref_out.size
        assert out.tobytes() == ref_out.tobytes()


def test_blended_weights_equal_reference():
    aa = _ref()
    _, ref = _augmix_pair(aa, True, 1)
    rng = np.random.default_rng(2)
    for _ in range(50):
        ws = np.float32(rng.dirichlet([1.0] * 4))
        m = np.float32(rng.beta(1.0, 1.0))
        assert blended_weights(ws, m).tobytes() == ref._calc_blended_weights(ws, m).tobytes()


def test_tensor_blend_equals_pil_blend():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (3, 17, 23), dtype=np.uint8)
    b = rng.integers(0, 256, (3, 17, 23), dtype=np.uint8)
    pa, pb = Image.fromarray(a.transpose(1, 2, 0)), Image.fromarray(b.transpose(1, 2, 0))
    for t in np.float32(rng.random(20)):
        want = np.asarray(blend(pa, pb, t)).transpose(2, 0, 1)
        assert np.array_equal(blend(torch.from_numpy(a), torch.from_numpy(b), t).numpy(), want)


@pytest.mark.parametrize("blended", [False, True])
def test_augmix_tensor_path_matches_pil(blended):
    """Same params on a uint8 tensor: exact with point ops; <= 1 level mean with every AugMix op."""
    exact = AugMixAugment(
        augmix_ops(3, {"magnitude_std": 0}, ["Invert", "PosterizeIncreasing"]), blended=blended
    )
    full = augment_and_mix_transform(f"augmix-m3-b{int(blended)}")
    rng = np.random.default_rng(4)
    for seed in range(6):
        img = make_image(seed, (36, 28))
        for t, tol in ((exact, 0.0), (full, 1.0)):
            params = t.make_params(img, rng)
            pil = np.asarray(t.apply(img, params)).astype(np.int16)
            ten = t.apply(_to_tensor(img), params).permute(1, 2, 0).numpy().astype(np.int16)
            assert np.abs(pil - ten).mean() <= tol


@pytest.mark.parametrize("blended", [False, True])
@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_augmix_any_size_and_greyscale(blended, mode):
    t = augment_and_mix_transform(f"augmix-m3-w3-b{int(blended)}")
    img = make_image(5, (37, 23), mode)
    out = t(img, rng=np.random.default_rng(0))
    assert out.size == (37, 23) and out.mode == mode
    ten = t(_to_tensor(img), rng=np.random.default_rng(0))
    assert ten.shape == (1 if mode == "L" else 3, 23, 37) and ten.dtype == torch.uint8


# --- distributions vs the reference ---------------------------------------------------------------------


class _Recorder:
    """A stand-in op for the reference's RandAugment: records which op index was chosen."""

    def __init__(self, index: int, log: list[int]) -> None:
        self.index, self.log = index, log

    def __call__(self, img):
        self.log.append(self.index)
        return img


@pytest.mark.parametrize("text", ["rand-m9-mstd0.5-inc1", "rand-n3", "rand-tweights", "rand-n3-t3aw"])
def test_rand_augment_op_choice_frequencies_match_reference(text):
    aa = _ref()
    n_draws = 4000
    ours = rand_augment_transform(text)
    ref_t = aa.rand_augment_transform(text, None)
    k, n = len(ours.ops), ours.num_layers
    log: list[int] = []
    ref = aa.RandAugment([_Recorder(i, log) for i in range(k)], n, choice_weights=ref_t.choice_weights)
    np.random.seed(0)
    for _ in range(n_draws):
        ref(None)
    ref_draws = np.asarray(log).reshape(n_draws, n)
    rng = np.random.default_rng(0)
    img = make_image(0, (8, 8))
    our_draws = np.asarray([ours.make_params(img, rng).op_indices for _ in range(n_draws)])
    for pos in range(n):  # per position: the second pick of a weighted draw differs from the first
        ours_c = np.bincount(our_draws[:, pos], minlength=k)
        ref_c = np.bincount(ref_draws[:, pos], minlength=k)
        assert _chi2_pvalue(ours_c, ref_c) > 1e-3, (text, pos, ours_c, ref_c)
    repeats = [np.mean([len(set(r)) < n for r in d]) for d in (our_draws, ref_draws)]
    if ours.choice_weights is None:  # with replacement: repeats happen as often as in the reference
        expected = 1 - np.prod([(k - j) / k for j in range(n)])
        assert abs(repeats[0] - expected) < 0.02 and abs(repeats[1] - expected) < 0.02
    else:  # weighted: without replacement
        assert repeats == [0.0, 0.0]


@pytest.mark.parametrize(
    ("text", "m", "mstd", "mmax"),
    [
        ("rand-m9-mstd0.5-p1", 9, 0.5, None),
        ("rand-m9-mstd101-p1", 9, 1e9, None),
        ("rand-m12-mstd2-mmax15-p1", 12, 2, 15),
    ],
)
def test_rand_augment_magnitude_noise_matches_reference(text, m, mstd, mmax):
    aa = _ref()
    ours = rand_augment_transform(text, transforms=["Rotate"])
    rng = np.random.default_rng(5)
    our_m = np.asarray([ours.make_params(None, rng).op_params[0].magnitude for _ in range(3000)])
    hp = {"magnitude_std": float("inf") if mstd > 100 else mstd, "magnitude_max": mmax}
    ref_op = aa.AugmentOp("Invert", 1.0, m, hp)
    ref_m: list[float] = []
    ref_op.level_fn = lambda mag, _hp: ref_m.append(mag) or ()
    random.seed(5)
    tiny = Image.new("RGB", (2, 2))
    for _ in range(3000):
        ref_op(tiny)
    assert _ks_ok(our_m, np.asarray(ref_m))
    upper = mmax or 10
    assert our_m.min() >= 0 and our_m.max() <= upper
    assert abs(np.mean(our_m == upper) - np.mean(np.asarray(ref_m) == upper)) < 0.03


def test_auto_augment_sub_policy_choice_is_uniform():
    aa = auto_augment_transform("v0")
    rng = np.random.default_rng(6)
    counts = np.bincount([aa.make_params(None, rng).sub_policy for _ in range(5000)], minlength=25)
    assert _chi2_pvalue(counts, np.full(25, 200)) > 1e-3


def test_augmix_draws_match_reference_distributions():
    t = augment_and_mix_transform("augmix-m3-w3")
    rng = np.random.default_rng(7)
    draws = [t.make_params(None, rng) for _ in range(3000)]
    np.random.seed(7)
    ref_w = np.float32(np.random.dirichlet([1.0] * 3, size=3000))
    ref_m = np.float32(np.random.beta(1.0, 1.0, size=3000))
    assert _ks_ok(np.asarray([d.weights[0] for d in draws]), ref_w[:, 0])
    assert _ks_ok(np.asarray([d.m for d in draws]), ref_m)
    depths = np.bincount([len(c) for d in draws for c in d.chains], minlength=4)
    assert depths[0] == 0 and _chi2_pvalue(depths[1:], np.full(3, 3000)) > 1e-3


# --- determinism, inputs, contract ----------------------------------------------------------------------

_CONFIGS = [
    "rand-m9-mstd0.5-inc1",
    "rand-m9-n3-mstd0.5",
    "rand-m7-n3-t3aw-mstd101",
    "v0r-mstd0.5",
    "original",
    "3a",
    "augmix-m3-w3-d2",
    "augmix-m3-b1",
]


def _build(text: str):
    if text.startswith("rand"):
        return rand_augment_transform(text)
    if text.startswith("augmix"):
        return augment_and_mix_transform(text)
    return auto_augment_transform(text)


@pytest.mark.parametrize("text", _CONFIGS)
def test_same_seed_same_output_pil_and_tensor(text):
    t = _build(text)
    img = make_image(11, (40, 32))
    ten = _to_tensor(img)
    snapshot, ten_snapshot = img.tobytes(), ten.clone()
    for seed in (0, 1, 12345):
        a = t(img, rng=np.random.default_rng(seed))
        assert a.tobytes() == t(img, rng=np.random.default_rng(seed)).tobytes()
        with prng.use_rng(seed):
            b = t(ten)
        with prng.use_rng(seed):
            assert torch.equal(b, t(ten))
        assert isinstance(a, Image.Image) and a.size == img.size
        assert b.dtype == torch.uint8 and b.shape == ten.shape
    assert img.tobytes() == snapshot and torch.equal(ten, ten_snapshot)


@pytest.mark.parametrize("text", _CONFIGS)
def test_params_replay_and_pickle(text):
    t = _build(text)
    img = make_image(12, (24, 20))
    params = t.make_params(img, np.random.default_rng(3))
    out = t.apply(img, params).tobytes()
    assert t.apply(img, params).tobytes() == out
    clone = pickle.loads(pickle.dumps(t))
    assert repr(clone) == repr(t)
    assert clone.apply(img, params).tobytes() == out


def test_rand_augment_validates_arguments():
    ops = rand_augment_ops(5, transforms=["Invert", "Equalize"])
    with pytest.raises(ConfigError, match="num_layers"):
        RandAugment(ops, num_layers=-1)
    with pytest.raises(ConfigError, match="2 ops"):
        RandAugment(ops, choice_weights=[1.0])
    with pytest.raises(ConfigError, match="non-zero"):
        RandAugment(ops, num_layers=2, choice_weights=[1.0, 0.0])
    with pytest.raises(ConfigError):
        AugMixAugment(augmix_ops(), alpha=0)
    assert RandAugment(ops, num_layers=0)(make_image(0)).tobytes() == make_image(0).tobytes()
