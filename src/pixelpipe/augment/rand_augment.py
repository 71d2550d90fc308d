"""RandAugment: ``n`` ops drawn per image from an op set, each applied with probability ``p``.

Paper: Cubuk et al., "RandAugment: Practical automated data augmentation with a reduced search space",
https://arxiv.org/abs/1909.13719. Behaviour follows the reference (``timm.data.auto_augment``, REFERENCE.md
§6.4): unweighted op sets are sampled *with* replacement (an op can be picked twice for one image), weighted
sets *without* replacement; magnitude noise (``mstd``) and the per-op probability are each op's own business
(:class:`~pixelpipe.augment.ops.AugmentOp`). The config grammar lives in :mod:`pixelpipe.augment.config`,
the op sets in :mod:`pixelpipe.augment.policies`.

All randomness is drawn in :meth:`RandAugment.make_params` from the generator passed in;
:meth:`RandAugment.apply` is pure, so a draw can be logged and replayed.

Example:
    >>> import numpy as np
    >>> from PIL import Image
    >>> ra = rand_augment_transform('rand-m9-mstd0.5-inc1')
    >>> ra.num_layers, len(ra.ops), ra.ops[4].name
    (2, 15, 'PosterizeIncreasing')
    >>> img = Image.new('RGB', (32, 24), (120, 60, 30))
    >>> a = ra(img, rng=np.random.default_rng(0))
    >>> b = ra(img, rng=np.random.default_rng(0))
    >>> a.size, a.tobytes() == b.tobytes()
    ((32, 24), True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..base.transform import Transform
from ..errors import ConfigError
from .config import RandAugmentConfig, parse_rand_augment
from .ops import AugmentOp, check_ops
from .policies import (
    RAND_INCREASING_TRANSFORMS,
    RAND_TRANSFORMS,
    normalized_weights,
    rand_augment_choices,
)

__all__ = ["RandAugment", "RandAugmentParams", "rand_augment_ops", "rand_augment_transform"]


@dataclass(frozen=True)
class RandAugmentParams:
    """One image's RandAugment draw.

    Attributes:
        op_indices: indices into ``RandAugment.ops`` of the chosen ops, in the order they are applied.
        op_params: each chosen op's own parameters (from ``AugmentOp.make_params``), aligned with
            ``op_indices``.
    """

    op_indices: tuple[int, ...]
    op_params: tuple[Any, ...]


def rand_augment_ops(
    magnitude: float = 10,
    prob: float = 0.5,
    hparams: Mapping[str, Any] | None = None,
    transforms: Sequence[str] | Mapping[str, float] | None = None,
) -> list[AugmentOp]:
    """One :class:`AugmentOp` per op name, all with the same magnitude, probability and hparams.

    Args:
        magnitude: op magnitude (0-10 scale).
        prob: probability that each op fires when chosen.
        hparams: op hyper-parameters (``None``: the defaults); never mutated.
        transforms: op names, or an ``{name: weight}`` mapping (its keys are used); ``None`` or empty:
            :data:`~pixelpipe.augment.policies.RAND_TRANSFORMS`.

    Example:
        >>> [op.name for op in rand_augment_ops(9, transforms=['Rotate', 'Equalize'])]
        ['Rotate', 'Equalize']
    """
    names = tuple(transforms) if transforms else RAND_TRANSFORMS
    hp = dict(hparams) if hparams else None
    return [AugmentOp(name, prob=prob, magnitude=magnitude, hparams=hp) for name in names]


def _check_weights(
    choice_weights: Sequence[float] | np.ndarray | None, num_ops: int, num_layers: int
) -> np.ndarray | None:
    if choice_weights is None:
        return None
    try:
        weights = np.asarray(choice_weights, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ConfigError(f"RandAugment: choice_weights must be numbers, got {choice_weights!r}") from None
    if weights.size != num_ops:
        raise ConfigError(f"RandAugment: {weights.size} choice_weights given for {num_ops} ops")
    try:
        _, probs = normalized_weights(dict(enumerate(weights.tolist())))
    except ConfigError as e:
        raise ConfigError(f"RandAugment: choice_weights: {e}") from None
    nonzero = int(np.count_nonzero(probs))
    if num_layers > nonzero:
        raise ConfigError(
            f"RandAugment: num_layers={num_layers} ops are drawn without replacement from weighted ops, "
            f"but only {nonzero} ops have a non-zero weight"
        )
    return probs


class RandAugment(Transform):
    """Apply ``num_layers`` ops chosen at random from ``ops`` to each image.

    Args:
        ops: the op set; each op decides itself whether it fires (its ``prob``) and its magnitude noise.
        num_layers: ops drawn per image. Drawn uniformly *with* replacement, or, with ``choice_weights``,
            proportionally to the weights *without* replacement (as the reference).
        choice_weights: one non-negative weight per op, normalised to sum to 1; ``None`` for uniform.

    Raises:
        ConfigError: bad ``num_layers`` or weights (wrong length, negative, all zero, or fewer non-zero
            weights than ``num_layers``).

    Example:
        >>> import numpy as np
        >>> ra = RandAugment(rand_augment_ops(5, prob=1.0, transforms=['Invert', 'Equalize']), num_layers=3)
        >>> params = ra.make_params(None, np.random.default_rng(1))
        >>> len(params.op_indices)
        3
        >>> print(RandAugment(rand_augment_ops(5, transforms=['Invert']), 1))
        RandAugment(n=1, ops=
            AugmentOp(name=Invert, p=0.5, m=5, mstd=0))
    """

    def __init__(
        self,
        ops: Sequence[AugmentOp],
        num_layers: int = 2,
        choice_weights: Sequence[float] | np.ndarray | None = None,
    ) -> None:
        if isinstance(num_layers, bool) or not isinstance(num_layers, (int, np.integer)) or num_layers < 0:
            raise ConfigError(f"RandAugment: num_layers must be an int >= 0, got {num_layers!r}")
        self.ops = check_ops("RandAugment", ops)
        if num_layers > 0 and not self.ops:
            raise ConfigError("RandAugment: ops is empty but num_layers > 0")
        self.num_layers = int(num_layers)
        self.choice_weights = _check_weights(choice_weights, len(self.ops), self.num_layers)

    def make_params(self, img: Any, rng: np.random.Generator) -> RandAugmentParams:
        """Draw the op choices, then each chosen op's parameters (the ops keep the image size and mode, so
        each draws against the input image)."""
        if self.choice_weights is None:
            indices = rng.integers(0, len(self.ops), size=self.num_layers)
        else:
            indices = rng.choice(len(self.ops), size=self.num_layers, replace=False, p=self.choice_weights)
        chosen = tuple(int(i) for i in indices)
        return RandAugmentParams(chosen, tuple(self.ops[i].make_params(img, rng) for i in chosen))

    def apply(self, img: Any, params: RandAugmentParams) -> Any:
        """Apply the chosen ops in order."""
        for index, op_params in zip(params.op_indices, params.op_params, strict=True):
            img = self.ops[index].apply(img, op_params)
        return img

    def __repr__(self) -> str:
        lines = "".join(f"\n\t{op}" for op in self.ops)
        return f"{type(self).__name__}(n={self.num_layers}, ops={lines})"


def rand_augment_transform(
    config_str: str | RandAugmentConfig,
    hparams: Mapping[str, Any] | None = None,
    transforms: str | Sequence[str] | Mapping[str, float] | None = None,
) -> RandAugment:
    """Build a :class:`RandAugment` from a config string such as ``'rand-m9-mstd0.5-inc1'``.

    Sections (any order, see :data:`~pixelpipe.augment.config.RAND_AUGMENT_KEYS`): ``m`` magnitude
    (default 10), ``n`` ops per image (2), ``p`` op probability (0.5), ``mstd`` magnitude noise std
    (> 100: uniform in ``[0, m]``), ``mmax`` magnitude clamp (10), ``inc`` increasing ops (``inc0`` off,
    ``inc1`` on), ``t<name>`` op set (``3a``, ``3aw``, ``weights``).

    Args:
        config_str: the config string, or an already parsed :class:`RandAugmentConfig`.
        hparams: op hyper-parameters (``translate_const``, ``img_mean``, ``interpolation``, ...); values
            here win over ``mstd``/``mmax`` in the string, as in the reference. Never mutated; ``None`` ok.
        transforms: op set overriding the string's ``t`` section: a set name, a list of op names, or an
            ``{op name: weight}`` mapping (weighted choice).

    Raises:
        ConfigError: a malformed config string (the message names the section and lists the valid keys),
            an unknown op-set or op name.

    Example:
        >>> ra = rand_augment_transform('rand-m7-n3-t3aw')
        >>> ra.num_layers, len(ra.ops), round(float(ra.choice_weights[0]), 4)
        (3, 14, 0.1818)
    """
    cfg = config_str if isinstance(config_str, RandAugmentConfig) else parse_rand_augment(config_str)
    if transforms is None:
        transforms = cfg.transforms
    if isinstance(transforms, str):
        transforms = rand_augment_choices(transforms, increasing=cfg.increasing)
    elif transforms is None:
        transforms = RAND_INCREASING_TRANSFORMS if cfg.increasing else RAND_TRANSFORMS
    weights = None
    if isinstance(transforms, Mapping):
        names, weights = normalized_weights(transforms)
    else:
        names = tuple(transforms)
    ops = rand_augment_ops(cfg.magnitude, cfg.prob, cfg.op_hparams(hparams), names)
    return RandAugment(ops, cfg.num_layers, choice_weights=weights)
