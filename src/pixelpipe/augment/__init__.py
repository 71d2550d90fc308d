"""Image augmentation policies: RandAugment, AutoAugment, AugMix and the ops they draw from.

Layout: :mod:`~pixelpipe.augment.ops` (``AugmentOp``) over the op registry and functional layers;
:mod:`~pixelpipe.augment.policies` (op sets and AutoAugment policies, as data);
:mod:`~pixelpipe.augment.config` (the config-string grammar, parsed into frozen configs);
:mod:`~pixelpipe.augment.rand_augment`, :mod:`~pixelpipe.augment.auto_augment` and
:mod:`~pixelpipe.augment.augmix` (the composite transforms). Names match ``timm.data.auto_augment``.

Example:
    >>> import numpy as np
    >>> from PIL import Image
    >>> t = rand_augment_transform('rand-m9-mstd0.5-inc1', {'translate_const': 100})
    >>> t(Image.new('RGB', (16, 16), (1, 2, 3)), rng=np.random.default_rng(0)).size
    (16, 16)
"""

from __future__ import annotations

from .augmix import AugMixAugment, AugMixParams, augment_and_mix_transform, augmix_ops
from .auto_augment import AutoAugment, AutoAugmentParams, auto_augment_policy, auto_augment_transform
from .config import (
    AugMixConfig,
    AutoAugmentConfig,
    RandAugmentConfig,
    parse_augmix,
    parse_auto_augment,
    parse_rand_augment,
)
from .ops import AugmentOp
from .policies import rand_augment_choices
from .rand_augment import RandAugment, RandAugmentParams, rand_augment_ops, rand_augment_transform

__all__ = [
    "AugMixAugment",
    "AugMixConfig",
    "AugMixParams",
    "AugmentOp",
    "AutoAugment",
    "AutoAugmentConfig",
    "AutoAugmentParams",
    "RandAugment",
    "RandAugmentConfig",
    "RandAugmentParams",
    "augment_and_mix_transform",
    "augmix_ops",
    "auto_augment_policy",
    "auto_augment_transform",
    "parse_augmix",
    "parse_auto_augment",
    "parse_rand_augment",
    "rand_augment_choices",
    "rand_augment_ops",
    "rand_augment_transform",
]
