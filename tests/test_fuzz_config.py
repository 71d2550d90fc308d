"""Fuzzing the augmentation config-string grammar (``rand-...``, ``augmix-...``, AutoAugment policy names).

Any string, however malformed, either parses into a config / builds a transform, or raises
:class:`~pixelpipe.errors.ConfigError` (a ``ValueError``) naming the string; nothing else escapes.
Valid strings round-trip: the parsed config holds the values written, and ``to_config_str()`` parses back
to the same config. Built transforms run on a small image.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from _fuzz import fuzz_settings
from pixelpipe.augment import (
    AugMixAugment,
    AutoAugment,
    RandAugment,
    augment_and_mix_transform,
    auto_augment_transform,
    rand_augment_transform,
)
from pixelpipe.augment.config import (
    AugMixConfig,
    AutoAugmentConfig,
    RandAugmentConfig,
    parse_augmix,
    parse_auto_augment,
    parse_rand_augment,
)
from pixelpipe.augment.policies import AA_POLICY_NAMES, RAND_TRANSFORM_SETS
from pixelpipe.errors import ConfigError
from pixelpipe.factories import create_transform

HEADS = ["rand", "augmix", *AA_POLICY_NAMES, "", "RAND", "trivialaugment", "randaug", "augmix2"]
KEYS = ["m", "n", "p", "mstd", "mmax", "inc", "t", "w", "d", "a", "b", "x", "M", "tweights", "t3a", "t3aw"]
VALUES = ["", "0", "1", "9", "10", "3.5", ".5", "5.", "1e3", "1e400", "101", "00", "-", "nan", "inf", "e"]
ALPHABET = "randugmixoriglv03-.mnpstdcwbaeE+_ \t/\x00é٣"

SMALL = Image.fromarray(np.random.default_rng(0).integers(0, 256, (9, 13, 3), dtype=np.uint8), "RGB")

PARSERS = (parse_rand_augment, parse_auto_augment, parse_augmix)
BUILDERS = (rand_augment_transform, auto_augment_transform, augment_and_mix_transform)

pytestmark = pytest.mark.fuzz


def _token_strings() -> st.SearchStrategy[str]:
    section = st.tuples(st.sampled_from(KEYS), st.sampled_from(VALUES)).map("".join)
    return st.tuples(st.sampled_from(HEADS), st.lists(section, max_size=6)).map(
        lambda t: "-".join([t[0], *t[1]])
    )


def _mutated(valid: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A valid string with random single-character insertions, deletions and replacements."""

    @st.composite
    def mutate(draw):
        s = list(draw(valid))
        for _ in range(draw(st.integers(1, 4))):
            op = draw(st.sampled_from(("insert", "delete", "replace")))
            i = draw(st.integers(0, len(s)))
            if op == "insert":
                s.insert(i, draw(st.sampled_from(ALPHABET)))
            elif s and i < len(s):
                if op == "delete":
                    del s[i]
                else:
                    s[i] = draw(st.sampled_from(ALPHABET))
        return "".join(s)

    return mutate()


VALID_EXAMPLES = st.sampled_from(
    [
        "rand-m9-mstd0.5-inc1",
        "rand-m7-mstd0.5-inc1",
        "rand-m9-n3-mstd0.5",
        "rand-m9-mstd0.5-inc1-t3a",
        "rand-n2-m10-p0.5-mmax20-tweights",
        "augmix-m5-w4-d2",
        "augmix-m3-w3-d0-a1-b1-mstd0.5",
        "original-mstd0.5",
        "originalr",
        "v0",
        "v0r-mstd1",
        "3a",
    ]
)

ANY_STRING = st.one_of(
    _token_strings(),
    _mutated(VALID_EXAMPLES),
    st.text(alphabet=ALPHABET, max_size=40),
    st.text(max_size=20),
)


def _small_enough(t) -> bool:
    """Whether applying ``t`` to an image is cheap (no absurd op counts from fuzzed digits)."""
    if isinstance(t, RandAugment):
        return t.num_layers <= 8
    if isinstance(t, AugMixAugment):
        return t.width <= 6 and t.depth <= 6
    return isinstance(t, AutoAugment)


@fuzz_settings(300)
@given(ANY_STRING)
def test_parsers_raise_only_config_errors(config_str):
    for parse in PARSERS:
        try:
            cfg = parse(config_str)
        except ConfigError as e:
            assert "config" in str(e)
            continue
        assert cfg == parse(cfg.to_config_str())  # whatever parses, round-trips


@fuzz_settings(150)
@given(ANY_STRING, st.integers(0, 2**32 - 1))
def test_builders_raise_only_config_errors_and_run(config_str, seed):
    for build in BUILDERS:
        try:
            t = build(config_str)
        except ConfigError:
            continue
        if _small_enough(t):
            out = t(SMALL, rng=np.random.default_rng(seed))
            assert isinstance(out, Image.Image) and out.size == SMALL.size and out.mode == "RGB"


@fuzz_settings(80)
@given(st.one_of(ANY_STRING, st.integers(), st.none(), st.binary(max_size=8), st.lists(st.text(max_size=3))))
def test_create_transform_auto_augment_dispatch(auto_augment):
    """``create_transform`` routes ``rand*`` / ``augmix*`` / policy names; bad ones raise."""
    try:
        tf = create_transform(24, is_training=True, auto_augment=auto_augment, use_prefetcher=True)
    except (ConfigError, TypeError):
        return
    aug = [t for t in tf.transforms if isinstance(t, (RandAugment, AutoAugment, AugMixAugment))]
    assert len(aug) == (1 if auto_augment else 0)
    if not aug or _small_enough(aug[0]):
        out = tf(SMALL, rng=np.random.default_rng(0))
        assert tuple(out.shape) == (3, 24, 24)


@fuzz_settings(40)
@given(st.sampled_from([None, 0, 1, 2.5, "x", (), [1], {1: 2}, b"rand", object()]))
def test_non_string_configs_are_config_errors(value):
    for parse in PARSERS:
        with pytest.raises(ConfigError):
            parse(value)


# --- valid strings round-trip ---------------------------------------------------------------------------

_FLOAT_TEXT = st.sampled_from(["0", "0.0", "0.25", ".5", "0.5", "1", "1.", "1.0", "0.125"])


@st.composite
def rand_configs(draw):
    fields: dict = {}
    sections = []
    if draw(st.booleans()):
        fields["magnitude"] = draw(st.integers(0, 30))
        sections.append(f"m{fields['magnitude']}")
    if draw(st.booleans()):
        fields["num_layers"] = draw(st.integers(0, 5))
        sections.append(f"n{fields['num_layers']}")
    if draw(st.booleans()):
        text = draw(_FLOAT_TEXT)
        fields["prob"] = float(text)
        sections.append(f"p{text}")
    if draw(st.booleans()):
        value = draw(st.sampled_from(["0", "0.5", "1", "100", "101", "1000.5"]))
        fields["magnitude_std"] = math.inf if float(value) > 100 else float(value)
        sections.append(f"mstd{value}")
    if draw(st.booleans()):
        fields["magnitude_max"] = draw(st.integers(0, 30))
        sections.append(f"mmax{fields['magnitude_max']}")
    if draw(st.booleans()):
        inc = draw(st.integers(0, 3))
        fields["increasing"] = inc != 0
        sections.append(f"inc{inc}")
    if draw(st.booleans()):
        fields["transforms"] = draw(st.sampled_from(sorted(RAND_TRANSFORM_SETS)))
        sections.append(f"t{fields['transforms']}")
    sections = draw(st.permutations(sections))
    return "-".join(["rand", *sections]), fields


@st.composite
def augmix_configs(draw):
    fields: dict = {}
    sections = []
    if draw(st.booleans()):
        fields["magnitude"] = draw(st.integers(0, 20))
        sections.append(f"m{fields['magnitude']}")
    if draw(st.booleans()):
        fields["width"] = draw(st.integers(1, 6))
        sections.append(f"w{fields['width']}")
    if draw(st.booleans()):
        fields["depth"] = draw(st.integers(0, 4))
        sections.append(f"d{fields['depth']}")
    if draw(st.booleans()):
        text = draw(st.sampled_from(["0.5", "1", "2.25", ".1"]))
        fields["alpha"] = float(text)
        sections.append(f"a{text}")
    if draw(st.booleans()):
        b = draw(st.integers(0, 2))
        fields["blended"] = b != 0
        sections.append(f"b{b}")
    if draw(st.booleans()):
        text = draw(_FLOAT_TEXT)
        fields["magnitude_std"] = float(text)
        sections.append(f"mstd{text}")
    sections = draw(st.permutations(sections))
    return "-".join(["augmix", *sections]), fields


@fuzz_settings(120)
@given(rand_configs())
def test_rand_config_round_trip(case):
    config_str, fields = case
    cfg = parse_rand_augment(config_str)
    for name, value in fields.items():
        assert getattr(cfg, name) == value, (config_str, name)
    defaults = RandAugmentConfig()
    for name in set(vars(defaults)) - set(fields):
        assert getattr(cfg, name) == getattr(defaults, name)
    assert parse_rand_augment(cfg.to_config_str()) == cfg
    try:
        ra = rand_augment_transform(config_str)
    except ConfigError as e:  # only: more ops drawn without replacement than a weighted set has
        assert "without replacement" in str(e)
        return
    assert ra.num_layers == cfg.num_layers
    assert all(op.magnitude == cfg.magnitude and op.prob == cfg.prob for op in ra.ops)
    out = ra(SMALL, rng=np.random.default_rng(len(config_str)))
    assert out.size == SMALL.size


@fuzz_settings(80)
@given(augmix_configs())
def test_augmix_config_round_trip(case):
    config_str, fields = case
    cfg = parse_augmix(config_str)
    for name, value in fields.items():
        assert getattr(cfg, name) == value, (config_str, name)
    assert parse_augmix(cfg.to_config_str()) == cfg
    am = augment_and_mix_transform(config_str)
    assert am.width == cfg.width and am.blended == cfg.blended
    assert am(SMALL, rng=np.random.default_rng(1)).size == SMALL.size


@fuzz_settings(40)
@given(st.sampled_from(AA_POLICY_NAMES), st.one_of(st.none(), _FLOAT_TEXT))
def test_auto_augment_config_round_trip(policy, mstd):
    config_str = policy if mstd is None else f"{policy}-mstd{mstd}"
    cfg = parse_auto_augment(config_str)
    assert cfg == AutoAugmentConfig(policy, None if mstd is None else float(mstd))
    assert parse_auto_augment(cfg.to_config_str()) == cfg
    aa = auto_augment_transform(config_str)
    assert aa(SMALL, rng=np.random.default_rng(2)).size == SMALL.size


def test_round_trip_of_defaults():
    for cfg, parse in ((RandAugmentConfig(), parse_rand_augment), (AugMixConfig(), parse_augmix)):
        assert parse(cfg.to_config_str()) == cfg


@pytest.mark.parametrize(
    "config_str",
    [
        "rand-m٣",
        "rand-m9-mstd1e400",
        "rand-p1.5",
        "rand-inc",
        "rand-m9-m9",
        "augmix-w0",
        "augmix-a0",
        "v0-m9",
    ],
)
def test_known_malformed_strings(config_str):
    parse = parse_rand_augment if config_str.startswith("rand") else None
    parse = parse or (parse_augmix if config_str.startswith("augmix") else parse_auto_augment)
    with pytest.raises(ConfigError, match=r"valid keys|must|unknown"):
        parse(config_str)
