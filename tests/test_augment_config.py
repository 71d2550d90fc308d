"""The augmentation config grammar: parsing, errors, hparams handling, and agreement with the reference."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pixelpipe.augment import (
    AugMixConfig,
    AutoAugmentConfig,
    RandAugmentConfig,
    augment_and_mix_transform,
    auto_augment_transform,
    parse_augmix,
    parse_auto_augment,
    parse_rand_augment,
    rand_augment_transform,
)
from pixelpipe.augment.config import AUGMIX_KEYS, AUTO_AUGMENT_KEYS, RAND_AUGMENT_KEYS
from pixelpipe.augment.policies import RAND_INCREASING_TRANSFORMS, RAND_TRANSFORMS
from pixelpipe.errors import ConfigError

INF = math.inf


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rand", RandAugmentConfig()),
        ("rand-m9-mstd0.5-inc1", RandAugmentConfig(9, 2, 0.5, 0.5, None, True, None)),
        ("rand-m9-n3-mstd0.5", RandAugmentConfig(9, 3, 0.5, 0.5)),
        ("rand-m7-mstd0.5-inc1", RandAugmentConfig(7, magnitude_std=0.5, increasing=True)),
        ("rand-inc0", RandAugmentConfig(increasing=False)),
        ("rand-inc1", RandAugmentConfig(increasing=True)),
        ("rand-mstd100", RandAugmentConfig(magnitude_std=100.0)),
        ("rand-mstd101", RandAugmentConfig(magnitude_std=INF)),
        ("rand-mstd1e3", RandAugmentConfig(magnitude_std=INF)),
        ("rand-mmax15-m12", RandAugmentConfig(magnitude=12, magnitude_max=15)),
        ("rand-p1-n0", RandAugmentConfig(num_layers=0, prob=1.0)),
        ("rand-p.25", RandAugmentConfig(prob=0.25)),
        ("rand-t3a", RandAugmentConfig(transforms="3a")),
        ("rand-mstd1-tweights", RandAugmentConfig(magnitude_std=1.0, transforms="weights")),
        ("rand-t3aw-m9", RandAugmentConfig(magnitude=9, transforms="3aw")),
    ],
)
def test_rand_augment_strings(text, expected):
    cfg = parse_rand_augment(text)
    assert cfg == expected
    assert parse_rand_augment(cfg.to_config_str()) == cfg


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("v0", AutoAugmentConfig("v0")),
        ("v0r", AutoAugmentConfig("v0r")),
        ("original-mstd0.5", AutoAugmentConfig("original", 0.5)),
        ("originalr-mstd2", AutoAugmentConfig("originalr", 2.0)),
        ("3a", AutoAugmentConfig("3a")),
        ("v0-mstd101", AutoAugmentConfig("v0", 101.0)),  # no "> 100 means uniform" outside RandAugment
    ],
)
def test_auto_augment_strings(text, expected):
    cfg = parse_auto_augment(text)
    assert cfg == expected
    assert parse_auto_augment(cfg.to_config_str()) == cfg


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("augmix", AugMixConfig()),
        ("augmix-m3-w3-d2", AugMixConfig(3, 3, 2)),
        ("augmix-m5-w4-d0", AugMixConfig(5, 4, 0)),
        ("augmix-m1-mstd0.5", AugMixConfig(magnitude=1, magnitude_std=0.5)),
        ("augmix-a0.5-b1", AugMixConfig(alpha=0.5, blended=True)),
        ("augmix-b0", AugMixConfig(blended=False)),
    ],
)
def test_augmix_strings(text, expected):
    cfg = parse_augmix(text)
    assert cfg == expected
    assert parse_augmix(cfg.to_config_str()) == cfg


def test_configs_are_frozen():
    for cfg in (RandAugmentConfig(), AutoAugmentConfig(), AugMixConfig()):
        with pytest.raises(dataclasses.FrozenInstanceError):
            cfg.magnitude_std = 1.0


def _valid_keys(keys):
    return [f"{k} (" for k in keys]


@pytest.mark.parametrize(
    ("parse", "text", "section", "keys"),
    [
        (parse_rand_augment, "rand-inc", "'inc'", RAND_AUGMENT_KEYS),  # digit-less: ignored by the reference
        (parse_rand_augment, "rand-m9-mstd", "'mstd'", RAND_AUGMENT_KEYS),
        (parse_rand_augment, "rand-w0", "'w0'", RAND_AUGMENT_KEYS),  # removed key
        (parse_rand_augment, "rand-x5", "'x5'", RAND_AUGMENT_KEYS),
        (parse_rand_augment, "rand-m9x", "'m9x'", RAND_AUGMENT_KEYS),
        (parse_rand_augment, "rand-m9.5", "'m9.5'", RAND_AUGMENT_KEYS),
        (parse_rand_augment, "rand-p1.5", "'p1.5'", RAND_AUGMENT_KEYS),
        (parse_rand_augment, "rand--m9", "''", RAND_AUGMENT_KEYS),
        (parse_rand_augment, "rand-m9-", "''", RAND_AUGMENT_KEYS),
        (parse_rand_augment, "rand-9", "'9'", RAND_AUGMENT_KEYS),
        (parse_rand_augment, "rand-m9-m5", "'m5'", RAND_AUGMENT_KEYS),
        (parse_rand_augment, "rand-tfoo", "'tfoo'", RAND_AUGMENT_KEYS),
        (parse_rand_augment, "rand-t", "'t'", RAND_AUGMENT_KEYS),
        (parse_rand_augment, "rand-M9", "'M9'", RAND_AUGMENT_KEYS),
        (parse_auto_augment, "v0-m5", "'m5'", AUTO_AUGMENT_KEYS),
        (parse_auto_augment, "v0-mstd", "'mstd'", AUTO_AUGMENT_KEYS),
        (parse_auto_augment, "original-foo", "'foo'", AUTO_AUGMENT_KEYS),
        (parse_augmix, "augmix-z3", "'z3'", AUGMIX_KEYS),
        (parse_augmix, "augmix-w0", "'w0'", AUGMIX_KEYS),
        (parse_augmix, "augmix-a0", "'a0'", AUGMIX_KEYS),
        (parse_augmix, "augmix-blend", "'blend'", AUGMIX_KEYS),
        (parse_augmix, "augmix-d", "'d'", AUGMIX_KEYS),
    ],
)
def test_bad_sections_name_the_section_and_list_keys(parse, text, section, keys):
    with pytest.raises(ConfigError) as info:
        parse(text)
    msg = str(info.value)
    assert isinstance(info.value, ValueError)
    assert f"section {section}" in msg and repr(text) in msg
    assert "valid keys" in msg
    for key in _valid_keys(keys):
        assert key in msg


@pytest.mark.parametrize(
    ("parse", "text", "needle"),
    [
        (parse_rand_augment, "randaugment-m9", "'rand'"),
        (parse_rand_augment, "", "'rand'"),
        (parse_auto_augment, "trivialaugment", "v0r"),
        (parse_auto_augment, "v1-mstd0.5", "original"),
        (parse_augmix, "aug-m3", "'augmix'"),
        (parse_rand_augment, None, "string"),
    ],
)
def test_bad_heads(parse, text, needle):
    with pytest.raises(ConfigError, match=needle):
        parse(text)


def test_inc0_disables_and_inc1_enables_increasing_ops():
    assert tuple(op.name for op in rand_augment_transform("rand-m9-inc0").ops) == RAND_TRANSFORMS
    assert tuple(op.name for op in rand_augment_transform("rand-m9-inc1").ops) == RAND_INCREASING_TRANSFORMS
    assert tuple(op.name for op in rand_augment_transform("rand-m9").ops) == RAND_TRANSFORMS


def test_hparams_never_mutated_and_none_works():
    hp = {"translate_const": 100, "img_mean": (124, 116, 104), "translate_pct": 0.3}
    before = copy.deepcopy(hp)
    rand_augment_transform("rand-m9-mstd0.5-mmax12-inc1", hp)
    auto_augment_transform("v0r-mstd0.5", hp)
    augment_and_mix_transform("augmix-m3-mstd0.5", hp)
    augment_and_mix_transform("augmix-m3", hp)
    assert hp == before
    for make, text in [
        (rand_augment_transform, "rand-m9-mstd0.5-mmax12"),
        (auto_augment_transform, "original-mstd0.5"),
        (augment_and_mix_transform, "augmix-mstd0.5"),
    ]:
        t = make(text, None)
        ops = t.ops if hasattr(t, "ops") else [op for sub in t.policy for op in sub]
        assert all(op.magnitude_std == 0.5 for op in ops)
        assert ops[0].hparams["translate_const"] == 250


def test_hparams_values_win_over_the_string():
    ra = rand_augment_transform("rand-mstd0.5-mmax12", {"magnitude_std": 0.2, "magnitude_max": 11})
    assert (ra.ops[0].magnitude_std, ra.ops[0].magnitude_max) == (0.2, 11)
    am = augment_and_mix_transform("augmix-mstd0.5", {"magnitude_std": 0.1})
    assert am.ops[0].magnitude_std == 0.1
    assert augment_and_mix_transform("augmix").ops[0].magnitude_std == INF  # default: uniform magnitude


def test_transforms_argument_overrides_t_section():
    ra = rand_augment_transform("rand-t3a", transforms=["Rotate", "Invert"])
    assert [op.name for op in ra.ops] == ["Rotate", "Invert"] and ra.choice_weights is None
    ra = rand_augment_transform("rand-n1", transforms={"Rotate": 3, "Invert": 1})
    assert ra.choice_weights.tolist() == [0.75, 0.25]
    with pytest.raises(ConfigError, match="3aw"):
        rand_augment_transform("rand", transforms="nope")


# --- property tests -------------------------------------------------------------------------------------

_KEYS = ["m", "n", "p", "mstd", "mmax", "inc", "t", "w", "d", "a", "b", "x", "M", "", "tt"]
_VALUES = st.one_of(
    st.integers(0, 200).map(str),
    st.floats(0, 200, allow_nan=False).map(lambda v: f"{v:.3f}"),
    st.sampled_from(["", "3a", "3aw", "weights", ".", "1e", "1.5.2", "x", "inf", "nan", "0x1", "١"]),
)
_SECTION = st.tuples(st.sampled_from(_KEYS), _VALUES).map("".join)
_HEADS = st.sampled_from(["rand", "augmix", "v0", "v0r", "original", "originalr", "3a", "rand2", "", "Rand"])
_CONFIG = st.tuples(_HEADS, st.lists(_SECTION, max_size=5)).map(lambda t: "-".join([t[0], *t[1]]))
_BUILDERS = {"rand": rand_augment_transform, "augmix": augment_and_mix_transform}


@settings(max_examples=250, deadline=None)
@given(st.one_of(_CONFIG, st.text(max_size=30)))
def test_any_string_parses_or_raises_config_error(text):
    for parse in (parse_rand_augment, parse_auto_augment, parse_augmix):
        try:
            cfg = parse(text)
        except ConfigError as err:
            assert "config" in str(err)
            continue
        assert type(cfg).__name__.endswith("Config")
        assert type(cfg) is type(parse(cfg.to_config_str())) and parse(cfg.to_config_str()) == cfg
    builder = _BUILDERS.get(text.split("-")[0], auto_augment_transform)
    with contextlib.suppress(ConfigError):  # e.g. 'rand-n20-t3aw': more layers than weighted ops
        builder(text)


# --- agreement with the reference (timm as an oracle) ---------------------------------------------------

_AGREE = [
    "rand",
    "rand-m9-mstd0.5-inc1",
    "rand-m9-n3-mstd0.5",
    "rand-m7-mstd0.5-inc1",
    "rand-m9-mstd101",
    "rand-m12-mmax15-p0.7",
    "rand-inc1-t3a",
    "rand-m9-t3aw-n3",
    "rand-mstd1-tweights",
    "rand-inc0",
]


def _op_fields(op):
    return (op.name, op.prob, op.magnitude, op.magnitude_std, op.magnitude_max, op.hparams)


@pytest.mark.parametrize("text", _AGREE)
def test_rand_augment_matches_reference(text):
    aa = pytest.importorskip("timm.data.auto_augment")
    ours, ref = rand_augment_transform(text), aa.rand_augment_transform(text, None)
    assert repr(ours) == repr(ref)
    assert ours.num_layers == ref.num_layers
    assert [_op_fields(o) for o in ours.ops] == [_op_fields(o) for o in ref.ops]
    if ref.choice_weights is None:
        assert ours.choice_weights is None
    else:
        assert ours.choice_weights.tolist() == pytest.approx(list(ref.choice_weights), abs=1e-15)


@pytest.mark.parametrize("text", ["v0", "v0r-mstd0.5", "original", "originalr-mstd1", "3a"])
def test_auto_augment_matches_reference(text):
    aa = pytest.importorskip("timm.data.auto_augment")
    ours, ref = auto_augment_transform(text), aa.auto_augment_transform(text, None)
    assert repr(ours) == repr(ref)
    flat = [[_op_fields(o) for o in sub] for sub in ours.policy]
    assert flat == [[_op_fields(o) for o in sub] for sub in ref.policy]


@pytest.mark.parametrize("text", ["augmix", "augmix-m3-w3-d2", "augmix-m5-w4-a0.5-b1", "augmix-m1-mstd0.5"])
def test_augmix_matches_reference(text):
    aa = pytest.importorskip("timm.data.auto_augment")
    ours, ref = augment_and_mix_transform(text), aa.augment_and_mix_transform(text, None)
    assert repr(ours) == repr(ref)
    assert (ours.alpha, ours.width, ours.depth, ours.blended) == (
        ref.alpha,
        ref.width,
        ref.depth,
        ref.blended,
    )
    assert [_op_fields(o) for o in ours.ops] == [_op_fields(o) for o in ref.ops]


@settings(max_examples=60, deadline=None)
@given(
    m=st.integers(0, 15),
    n=st.integers(1, 3),
    p=st.sampled_from(["0.5", "1", "0.25"]),
    mstd=st.sampled_from([None, "0.5", "1", "101"]),
    inc=st.sampled_from([None, "0", "1"]),
    t=st.sampled_from([None, "3a", "3aw", "weights"]),
)
def test_random_rand_configs_match_reference(m, n, p, mstd, inc, t):
    aa = pytest.importorskip("timm.data.auto_augment")
    parts = ["rand", f"m{m}", f"n{n}", f"p{p}"]
    parts += [f"mstd{mstd}"] if mstd else []
    parts += [f"inc{inc}"] if inc else []
    parts += [f"t{t}"] if t else []
    text = "-".join(parts)
    ours, ref = rand_augment_transform(text), aa.rand_augment_transform(text, None)
    assert repr(ours) == repr(ref)
    assert [_op_fields(o) for o in ours.ops] == [_op_fields(o) for o in ref.ops]
