"""``AugmentOp``: one named augmentation op with a probability and a magnitude (AutoAugment / RandAugment).

Follows REFERENCE §6.2 (timm ``AugmentOp``) with pixelpipe's fixes: the caller's ``hparams`` are never
mutated, ``hparams=None`` works, a missing ``translate_const`` falls back to 250, greyscale images work with
geometric ops, Posterize with 0 bits gives a black image, and all randomness comes from the generator passed
to :meth:`AugmentOp.make_params` (see :mod:`pixelpipe.rng`).

Sampling (:meth:`AugmentOp.make_params`), per call:

1. with ``prob < 1``, skip the op with probability ``1 - prob``;
2. magnitude noise: ``magnitude_std > 0`` draws ``N(magnitude, magnitude_std)``; ``inf`` (or > 100, what the
   config grammar maps to ``inf``) draws ``U(0, magnitude)``;
3. clamp to ``[0, magnitude_max or 10]``;
4. draw the argument's sign (ops whose sign is random), the interpolation (geometric ops, when
   ``hparams['interpolation']`` is a sequence, default bilinear or bicubic) and the blur radius
   (``GaussianBlurRand``).

Example:
    >>> import numpy as np
    >>> from PIL import Image
    >>> op = AugmentOp("Rotate", prob=1.0, magnitude=9, hparams={"magnitude_std": 0.5})
    >>> op
    AugmentOp(name=Rotate, p=1.0, m=9, mstd=0.5)
    >>> params = op.make_params(None, np.random.default_rng(0))
    >>> params.applied, abs(params.arg) <= 30.0
    (True, True)
    >>> op.apply(Image.new("RGB", (8, 8)), params).size
    (8, 8)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from numbers import Real
from typing import Any, NamedTuple

import numpy as np
import torch
from PIL import Image

from ..base.transform import Transform
from ..errors import ConfigError
from ..ops import LEVEL_DENOM, OP_NAMES, OPS, UNIFORM_MSTD, OpSpec, get_op_spec
from ..ops import pil as FP
from ..ops._image import apply_image

__all__ = [
    "HPARAMS_DEFAULT",
    "NAME_TO_OP",
    "OPS",
    "OP_NAMES",
    "AugmentOp",
    "AugmentOpParams",
    "check_ops",
]

FILL = (128, 128, 128)
HPARAMS_DEFAULT: Mapping[str, Any] = {"translate_const": 250, "img_mean": FILL}
"""The hparams an op gets when none are given (a read-only view; copy before changing)."""

RANDOM_INTERPOLATION = (Image.Resampling.BILINEAR, Image.Resampling.BICUBIC)
NAME_TO_OP = OPS  # reference-style alias: op name -> spec

_INTERP_NAMES = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
}
_ALLOWED_RESAMPLE = frozenset(_INTERP_NAMES.values())
_RESAMPLE_NAMES = {0: "nearest", 2: "bilinear", 3: "bicubic"}


class AugmentOpParams(NamedTuple):
    """The random draws of one :class:`AugmentOp` call (immutable, loggable, replayable).

    Attributes:
        applied: ``False`` when the probability gate skipped the op (the other fields are then unused).
        magnitude: the magnitude after noise and clamping.
        arg: the op's argument (angle, factor, bits, threshold, radius, ...) with its sign; ``None`` for
            ops without one.
        interpolation: the PIL resampling filter for geometric ops, else ``None``.
    """

    applied: bool
    magnitude: float = 0.0
    arg: Any = None
    interpolation: int | None = None


_SKIP = AugmentOpParams(False)


def _is_real(x: Any) -> bool:
    return isinstance(x, Real) and not isinstance(x, bool)


def _resolve_interpolation(value: Any) -> tuple[int, ...]:
    vals = value if isinstance(value, (list, tuple)) else (value,)
    if isinstance(value, str) and value == "random":
        return tuple(RANDOM_INTERPOLATION)
    out = []
    for v in vals:
        r = _INTERP_NAMES.get(v.lower()) if isinstance(v, str) else v
        if r is not None and (
            isinstance(v, Image.Resampling) or (isinstance(r, int) and not isinstance(r, bool))
        ):
            r = Image.Resampling(int(r)) if int(r) in {int(a) for a in _ALLOWED_RESAMPLE} else None
        if r is None or r not in _ALLOWED_RESAMPLE:
            raise ConfigError(
                f"AugmentOp: hparams['interpolation'] must be 'nearest', 'bilinear', 'bicubic', "
                f"'random', the matching PIL.Image.Resampling value, or a sequence of them; got {value!r}"
            )
        out.append(r)
    if not out:
        raise ConfigError("AugmentOp: hparams['interpolation'] is an empty sequence")
    return tuple(out)


def _is_level(x: Any) -> bool:
    return _is_real(x) and 0.0 <= x <= 255.0  # False for NaN


def _check_fill(value: Any) -> tuple[float, ...]:
    if _is_level(value):
        return (float(value),)
    if (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and 1 <= len(value) <= 4
        and all(_is_level(v) for v in value)
    ):
        return tuple(float(v) for v in value)
    raise ConfigError(
        f"AugmentOp: hparams['img_mean'] must be a number or a sequence of 1 to 4 numbers in [0, 255] "
        f"(the fill colour), got {value!r}"
    )


class AugmentOp(Transform):
    """Apply the op ``name`` with probability ``prob`` at magnitude ``magnitude`` (0-10 scale).

    Works on PIL images (output equal to the reference's pixel for pixel) and on ``uint8`` tensors shaped
    ``(C, H, W)`` with ``C`` in 1 or 3 (see :mod:`pixelpipe.augment.functional_tensor` for the tolerance).

    Args:
        name: op name, one of :data:`OP_NAMES`.
        prob: probability in ``[0, 1]`` of applying the op.
        magnitude: magnitude, ``>= 0``; level = magnitude / 10 after noise and clamping.
        hparams: optional mapping (copied, never mutated): ``img_mean`` fill colour (default 128 grey),
            ``interpolation`` (PIL filter, name or a sequence to choose from; default bilinear or bicubic at
            random), ``translate_const`` (pixels at level 1, default 250), ``translate_pct`` (fraction at
            level 1, default 0.45), ``magnitude_std`` (default 0), ``magnitude_max`` (default 10).

    Raises:
        ConfigError: unknown ``name`` (the message lists the valid names) or an argument out of range.

    Example:
        >>> from PIL import Image
        >>> img = Image.new("L", (5, 3), 200)
        >>> AugmentOp("Invert", prob=1.0)(img).getpixel((0, 0))
        55
    """

    def __init__(
        self, name: str, prob: float = 0.5, magnitude: float = 10, hparams: Mapping[str, Any] | None = None
    ) -> None:
        self._spec: OpSpec = get_op_spec(name)
        if not _is_real(prob) or not 0.0 <= float(prob) <= 1.0:
            raise ConfigError(f"AugmentOp: prob must be a number in [0, 1], got {prob!r}")
        if not _is_real(magnitude) or not math.isfinite(magnitude) or magnitude < 0:
            raise ConfigError(f"AugmentOp: magnitude must be a finite number >= 0, got {magnitude!r}")
        if hparams is not None and not isinstance(hparams, Mapping):
            raise ConfigError(f"AugmentOp: hparams must be a mapping or None, got {type(hparams).__name__}")
        self.name = name
        self.prob = prob
        self.magnitude = magnitude
        self.hparams: dict[str, Any] = dict(hparams) if hparams else dict(HPARAMS_DEFAULT)
        hp = self.hparams
        mstd = hp.get("magnitude_std", 0)
        if mstd is None:
            mstd = 0
        if not _is_real(mstd) or math.isnan(mstd) or mstd < 0:
            raise ConfigError(f"AugmentOp: hparams['magnitude_std'] must be a number >= 0, got {mstd!r}")
        mmax = hp.get("magnitude_max", None)
        if mmax is not None and (not _is_real(mmax) or not math.isfinite(mmax) or mmax < 0):
            raise ConfigError(
                f"AugmentOp: hparams['magnitude_max'] must be None or a finite number >= 0, got {mmax!r}"
            )
        for key in ("translate_const", "translate_pct"):
            if key in hp and (not _is_real(hp[key]) or not math.isfinite(hp[key])):
                raise ConfigError(f"AugmentOp: hparams[{key!r}] must be a finite number, got {hp[key]!r}")
        self.magnitude_std = mstd
        self.magnitude_max = mmax
        self._mstd = float(mstd)
        self._upper = float(mmax or LEVEL_DENOM)
        self._fill = _check_fill(hp["img_mean"]) if "img_mean" in hp else FILL
        self._fill_cache: dict[str, Any] = {}
        interp = hp.get("interpolation", RANDOM_INTERPOLATION)
        self._interp = _resolve_interpolation(interp)
        self._int_arg = self._spec.arg_dtype is torch.int64

    # --- sampling ---------------------------------------------------------------------------------------

    def make_params(self, img: Any, rng: np.random.Generator) -> AugmentOpParams:
        """Draw the gate, magnitude, sign, interpolation and blur radius for one call."""
        if self.prob < 1.0 and rng.random() > self.prob:
            return _SKIP
        m = float(self.magnitude)
        mstd = self._mstd
        if mstd > 0:
            if mstd > UNIFORM_MSTD:  # inf, or what the grammar maps to inf
                m = m * rng.random()
            else:
                m = rng.normal(m, mstd)
        m = max(0.0, min(float(m), self._upper))
        spec = self._spec
        level = spec.level
        arg = None
        if level is not None:
            sign = -1.0 if spec.signed and rng.random() > 0.5 else 1.0
            arg = level(m, self.hparams, sign)
            if spec.redraw is not None:
                arg = spec.redraw(arg, rng.random())
            if self._int_arg:
                arg = int(arg)
        interp = None
        if spec.geometric:
            ch = self._interp
            interp = ch[0] if len(ch) == 1 else ch[int(rng.integers(len(ch)))]
        return AugmentOpParams(True, m, arg, interp)

    # --- applying ---------------------------------------------------------------------------------------

    def _fill_for(self, mode: str) -> Any:
        fill = self._fill_cache.get(mode)
        if fill is None:
            fill = FP.fill_for_mode(self._fill if len(self._fill) > 1 else self._fill[0], mode)
            self._fill_cache[mode] = fill
        return fill

    def apply(self, img: Any, params: AugmentOpParams) -> Any:
        """Apply the op with ``params`` from :meth:`make_params` (pure: the input is not modified)."""
        if not params.applied:
            return img
        spec = self._spec
        kind = spec.kind
        if isinstance(img, Image.Image):
            fn = kind.pil
            if spec.geometric:
                return fn(img, params.arg, self._fill_for(img.mode), params.interpolation)
            return fn(img) if spec.level is None else fn(img, params.arg)
        if spec.geometric:
            interp = params.interpolation
            name = _RESAMPLE_NAMES.get(int(interp) if interp is not None else 3, "bicubic")
            return apply_image(kind, img, params.arg, self._fill, name)
        return apply_image(kind, img, params.arg)

    def __repr__(self) -> str:
        s = f"{type(self).__name__}(name={self.name}, p={self.prob}, m={self.magnitude}"
        s += f", mstd={self.magnitude_std}"
        if self.magnitude_max is not None:
            s += f", mmax={self.magnitude_max}"
        return s + ")"


def check_ops(owner: str, ops: Any) -> list[AugmentOp]:
    """``ops`` as a list, each element an op with ``make_params`` and ``apply`` (an :class:`AugmentOp`)."""
    if isinstance(ops, (str, bytes)) or not isinstance(ops, Iterable):
        raise ConfigError(f"{owner}: ops must be a sequence of AugmentOp, got {type(ops).__name__}")
    out = list(ops)
    for op in out:
        if not (callable(getattr(op, "make_params", None)) and callable(getattr(op, "apply", None))):
            raise ConfigError(f"{owner}: ops must be a sequence of AugmentOp, got an element {op!r}")
    return out
