"""AugmentOp and the PIL ops: differential tests against the reference, sampling, validation."""

from __future__ import annotations

import math
import pickle
import random
from types import MappingProxyType

import numpy as np
import pytest
from PIL import Image

from _stats import ks_critical, ks_statistic
from conftest import make_image
from pixelpipe.augment import functional_pil as FP
from pixelpipe.augment.ops import OP_NAMES, AugmentOp, AugmentOpParams
from pixelpipe.augment.registry import OPS
from pixelpipe.errors import ConfigError
from pixelpipe.rng import use_rng

MAGNITUDES = (0, 1, 5, 9, 10)
BILINEAR, BICUBIC = Image.Resampling.BILINEAR, Image.Resampling.BICUBIC


class _FixedRandom:
    """Stands in for the reference module's ``random``: every draw returns ``u`` (forces sign and choices)."""

    def __init__(self, u: float) -> None:
        self.u = u

    def random(self) -> float:
        return self.u

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.u

    def choice(self, seq):
        return seq[0] if self.u < 0.5 else seq[-1]


def _ours_forced(op: AugmentOp, magnitude: float, u: float, interpolation) -> AugmentOpParams:
    """The params our op would draw if every uniform draw returned ``u`` (as the stub does)."""
    spec = op._spec
    sign = -1.0 if spec.signed and u > 0.5 else 1.0
    arg = spec.level(float(magnitude), op.hparams, sign) if spec.level else None
    if spec.name == "GaussianBlurRand":
        arg = 0.1 + (2.0 * arg - 0.1) * u
    return AugmentOpParams(True, float(magnitude), arg, interpolation if spec.geometric else None)


def _reference_output(ta, monkeypatch, name, magnitude, hparams, img, u):
    with monkeypatch.context() as mp:
        mp.setattr(ta, "random", _FixedRandom(u))
        return ta.AugmentOp(name, prob=1.0, magnitude=magnitude, hparams=dict(hparams))(img)


def _ref_can_run(name: str, magnitude: float) -> bool:
    # Pillow >= 12 raises on 0 bits in the reference; pixelpipe returns black (tested separately)
    return (
        OPS[name].level is None or not name.startswith("Posterize") or OPS[name].level(magnitude, {}, 1) > 0
    )


@pytest.mark.parametrize("mode", ["RGB", "L"])
@pytest.mark.parametrize("name", OP_NAMES)
def test_pil_equals_reference(name, mode, monkeypatch):
    ta = pytest.importorskip("timm.data.auto_augment")
    img = make_image(3, (37, 29), mode)
    # the reference needs a fill of the image's mode; pixelpipe converts an RGB fill itself
    ref_hp = {"translate_const": 13, "img_mean": (120, 130, 140) if mode == "RGB" else 128}
    our_hp = {"translate_const": 13, "img_mean": (120, 130, 140) if mode == "RGB" else (128, 128, 128)}
    for magnitude in MAGNITUDES:
        if not _ref_can_run(name, magnitude):
            continue
        for u, interp in ((0.25, BILINEAR), (0.75, BICUBIC)):
            ref = _reference_output(
                ta, monkeypatch, name, magnitude, {**ref_hp, "interpolation": interp}, img, u
            )
            op = AugmentOp(name, prob=1.0, magnitude=magnitude, hparams={**our_hp, "interpolation": interp})
            ours = op.apply(img, _ours_forced(op, magnitude, u, interp))
            assert ours.mode == ref.mode and ours.size == ref.size
            assert np.array_equal(np.asarray(ours), np.asarray(ref)), (name, mode, magnitude, u)


@pytest.mark.parametrize("name", ["Rotate", "ShearX", "TranslateYRel", "ColorIncreasing"])
def test_sampled_output_is_one_of_the_signed_reference_outputs(name, monkeypatch):
    ta = pytest.importorskip("timm.data.auto_augment")
    img = make_image(5, (31, 23))
    hp = {"interpolation": BILINEAR}
    refs = [np.asarray(_reference_output(ta, monkeypatch, name, 7, hp, img, u)) for u in (0.25, 0.75)]
    op = AugmentOp(name, prob=1.0, magnitude=7, hparams=hp)
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(12):
        out = np.asarray(op(img, rng=rng))
        match = [i for i, r in enumerate(refs) if np.array_equal(out, r)]
        assert match
        seen.update(match)
    assert seen == {0, 1}


def test_level_spot_values_match_reference():
    ta = pytest.importorskip("timm.data.auto_augment")
    hp = {"translate_const": 100, "translate_pct": 0.3}
    for name in OP_NAMES:
        ref_fn = ta.LEVEL_TO_ARG[name]
        spec = OPS[name]
        if ref_fn is None:
            assert spec.level is None
            continue
        for m in (*MAGNITUDES, 3.7, 14.0):
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(ta, "random", _FixedRandom(0.25))
                (expected,) = ref_fn(m, hp)
            assert spec.level(m, hp, 1.0) == expected, (name, m)


def test_posterize_zero_bits_is_black_and_never_raises():
    img = make_image(1, (9, 7))
    for name, m in (("Posterize", 0), ("Posterize", 1), ("PosterizeIncreasing", 10)):
        out = AugmentOp(name, prob=1.0, magnitude=m)(img, rng=np.random.default_rng(0))
        assert not np.asarray(out).any()
    assert not np.asarray(FP.posterize(img.convert("L"), 0)).any()
    assert FP.posterize(img, 8) is img


_C_ALPHA = math.sqrt(-math.log(1e-3 / 2) / 2)  # KS coefficient for alpha = 0.001


def _reference_magnitudes(ta, hparams, magnitude, n, seed):
    op = ta.AugmentOp("Solarize", prob=1.0, magnitude=magnitude, hparams=dict(hparams))
    seen: list[float] = []
    level_fn = op.level_fn
    op.level_fn = lambda m, hp: (seen.append(m), level_fn(m, hp))[1]
    state = random.getstate()
    random.seed(seed)
    try:
        img = Image.new("L", (1, 1))
        for _ in range(n):
            op(img)
    finally:
        random.setstate(state)
    return np.array(seen)


@pytest.mark.parametrize(
    ("hparams", "magnitude"),
    [
        ({"magnitude_std": 0.5}, 9),
        ({"magnitude_std": 3.0}, 9),
        ({"magnitude_std": 2.0, "magnitude_max": 20}, 15),
        ({"magnitude_std": float("inf")}, 9),
        ({"magnitude_std": 1.0, "magnitude_max": 0}, 9),
    ],
)
def test_magnitude_noise_distribution_matches_reference(hparams, magnitude):
    ta = pytest.importorskip("timm.data.auto_augment")
    n = 3000
    ref = _reference_magnitudes(ta, hparams, magnitude, n, seed=1234)
    op = AugmentOp("Solarize", prob=1.0, magnitude=magnitude, hparams=hparams)
    rng = np.random.default_rng(1234)
    ours = np.array([op.make_params(None, rng).magnitude for _ in range(n)])
    assert ks_statistic(ours, ref) < ks_critical(n, n, _C_ALPHA)
    upper = hparams.get("magnitude_max") or 10
    assert ours.min() >= 0.0 and ours.max() <= upper
    # clamping puts an atom at the bound when the noise reaches it, as in the reference
    assert np.isclose((ours == upper).mean(), (ref == upper).mean(), atol=0.03)


def test_mstd_over_100_means_uniform():
    rng = np.random.default_rng(0)
    op = AugmentOp("Rotate", prob=1.0, magnitude=8, hparams={"magnitude_std": 150})
    draws = np.array([op.make_params(None, rng).magnitude for _ in range(4000)])
    assert draws.min() >= 0 and draws.max() <= 8
    expected = np.random.default_rng(1).uniform(0, 8, 4000)
    assert ks_statistic(draws, expected) < ks_critical(4000, 4000, _C_ALPHA)


def test_magnitude_clamped_without_noise():
    rng = np.random.default_rng(0)
    assert AugmentOp("Solarize", 1.0, 25).make_params(None, rng).magnitude == 10.0
    assert AugmentOp("Solarize", 1.0, 25, {"magnitude_max": 20}).make_params(None, rng).magnitude == 20.0
    assert AugmentOp("Solarize", 1.0, 25, {"magnitude_max": 0}).make_params(None, rng).magnitude == 10.0


def test_probability_gate_and_identity():
    img = make_image(2, (11, 9))
    rng = np.random.default_rng(0)
    assert AugmentOp("Invert", prob=0.0)(img, rng=rng) is img
    op = AugmentOp("Invert", prob=0.3)
    applied = np.mean([op.make_params(None, rng).applied for _ in range(4000)])
    assert abs(applied - 0.3) < 0.03


def test_interpolation_choice_and_hparams_forms():
    rng = np.random.default_rng(0)
    op = AugmentOp("Rotate", prob=1.0)
    picks = {op.make_params(None, rng).interpolation for _ in range(50)}
    assert picks == {BILINEAR, BICUBIC}
    for value, expected in (("bicubic", {BICUBIC}), (BILINEAR, {BILINEAR}), (0, {0}), ("random", {2, 3})):
        op = AugmentOp("ShearX", prob=1.0, hparams={"interpolation": value})
        assert {int(op.make_params(None, rng).interpolation) for _ in range(40)} == expected
    assert AugmentOp("Invert", prob=1.0).make_params(None, rng).interpolation is None


def test_same_seed_same_output_and_scoped_rng():
    img = make_image(4, (33, 27))
    ops = [AugmentOp(n, prob=0.7, magnitude=6, hparams={"magnitude_std": 1.0}) for n in OP_NAMES]

    def run(seed):
        rng = np.random.default_rng(seed)
        return [np.asarray(op(img, rng=rng)) for op in ops]

    for a, b in zip(run(5), run(5)):
        assert np.array_equal(a, b)
    with use_rng(9):
        first = [np.asarray(op(img)) for op in ops]
    with use_rng(9):
        second = [np.asarray(op(img)) for op in ops]
    assert all(np.array_equal(a, b) for a, b in zip(first, second))


def test_hparams_never_mutated_and_none_works():
    hp = {"magnitude_std": 0.5, "img_mean": (1, 2, 3)}
    snapshot = dict(hp)
    op = AugmentOp("TranslateX", prob=1.0, magnitude=5, hparams=hp)
    op(make_image(0, (10, 10)), rng=np.random.default_rng(0))
    op.hparams["translate_const"] = 3
    assert hp == snapshot
    frozen = MappingProxyType({"translate_pct": 0.2})
    AugmentOp("TranslateXRel", 1.0, 5, frozen)(make_image(0, (10, 10)), rng=np.random.default_rng(0))
    op = AugmentOp("TranslateX", hparams=None)
    assert op.hparams == {"translate_const": 250, "img_mean": (128, 128, 128)}
    assert op.magnitude_std == 0 and op.magnitude_max is None
    AugmentOp("TranslateY", 1.0, 5, {"magnitude_std": 1.0})(
        make_image(0, (8, 8)), rng=np.random.default_rng(0)
    )


def test_attributes_and_repr_match_reference():
    ta = pytest.importorskip("timm.data.auto_augment")
    cases = [
        ("Rotate", 0.5, 10, None),
        ("Solarize", 1.0, 9.0, {"magnitude_std": 0.5}),
        ("ShearX", 0.25, 3, {"magnitude_std": float("inf"), "magnitude_max": 20}),
    ]
    for name, p, m, hp in cases:
        ours, ref = AugmentOp(name, p, m, hp), ta.AugmentOp(name, p, m, hp)
        assert repr(ours) == repr(ref)
        assert (ours.name, ours.prob, ours.magnitude) == (ref.name, ref.prob, ref.magnitude)
        assert (ours.magnitude_std, ours.magnitude_max, ours.hparams) == (
            ref.magnitude_std,
            ref.magnitude_max,
            ref.hparams,
        )


def test_pickles():
    op = AugmentOp("Rotate", 1.0, 5, {"interpolation": BICUBIC})
    img = make_image(0, (12, 10))
    clone = pickle.loads(pickle.dumps(op))
    params = op.make_params(img, np.random.default_rng(0))
    assert np.array_equal(np.asarray(op.apply(img, params)), np.asarray(clone.apply(img, params)))


def test_bad_name_lists_valid_names():
    with pytest.raises(ConfigError, match="unknown augmentation op name 'Rotat'") as info:
        AugmentOp("Rotat")
    assert all(n in str(info.value) for n in OP_NAMES)
    with pytest.raises(ValueError):
        AugmentOp(None)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"prob": 1.5}, "prob must be a number in \\[0, 1\\]"),
        ({"prob": -0.1}, "prob"),
        ({"prob": "0.5"}, "prob"),
        ({"prob": True}, "prob"),
        ({"magnitude": -1}, "magnitude must be a finite number >= 0"),
        ({"magnitude": float("nan")}, "magnitude"),
        ({"magnitude": "9"}, "magnitude"),
        ({"hparams": [("a", 1)]}, "hparams must be a mapping"),
        ({"hparams": {"magnitude_std": -1}}, "magnitude_std"),
        ({"hparams": {"magnitude_max": "10"}}, "magnitude_max"),
        ({"hparams": {"interpolation": "lanczos"}}, "interpolation"),
        ({"hparams": {"interpolation": ()}}, "interpolation"),
        ({"hparams": {"img_mean": "grey"}}, "img_mean"),
        ({"hparams": {"translate_const": None}}, "translate_const"),
    ],
)
def test_bad_arguments_raise_config_error(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        AugmentOp("Rotate", **kwargs)


def _edge_images(mode: str) -> list[Image.Image]:
    rng = np.random.default_rng(7)
    shape = (45, 61) if mode == "L" else (45, 61, 3)
    arrays = [
        rng.integers(0, 256, shape, dtype=np.uint8),
        rng.integers(90, 140, shape, dtype=np.uint8),  # narrow range: autocontrast stretches
        np.full(shape, 77, dtype=np.uint8),  # flat: identity tables
        np.where(rng.random(shape) < 0.5, 10, 200).astype(np.uint8),  # two values
        np.where(rng.random(shape) < 0.999, 3, 250).astype(np.uint8),  # one dominant value
    ]
    return [Image.fromarray(a, mode) for a in arrays]


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_fast_pil_ops_equal_pillow(mode):
    from PIL import ImageEnhance, ImageOps

    for img in _edge_images(mode):
        pairs = [
            (FP.auto_contrast(img), ImageOps.autocontrast(img)),
            (FP.equalize(img), ImageOps.equalize(img)),
            (FP.invert(img), ImageOps.invert(img)),
        ]
        for f in (0.0, 0.1, 0.37, 1.0, 1.3, 1.9):
            pairs += [
                (FP.brightness(img, f), ImageEnhance.Brightness(img).enhance(f)),
                (FP.contrast(img, f), ImageEnhance.Contrast(img).enhance(f)),
                (FP.color(img, f), ImageEnhance.Color(img).enhance(f)),
            ]
        for ours, ref in pairs:
            assert ours.mode == ref.mode and ours.size == ref.size
            assert np.array_equal(np.asarray(ours), np.asarray(ref))
