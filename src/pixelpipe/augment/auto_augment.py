"""AutoAugment: one sub-policy drawn uniformly per image, its ops applied in order.

Paper: Cubuk et al., "AutoAugment: Learning Augmentation Policies from Data",
https://arxiv.org/abs/1805.09501; policies ``v0``/``v0r`` come from the TPU EfficientNet ImageNet
implementation and ``3a`` from DeiT III (https://arxiv.org/abs/2204.07118). Behaviour follows the reference
(``timm.data.auto_augment``, REFERENCE.md §6.5); the policy tables are data in
:mod:`pixelpipe.augment.policies` and the config grammar is parsed by :mod:`pixelpipe.augment.config`.

Example:
    >>> import numpy as np
    >>> from PIL import Image
    >>> aa = auto_augment_transform('original-mstd0.5')
    >>> len(aa.policy), [op.name for op in aa.policy[0]]
    (25, ['PosterizeOriginal', 'Rotate'])
    >>> img = Image.new('RGB', (20, 16), (10, 200, 90))
    >>> aa(img, rng=np.random.default_rng(3)).size
    (20, 16)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..base.transform import Transform
from ..errors import ConfigError
from .config import AutoAugmentConfig, parse_auto_augment
from .ops import AugmentOp, check_ops
from .policies import AA_POLICIES, AA_POLICY_NAMES

__all__ = ["AutoAugment", "AutoAugmentParams", "auto_augment_policy", "auto_augment_transform"]


@dataclass(frozen=True)
class AutoAugmentParams:
    """One image's AutoAugment draw.

    Attributes:
        sub_policy: index of the chosen sub-policy in ``AutoAugment.policy``.
        op_params: each of its ops' own parameters (from ``AugmentOp.make_params``), in order.
    """

    sub_policy: int
    op_params: tuple[Any, ...]


def auto_augment_policy(name: str = "v0", hparams: Mapping[str, Any] | None = None) -> list[list[AugmentOp]]:
    """The AutoAugment policy ``name`` as lists (sub-policies) of :class:`AugmentOp`.

    Args:
        name: ``'original'``, ``'originalr'``, ``'v0'``, ``'v0r'`` or ``'3a'``.
        hparams: op hyper-parameters (``None``: the defaults); never mutated.

    Raises:
        ConfigError: unknown policy name (the message lists the valid ones).

    Example:
        >>> [(op.name, op.prob, op.magnitude) for op in auto_augment_policy('v0r')[12]]
        [('PosterizeIncreasing', 0.4, 6), ('AutoContrast', 0.4, 7)]
    """
    try:
        table = AA_POLICIES[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"unknown AutoAugment policy {name!r}; valid policies: {', '.join(AA_POLICY_NAMES)}"
        ) from None
    hp = dict(hparams) if hparams else None
    return [
        [AugmentOp(op.name, prob=op.prob, magnitude=op.magnitude, hparams=hp) for op in sub] for sub in table
    ]


class AutoAugment(Transform):
    """Apply one uniformly drawn sub-policy of ``policy`` per image.

    Args:
        policy: sub-policies, each a sequence of ops applied in order (each with its own probability).

    Example:
        >>> import numpy as np
        >>> aa = AutoAugment(auto_augment_policy('3a'))
        >>> aa.make_params(None, np.random.default_rng(0)).sub_policy in (0, 1, 2)
        True
        >>> print(AutoAugment([[AugmentOp('Invert', 1.0, 5)]]))
        AutoAugment(policy=
            [AugmentOp(name=Invert, p=1.0, m=5, mstd=0)])
    """

    def __init__(self, policy: Sequence[Sequence[AugmentOp]]) -> None:
        if isinstance(policy, (str, bytes)) or not isinstance(policy, Iterable):
            raise ConfigError(
                f"AutoAugment: policy must be a list of sub-policies, got {type(policy).__name__}"
            )
        self.policy = [check_ops("AutoAugment sub-policy", sub) for sub in policy]
        if not self.policy:
            raise ConfigError("AutoAugment: policy has no sub-policies")

    def make_params(self, img: Any, rng: np.random.Generator) -> AutoAugmentParams:
        """Draw the sub-policy, then each of its ops' parameters (against the input image: the ops keep
        size and mode)."""
        index = int(rng.integers(0, len(self.policy)))
        return AutoAugmentParams(index, tuple(op.make_params(img, rng) for op in self.policy[index]))

    def apply(self, img: Any, params: AutoAugmentParams) -> Any:
        """Apply the chosen sub-policy's ops in order."""
        for op, op_params in zip(self.policy[params.sub_policy], params.op_params, strict=True):
            img = op.apply(img, op_params)
        return img

    def __repr__(self) -> str:
        subs = "".join("\n\t[" + ", ".join(str(op) for op in sub) + "]" for sub in self.policy)
        return f"{type(self).__name__}(policy={subs})"


def auto_augment_transform(
    config_str: str | AutoAugmentConfig, hparams: Mapping[str, Any] | None = None
) -> AutoAugment:
    """Build an :class:`AutoAugment` from a config string ``<policy>[-mstd<float>]``, e.g. ``'v0r-mstd0.5'``.

    Args:
        config_str: the config string, or an already parsed :class:`AutoAugmentConfig`.
        hparams: op hyper-parameters; a ``magnitude_std`` here wins over the string's ``mstd``, as in the
            reference. Never mutated; ``None`` ok.

    Raises:
        ConfigError: unknown policy, or a malformed section (the message names it and lists the valid keys).

    Example:
        >>> auto_augment_transform('v0-mstd0.5').policy[0][0].magnitude_std
        0.5
    """
    cfg = config_str if isinstance(config_str, AutoAugmentConfig) else parse_auto_augment(config_str)
    return AutoAugment(auto_augment_policy(cfg.policy, hparams=cfg.op_hparams(hparams)))
