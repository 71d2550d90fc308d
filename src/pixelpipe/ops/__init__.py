"""The augmentation ops, one spec each: the unit RandAugment, AutoAugment and AugMix are built from.

An op's spec (:class:`OpSpec`) holds, in one place, everything every tier needs: its name, its level function
(magnitude to argument, written once over numbers and tensors), and its kind (:class:`OpKind`): the argument
dtype, whether it is geometric and its affine matrix, its PIL kernel, its per-image CPU kernel (only where
measured faster than the batched one) and its batched kernel. The per-image transforms
(:class:`~pixelpipe.augment.AugmentOp`), their tensor path (:mod:`pixelpipe.augment.functional_tensor`) and
the batched policies (:mod:`pixelpipe.batch.augment`) all read :data:`OPS`.

The registry is found, not listed: every module of this package that defines ``SPECS`` contributes its ops
(:mod:`~pixelpipe.ops.color`, :mod:`~pixelpipe.ops.filter`, :mod:`~pixelpipe.ops.geometric`). Adding an op
is one new module plus its entry in the contract catalogue (``tests/test_transforms_contract.py``); see
ARCHITECTURE.md, "The op spec". The magnitude mappings follow REFERENCE §6.3 (timm ``auto_augment``):
``l = m / 10`` after clamping ``m`` to ``[0, magnitude_max]``, the arithmetic in the reference's order, so
the arguments are bit-identical.

Example:
    >>> OPS["Solarize"].level(5.0, {}, 1.0)
    128
    >>> OPS["ColorIncreasing"].level(10.0, {}, -1.0)
    0.1
    >>> OPS["Rotate"].geometric, OPS["Rotate"].fn, OPS["Posterize"].arg_dtype
    (True, 'rotate', torch.int64)
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping

from ..errors import ConfigError
from ._spec import (
    DEFAULT_TRANSLATE_CONST,
    DEFAULT_TRANSLATE_PCT,
    LEVEL_DENOM,
    UNIFORM_MSTD,
    LevelFn,
    OpKind,
    OpSpec,
)

__all__ = [
    "DEFAULT_TRANSLATE_CONST",
    "DEFAULT_TRANSLATE_PCT",
    "KINDS",
    "LEVEL_DENOM",
    "OPS",
    "OP_NAMES",
    "UNIFORM_MSTD",
    "LevelFn",
    "OpKind",
    "OpSpec",
    "get_op_spec",
]


def _discover() -> dict[str, OpSpec]:
    """Every ``SPECS`` of this package's public modules, by name; a name given twice is an error."""
    found: dict[str, OpSpec] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for spec in getattr(module, "SPECS", ()):
            if spec.name in found:  # pragma: no cover - guards the op modules
                raise RuntimeError(f"op {spec.name!r} is defined twice (again in {module.__name__})")
            found[spec.name] = spec
    return found


OPS: Mapping[str, OpSpec] = _discover()
"""Every op by name."""

OP_NAMES: tuple[str, ...] = tuple(OPS)
"""The valid op names."""

KINDS: Mapping[str, OpKind] = {spec.kind.name: spec.kind for spec in OPS.values()}
"""Every op kind by functional name (``'solarize'``, ``'rotate'``, ...)."""


def get_op_spec(name: str) -> OpSpec:
    """The :class:`OpSpec` for ``name``; a ``ConfigError`` listing the valid names if it is unknown.

    Example:
        >>> get_op_spec("Rotate").geometric
        True
    """
    try:
        return OPS[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"unknown augmentation op name {name!r}; valid names: {', '.join(OP_NAMES)}"
        ) from None
