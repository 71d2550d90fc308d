"""resolve_data_config / resolve_model_data_config against REFERENCE §10.2 (and the reference itself)."""

from __future__ import annotations

import argparse
from typing import ClassVar

import pytest

from pixelpipe.config import resolve_data_config, resolve_model_data_config
from pixelpipe.errors import ConfigError


class _Model:
    pretrained_cfg: ClassVar[dict] = {
        "input_size": (3, 288, 288),
        "test_input_size": (3, 320, 320),
        "interpolation": "bilinear",
        "mean": (0.5, 0.5, 0.5),
        "std": (0.5, 0.5, 0.5),
        "crop_pct": 0.95,
        "test_crop_pct": 1.0,
        "crop_mode": "squash",
    }


CASES = [
    dict(args={"img_size": 256}),
    dict(args={"input_size": (3, 192, 160), "mean": (0.4,), "std": (0.2,)}),
    dict(args={"in_chans": 1, "img_size": 64, "mean": [0.5], "std": [0.25]}),
    dict(args={"chans": 4}, pretrained_cfg={"crop_pct": 0.9}),
    dict(model=_Model()),
    dict(model=_Model(), use_test_size=True),
    dict(model=_Model(), args={"crop_pct": 0.8, "interpolation": "bicubic", "crop_mode": None}),
    dict(pretrained_cfg={"input_size": (3, 384, 384), "mean": None}, args={"img_size": None}),
]


@pytest.mark.parametrize("kw", CASES)
def test_matches_reference(kw):
    timm_config = pytest.importorskip("timm.data.config")
    assert resolve_data_config(**kw) == timm_config.resolve_data_config(**kw)


def test_documented_example():
    assert resolve_data_config({"img_size": 256}) == {
        "input_size": (3, 256, 256),
        "interpolation": "bicubic",
        "mean": (0.485, 0.456, 0.406),
        "std": (0.229, 0.224, 0.225),
        "crop_pct": 0.875,
        "crop_mode": "center",
    }


def test_empty_args_give_defaults_instead_of_failing():
    cfg = resolve_data_config({})
    assert cfg == resolve_data_config()
    assert cfg["input_size"] == (3, 224, 224) and cfg["interpolation"] == "bicubic"


def test_namespace_args_and_model_first():
    ns = argparse.Namespace(img_size=128, crop_pct=None, mean=None)
    assert resolve_data_config(ns)["input_size"] == (3, 128, 128)
    cfg = resolve_model_data_config(_Model(), use_test_size=True)
    assert cfg["input_size"] == (3, 320, 320) and cfg["crop_pct"] == 1.0 and cfg["crop_mode"] == "squash"


def test_caller_dicts_not_mutated():
    args = {"img_size": 100}
    pre = dict(_Model.pretrained_cfg)
    resolve_data_config(args, pretrained_cfg=pre)
    assert args == {"img_size": 100} and pre == _Model.pretrained_cfg


@pytest.mark.parametrize(
    "args, match",
    [
        ({"input_size": (224, 224)}, "input_size"),
        ({"img_size": (224, 224)}, "img_size"),
        ({"mean": (0.1, 0.2)}, "mean"),
        ({"in_chans": 1, "std": (0.1, 0.2, 0.3)}, "std"),
    ],
)
def test_invalid_values_raise_config_error(args, match):
    with pytest.raises(ConfigError, match=match):
        resolve_data_config(args)
    with pytest.raises(ValueError):
        resolve_data_config(args)


ONE_CHANNEL = "mean: expected 1 value (in_chans=1), got 3: (0.1, 0.2, 0.3)"
THREE_CHANNELS = "std: expected 1 value (used for every channel) or 3 (one per channel, in_chans=3), got 2: "


@pytest.mark.parametrize(
    "args, message",
    [
        ({"in_chans": 1, "mean": (0.1, 0.2, 0.3)}, ONE_CHANNEL),
        ({"in_chans": 3, "std": (0.1, 0.2)}, THREE_CHANNELS + "(0.1, 0.2)"),
    ],
)
def test_per_channel_length_message_states_the_rule(args, message):
    with pytest.raises(ConfigError) as info:
        resolve_data_config(args)
    assert str(info.value) == message


@pytest.mark.parametrize("in_chans", [1, 3])
def test_single_mean_and_std_broadcast_to_every_channel(in_chans):
    cfg = resolve_data_config({"in_chans": in_chans, "mean": (0.5,), "std": [0.25]})
    assert cfg["mean"] == (0.5,) * in_chans and cfg["std"] == (0.25,) * in_chans


def test_adapt_to_chs_takes_any_sequence():
    from pixelpipe.config import adapt_to_chs

    assert adapt_to_chs(range(3), 3) == (0.0, 1.0, 2.0)
    assert adapt_to_chs([0.5, 0.25, 0.125], 3) == (0.5, 0.25, 0.125)
    assert adapt_to_chs(0.5, 2) == (0.5, 0.5)
