"""The augmentation op registry: op name → functions and magnitude mapping, as data.

Each :class:`OpSpec` names the PIL function, the uint8-tensor function (same name in
:mod:`~pixelpipe.augment.functional_pil` / :mod:`~pixelpipe.augment.functional_tensor`), how a magnitude turns
into the function's argument, whether that argument gets a random sign, and whether the op is geometric (takes
a fill colour and an interpolation). The magnitude mappings follow REFERENCE §6.3 (timm ``auto_augment``):
``l = m / 10`` after clamping ``m`` to ``[0, magnitude_max]``; the arithmetic is written in the same order as
the reference so the arguments are bit-identical.

Example:
    >>> OPS["Solarize"].level(5.0, {}, 1.0)
    128
    >>> OPS["ColorIncreasing"].level(10.0, {}, -1.0)
    0.1
    >>> "PosterizeIncreasing" in OP_NAMES
    True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import functional_pil as FP

__all__ = ["LEVEL_DENOM", "OPS", "OP_NAMES", "OpSpec", "get_op_spec"]

LEVEL_DENOM = 10.0
"""Magnitude scale: level = magnitude / 10."""

DEFAULT_TRANSLATE_CONST = 250
DEFAULT_TRANSLATE_PCT = 0.45

LevelFn = Callable[[float, Mapping[str, Any], float], Any]


@dataclass(frozen=True)
class OpSpec:
    """One augmentation op.

    Attributes:
        name: registry key (the reference's op name).
        fn: name of the function in the functional modules.
        level: ``level(magnitude, hparams, sign) -> arg``, or ``None`` for ops without argument. ``sign`` is
            ``+1.0`` or ``-1.0`` (always ``+1.0`` unless ``signed``).
        signed: the argument's sign is random (drawn in ``make_params``).
        geometric: the op resamples (takes ``fill`` and an interpolation).
    """

    name: str
    fn: str
    level: LevelFn | None = None
    signed: bool = False
    geometric: bool = False


# --- magnitude → argument -------------------------------------------------------------------------------


def _rotate(m: float, hp: Mapping[str, Any], s: float) -> float:
    return s * ((m / LEVEL_DENOM) * 30.0)


def _shear(m: float, hp: Mapping[str, Any], s: float) -> float:
    return s * ((m / LEVEL_DENOM) * 0.3)


def _translate_abs(m: float, hp: Mapping[str, Any], s: float) -> float:
    return s * ((m / LEVEL_DENOM) * float(hp.get("translate_const", DEFAULT_TRANSLATE_CONST)))


def _translate_rel(m: float, hp: Mapping[str, Any], s: float) -> float:
    return s * ((m / LEVEL_DENOM) * hp.get("translate_pct", DEFAULT_TRANSLATE_PCT))


def _posterize(m: float, hp: Mapping[str, Any], s: float) -> int:
    return int((m / LEVEL_DENOM) * 4)


def _posterize_increasing(m: float, hp: Mapping[str, Any], s: float) -> int:
    return 4 - _posterize(m, hp, s)


def _posterize_original(m: float, hp: Mapping[str, Any], s: float) -> int:
    return _posterize(m, hp, s) + 4


def _solarize(m: float, hp: Mapping[str, Any], s: float) -> int:
    return min(256, int((m / LEVEL_DENOM) * 256))


def _solarize_increasing(m: float, hp: Mapping[str, Any], s: float) -> int:
    return 256 - _solarize(m, hp, s)


def _solarize_add(m: float, hp: Mapping[str, Any], s: float) -> int:
    return min(128, int((m / LEVEL_DENOM) * 110))


def _enhance(m: float, hp: Mapping[str, Any], s: float) -> float:
    return (m / LEVEL_DENOM) * 1.8 + 0.1


def _enhance_increasing(m: float, hp: Mapping[str, Any], s: float) -> float:
    return max(0.1, 1.0 + s * ((m / LEVEL_DENOM) * 0.9))


@dataclass(frozen=True)
class _MinMaxLevel:
    """Linear level in ``[lo, hi]``; a class rather than a closure so ops pickle into workers."""

    lo: float
    hi: float

    def __call__(self, m: float, hp: Mapping[str, Any], s: float) -> float:
        v = self.lo + (self.hi - self.lo) * (m / LEVEL_DENOM)
        return max(self.lo, min(self.hi, v))


_desaturate = _MinMaxLevel(0.5, 1.0)
_blur = _MinMaxLevel(0.1, 2.0)
_blur_rand = _MinMaxLevel(0.0, 1.0)


def _specs() -> dict[str, OpSpec]:
    S = OpSpec
    table = [
        S("AutoContrast", "auto_contrast"),
        S("Equalize", "equalize"),
        S("Invert", "invert"),
        S("Rotate", "rotate", _rotate, signed=True, geometric=True),
        S("Posterize", "posterize", _posterize),
        S("PosterizeIncreasing", "posterize", _posterize_increasing),
        S("PosterizeOriginal", "posterize", _posterize_original),
        S("Solarize", "solarize", _solarize),
        S("SolarizeIncreasing", "solarize", _solarize_increasing),
        S("SolarizeAdd", "solarize_add", _solarize_add),
        S("Color", "color", _enhance),
        S("ColorIncreasing", "color", _enhance_increasing, signed=True),
        S("Contrast", "contrast", _enhance),
        S("ContrastIncreasing", "contrast", _enhance_increasing, signed=True),
        S("Brightness", "brightness", _enhance),
        S("BrightnessIncreasing", "brightness", _enhance_increasing, signed=True),
        S("Sharpness", "sharpness", _enhance),
        S("SharpnessIncreasing", "sharpness", _enhance_increasing, signed=True),
        S("ShearX", "shear_x", _shear, signed=True, geometric=True),
        S("ShearY", "shear_y", _shear, signed=True, geometric=True),
        S("TranslateX", "translate_x", _translate_abs, signed=True, geometric=True),
        S("TranslateY", "translate_y", _translate_abs, signed=True, geometric=True),
        S("TranslateXRel", "translate_x_rel", _translate_rel, signed=True, geometric=True),
        S("TranslateYRel", "translate_y_rel", _translate_rel, signed=True, geometric=True),
        S("Desaturate", "desaturate", _desaturate),
        S("GaussianBlur", "gaussian_blur", _blur),
        # the radius is drawn uniformly in [0.1, 2 * level] by AugmentOp.make_params
        S("GaussianBlurRand", "gaussian_blur", _blur_rand),
    ]
    for spec in table:
        if not callable(getattr(FP, spec.fn, None)):  # pragma: no cover - guards the table itself
            raise RuntimeError(f"registry: {spec.name} names a missing function {spec.fn!r}")
    return {spec.name: spec for spec in table}


OPS: Mapping[str, OpSpec] = _specs()
"""Every op by name, in the reference's order."""

OP_NAMES: tuple[str, ...] = tuple(OPS)
"""The valid op names."""


def get_op_spec(name: str) -> OpSpec:
    """The :class:`OpSpec` for ``name``; a ``ConfigError`` listing the valid names if it is unknown.

    Example:
        >>> get_op_spec("Rotate").geometric
        True
    """
    try:
        return OPS[name]
    except (KeyError, TypeError):
        from ..errors import ConfigError

        raise ConfigError(
            f"unknown augmentation op name {name!r}; valid names: {', '.join(OP_NAMES)}"
        ) from None
