"""Augmentation policies as data: RandAugment op sets and weights, AutoAugment policies, AugMix ops.

Nothing in this module draws random numbers or touches images; the tables are immutable constants
(tuples and read-only mappings) that :mod:`pixelpipe.augment.rand_augment`,
:mod:`pixelpipe.augment.auto_augment` and :mod:`pixelpipe.augment.augmix` turn into transforms.

Sources:
    * AutoAugment: Cubuk et al., "AutoAugment: Learning Augmentation Policies from Data",
      https://arxiv.org/abs/1805.09501 (policy ``original``), and the TPU EfficientNet ImageNet policy
      (``v0``).
    * RandAugment: Cubuk et al., "RandAugment: Practical automated data augmentation with a reduced search
      space", https://arxiv.org/abs/1909.13719.
    * AugMix: Hendrycks et al., https://arxiv.org/abs/1912.02781.
    * 3-Augment: Touvron et al., "DeiT III: Revenge of the ViT", https://arxiv.org/abs/2204.07118.

The tables equal those of the reference (``timm.data.auto_augment``, REFERENCE.md §6.4-6.6); the
conformance tests compare them entry by entry.

Example:
    >>> RAND_TRANSFORMS[:3]
    ('AutoContrast', 'Equalize', 'Invert')
    >>> len(AA_POLICIES['v0']), AA_POLICIES['v0'][0]
    (25, (PolicyOp(name='Equalize', prob=0.8, magnitude=1), PolicyOp(name='ShearY', prob=0.8, magnitude=4)))
    >>> names, weights = normalized_weights(RAND_WEIGHTED_3A)
    >>> names[0], round(float(weights[0]), 4)
    ('SolarizeIncreasing', 0.1818)
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from types import MappingProxyType
from typing import NamedTuple, TypeVar

import numpy as np

from ..errors import ConfigError

__all__ = [
    "AA_POLICIES",
    "AA_POLICY_NAMES",
    "AUGMIX_TRANSFORMS",
    "HPARAMS_DEFAULT",
    "RAND_3A",
    "RAND_INCREASING_TRANSFORMS",
    "RAND_TRANSFORMS",
    "RAND_TRANSFORM_SETS",
    "RAND_WEIGHTED_0",
    "RAND_WEIGHTED_3A",
    "PolicyOp",
    "normalized_weights",
    "rand_augment_choices",
]

_Key = TypeVar("_Key", bound=Hashable)  # an op name, or an op's position in a list


class PolicyOp(NamedTuple):
    """One entry of an AutoAugment sub-policy: op name, probability of applying it, magnitude (0-10)."""

    name: str
    prob: float
    magnitude: int


#: Default op hyper-parameters when the caller gives none (translation in pixels, fill colour).
HPARAMS_DEFAULT: Mapping[str, object] = MappingProxyType(
    {"translate_const": 250, "img_mean": (128, 128, 128)}
)

#: The default RandAugment op set (Cutout is left to random erasing).
RAND_TRANSFORMS: tuple[str, ...] = (
    "AutoContrast",
    "Equalize",
    "Invert",
    "Rotate",
    "Posterize",
    "Solarize",
    "SolarizeAdd",
    "Color",
    "Contrast",
    "Brightness",
    "Sharpness",
    "ShearX",
    "ShearY",
    "TranslateXRel",
    "TranslateYRel",
)

#: RandAugment ops whose severity grows with magnitude (``inc1``).
RAND_INCREASING_TRANSFORMS: tuple[str, ...] = (
    "AutoContrast",
    "Equalize",
    "Invert",
    "Rotate",
    "PosterizeIncreasing",
    "SolarizeIncreasing",
    "SolarizeAdd",
    "ColorIncreasing",
    "ContrastIncreasing",
    "BrightnessIncreasing",
    "SharpnessIncreasing",
    "ShearX",
    "ShearY",
    "TranslateXRel",
    "TranslateYRel",
)

#: The three 3-Augment ops as an unweighted RandAugment set (``t3a``).
RAND_3A: tuple[str, ...] = ("SolarizeIncreasing", "Desaturate", "GaussianBlur")

#: 3-Augment ops plus geometric and colour ops, weighted (``t3aw``).
RAND_WEIGHTED_3A: Mapping[str, float] = MappingProxyType(
    {
        "SolarizeIncreasing": 6,
        "Desaturate": 6,
        "GaussianBlur": 6,
        "Rotate": 3,
        "ShearX": 2,
        "ShearY": 2,
        "PosterizeIncreasing": 1,
        "AutoContrast": 1,
        "ColorIncreasing": 1,
        "SharpnessIncreasing": 1,
        "ContrastIncreasing": 1,
        "BrightnessIncreasing": 1,
        "Equalize": 1,
        "Invert": 1,
    }
)

#: Experimental weights loosely following the per-op gains reported in the RandAugment paper (``tweights``).
RAND_WEIGHTED_0: Mapping[str, float] = MappingProxyType(
    {
        "Rotate": 3,
        "ShearX": 2,
        "ShearY": 2,
        "TranslateXRel": 1,
        "TranslateYRel": 1,
        "ColorIncreasing": 0.25,
        "SharpnessIncreasing": 0.25,
        "AutoContrast": 0.25,
        "SolarizeIncreasing": 0.05,
        "SolarizeAdd": 0.05,
        "ContrastIncreasing": 0.05,
        "BrightnessIncreasing": 0.05,
        "Equalize": 0.05,
        "PosterizeIncreasing": 0.05,
        "Invert": 0.05,
    }
)

#: Named RandAugment op sets selectable with a ``t<name>`` config section.
RAND_TRANSFORM_SETS: Mapping[str, tuple[str, ...] | Mapping[str, float]] = MappingProxyType(
    {"3a": RAND_3A, "3aw": RAND_WEIGHTED_3A, "weights": RAND_WEIGHTED_0}
)

#: AugMix ops (the four ``*Increasing`` colour ops are additions to the paper's list).
AUGMIX_TRANSFORMS: tuple[str, ...] = (
    "AutoContrast",
    "ColorIncreasing",
    "ContrastIncreasing",
    "BrightnessIncreasing",
    "SharpnessIncreasing",
    "Equalize",
    "Rotate",
    "PosterizeIncreasing",
    "SolarizeIncreasing",
    "ShearX",
    "ShearY",
    "TranslateXRel",
    "TranslateYRel",
)


#: A policy: sub-policies, each a tuple of ops applied in order.
Policy = tuple[tuple[PolicyOp, ...], ...]


def _policy(*subs: tuple[tuple[str, float, int], ...]) -> Policy:
    return tuple(tuple(PolicyOp(*op) for op in sub) for sub in subs)


def _renamed(policy: Policy, old: str, new: str) -> Policy:
    return tuple(tuple(op._replace(name=new) if op.name == old else op for op in sub) for sub in policy)


_V0 = _policy(
    (("Equalize", 0.8, 1), ("ShearY", 0.8, 4)),
    (("Color", 0.4, 9), ("Equalize", 0.6, 3)),
    (("Color", 0.4, 1), ("Rotate", 0.6, 8)),
    (("Solarize", 0.8, 3), ("Equalize", 0.4, 7)),
    (("Solarize", 0.4, 2), ("Solarize", 0.6, 2)),
    (("Color", 0.2, 0), ("Equalize", 0.8, 8)),
    (("Equalize", 0.4, 8), ("SolarizeAdd", 0.8, 3)),
    (("ShearX", 0.2, 9), ("Rotate", 0.6, 8)),
    (("Color", 0.6, 1), ("Equalize", 1.0, 2)),
    (("Invert", 0.4, 9), ("Rotate", 0.6, 0)),
    (("Equalize", 1.0, 9), ("ShearY", 0.6, 3)),
    (("Color", 0.4, 7), ("Equalize", 0.6, 0)),
    (("Posterize", 0.4, 6), ("AutoContrast", 0.4, 7)),
    (("Solarize", 0.6, 8), ("Color", 0.6, 9)),
    (("Solarize", 0.2, 4), ("Rotate", 0.8, 9)),
    (("Rotate", 1.0, 7), ("TranslateYRel", 0.8, 9)),
    (("ShearX", 0.0, 0), ("Solarize", 0.8, 4)),
    (("ShearY", 0.8, 0), ("Color", 0.6, 4)),
    (("Color", 1.0, 0), ("Rotate", 0.6, 2)),
    (("Equalize", 0.8, 4), ("Equalize", 0.0, 8)),
    (("Equalize", 1.0, 4), ("AutoContrast", 0.6, 2)),
    (("ShearY", 0.4, 7), ("SolarizeAdd", 0.6, 7)),
    (("Posterize", 0.8, 2), ("Solarize", 0.6, 10)),
    (("Solarize", 0.6, 8), ("Equalize", 0.6, 1)),
    (("Color", 0.8, 6), ("Rotate", 0.4, 5)),
)

_ORIGINAL = _policy(
    (("PosterizeOriginal", 0.4, 8), ("Rotate", 0.6, 9)),
    (("Solarize", 0.6, 5), ("AutoContrast", 0.6, 5)),
    (("Equalize", 0.8, 8), ("Equalize", 0.6, 3)),
    (("PosterizeOriginal", 0.6, 7), ("PosterizeOriginal", 0.6, 6)),
    (("Equalize", 0.4, 7), ("Solarize", 0.2, 4)),
    (("Equalize", 0.4, 4), ("Rotate", 0.8, 8)),
    (("Solarize", 0.6, 3), ("Equalize", 0.6, 7)),
    (("PosterizeOriginal", 0.8, 5), ("Equalize", 1.0, 2)),
    (("Rotate", 0.2, 3), ("Solarize", 0.6, 8)),
    (("Equalize", 0.6, 8), ("PosterizeOriginal", 0.4, 6)),
    (("Rotate", 0.8, 8), ("Color", 0.4, 0)),
    (("Rotate", 0.4, 9), ("Equalize", 0.6, 2)),
    (("Equalize", 0.0, 7), ("Equalize", 0.8, 8)),
    (("Invert", 0.6, 4), ("Equalize", 1.0, 8)),
    (("Color", 0.6, 4), ("Contrast", 1.0, 8)),
    (("Rotate", 0.8, 8), ("Color", 1.0, 2)),
    (("Color", 0.8, 8), ("Solarize", 0.8, 7)),
    (("Sharpness", 0.4, 7), ("Invert", 0.6, 8)),
    (("ShearX", 0.6, 5), ("Equalize", 1.0, 9)),
    (("Color", 0.4, 0), ("Equalize", 0.6, 3)),
    (("Equalize", 0.4, 7), ("Solarize", 0.2, 4)),
    (("Solarize", 0.6, 5), ("AutoContrast", 0.6, 5)),
    (("Invert", 0.6, 4), ("Equalize", 1.0, 8)),
    (("Color", 0.6, 4), ("Contrast", 1.0, 8)),
    (("Equalize", 0.8, 8), ("Equalize", 0.6, 3)),
)

_3A = _policy(
    (("Solarize", 1.0, 5),),  # threshold 128
    (("Desaturate", 1.0, 10),),  # full greyscale
    (("GaussianBlurRand", 1.0, 10),),  # radius uniform in [0.1, 2.0]
)

#: AutoAugment policies by name; each is a tuple of sub-policies, each a tuple of :class:`PolicyOp`.
AA_POLICIES: Mapping[str, Policy] = MappingProxyType(
    {
        "original": _ORIGINAL,
        "originalr": _renamed(_ORIGINAL, "PosterizeOriginal", "PosterizeIncreasing"),
        "v0": _V0,
        "v0r": _renamed(_V0, "Posterize", "PosterizeIncreasing"),
        "3a": _3A,
    }
)

#: Valid AutoAugment policy names.
AA_POLICY_NAMES: tuple[str, ...] = tuple(AA_POLICIES)


def rand_augment_choices(name: str, increasing: bool = True) -> tuple[str, ...] | Mapping[str, float]:
    """The RandAugment op set called ``name``: a tuple of op names, or a mapping of op name to weight.

    Args:
        name: ``'3a'``, ``'3aw'`` or ``'weights'`` (see :data:`RAND_TRANSFORM_SETS`); ``''`` selects the
            default set.
        increasing: with ``name=''``, choose :data:`RAND_INCREASING_TRANSFORMS` over :data:`RAND_TRANSFORMS`.

    Raises:
        ConfigError: for any other name (the reference silently falls back to the default set).

    Example:
        >>> rand_augment_choices('3a')
        ('SolarizeIncreasing', 'Desaturate', 'GaussianBlur')
        >>> rand_augment_choices('', increasing=False)[4]
        'Posterize'
    """
    if name == "":
        return RAND_INCREASING_TRANSFORMS if increasing else RAND_TRANSFORMS
    try:
        return RAND_TRANSFORM_SETS[name]
    except (KeyError, TypeError):
        valid = ", ".join(repr(k) for k in RAND_TRANSFORM_SETS)
        raise ConfigError(f"unknown RandAugment transform set {name!r}; valid names: {valid}") from None


def normalized_weights(weights: Mapping[_Key, float]) -> tuple[tuple[_Key, ...], np.ndarray]:
    """Split an ``{op name: weight}`` mapping into names (mapping order) and probabilities summing to 1.

    Raises:
        ConfigError: if the mapping is empty, or a weight is negative or not finite, or all are zero.

    Example:
        >>> normalized_weights({'Rotate': 3, 'ShearX': 1})
        (('Rotate', 'ShearX'), array([0.75, 0.25]))
    """
    names = tuple(weights)
    probs = np.asarray([weights[n] for n in names], dtype=np.float64)
    if probs.size == 0 or not np.all(np.isfinite(probs)) or np.any(probs < 0) or probs.sum() <= 0:
        raise ConfigError(f"op weights must be finite, non-negative and not all zero, got {dict(weights)!r}")
    return names, probs / probs.sum()
