"""``timm.data.auto_augment``'s module path: an alias of names from :mod:`pixelpipe.augment`.

The objects are pixelpipe's own and this module holds no code:
``from timm.data.auto_augment import ...`` becomes ``from pixelpipe.auto_augment import ...``.

Example:
    >>> import pixelpipe
    >>> from pixelpipe.auto_augment import RandAugment
    >>> RandAugment is pixelpipe.RandAugment
    True
"""

from .augment import (
    AugmentOp,
    AugMixAugment,
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

__all__ = [
    "AugMixAugment",
    "AugmentOp",
    "AutoAugment",
    "RandAugment",
    "augment_and_mix_transform",
    "augmix_ops",
    "auto_augment_policy",
    "auto_augment_transform",
    "rand_augment_choices",
    "rand_augment_ops",
    "rand_augment_transform",
]
