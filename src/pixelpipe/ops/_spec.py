"""The op spec: :class:`OpKind` (one kernel set) and :class:`OpSpec` (one named op over a kind).

A *kind* is what the kernels implement: ``'solarize'`` with a threshold, ``'rotate'`` with an angle. A *spec*
is a named op of the policies (``'Solarize'``, ``'SolarizeIncreasing'``) over a kind: how a magnitude becomes
the kind's argument (its level function), whether that argument takes a random sign, and whether it is
drawn again at random (``GaussianBlurRand``).

Level functions are written once, over numbers that may be Python floats (the per-image path draws one op
at a time) or float64 tensors shaped ``(B, ...)`` (the batched path draws a whole batch): they use only the
helpers below (:func:`level_of`, :func:`trunc`, :func:`clamp`), which do the same arithmetic on both, in
the reference's order of operations, so the two paths give bit-identical arguments.

Example:
    >>> import torch
    >>> m = torch.tensor([0.0, 5.0, 10.0], dtype=torch.float64)
    >>> clamp(trunc(level_of(m) * 256), hi=256).tolist(), clamp(trunc(level_of(5.0) * 256), hi=256)
    ([0.0, 128.0, 256.0], 128)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import torch

__all__ = [
    "DEFAULT_TRANSLATE_CONST",
    "DEFAULT_TRANSLATE_PCT",
    "LEVEL_DENOM",
    "UNIFORM_MSTD",
    "LevelFn",
    "MinMaxLevel",
    "OpKind",
    "OpSpec",
    "clamp",
    "enhance",
    "enhance_increasing",
    "level_of",
    "trunc",
]

LEVEL_DENOM = 10.0
"""Magnitude scale: level = magnitude / 10."""

DEFAULT_TRANSLATE_CONST = 250
DEFAULT_TRANSLATE_PCT = 0.45
UNIFORM_MSTD = 100.0
"""A magnitude std above this (``inf``, or what the config grammar maps to it) draws uniformly in
``[0, m]``."""

Num = TypeVar("Num", float, torch.Tensor)
LevelFn = Callable[[Any, Mapping[str, Any], Any], Any]
"""``level(magnitude, hparams, sign) -> argument``, on Python floats or float64 tensors alike."""


def level_of(m: Num) -> Num:
    """``m / 10``: a true division on every device (CUDA turns ``tensor / number`` into a multiplication by
    the reciprocal, which is not always the same double)."""
    if isinstance(m, torch.Tensor):
        return m / torch.full_like(m, LEVEL_DENOM)
    return m / LEVEL_DENOM


def trunc(x: Any) -> Any:
    """Round towards zero: ``int(x)`` for a number, ``x.trunc()`` (same dtype) for a tensor."""
    if isinstance(x, torch.Tensor):
        return x.trunc()
    return math.trunc(x)


def clamp(x: Num, lo: float | None = None, hi: float | None = None) -> Num:
    """``min(hi, max(lo, x))`` (``None``: no bound), as the reference's ``max``/``min``."""
    if isinstance(x, torch.Tensor):
        return x.clamp(min=lo, max=hi)
    if lo is not None:
        x = max(lo, x)
    if hi is not None:
        x = min(hi, x)
    return x


def enhance(m: Any, hp: Mapping[str, Any], s: Any) -> Any:
    """The enhance ops' factor: ``m / 10 * 1.8 + 0.1``, in ``[0.1, 1.9]``."""
    return level_of(m) * 1.8 + 0.1


def enhance_increasing(m: Any, hp: Mapping[str, Any], s: Any) -> Any:
    """The increasing enhance ops' factor: ``1 +- m / 10 * 0.9``, at least 0.1."""
    return clamp(1.0 + s * (level_of(m) * 0.9), lo=0.1)


@dataclass(frozen=True)
class MinMaxLevel:
    """Linear level in ``[lo, hi]``: ``lo + (hi - lo) * m / 10``, clamped (a class so that ops pickle)."""

    lo: float
    hi: float

    def __call__(self, m: Any, hp: Mapping[str, Any], s: Any) -> Any:
        return clamp(self.lo + (self.hi - self.lo) * level_of(m), self.lo, self.hi)


@dataclass(frozen=True)
class OpKind:
    """One op's kernels, every tier, and what they take.

    Attributes:
        name: the functional name (``'solarize'``), the same in :mod:`pixelpipe.ops.pil`,
            :mod:`pixelpipe.augment.functional_tensor` and :mod:`pixelpipe.batch.ops`.
        pil: the PIL kernel, ``pil(img)``, ``pil(img, arg)`` or, geometric, ``pil(img, arg, fill, resample)``;
            equal to the reference pixel for pixel.
        batched: the batched kernel ``batched(images, arg, **static) -> images`` on ``uint8`` ``(B, C, H, W)``
            with a ``(B,)`` argument of ``arg_dtype`` (ignored by kinds without one); ``None`` for geometric
            kinds, which are one shared affine resampling of the matrices ``matrix`` builds.
        cpu: the per-image CPU kernel (same call as ``pil`` on a ``uint8`` ``(..., C, H, W)`` CPU tensor with
            1 or 3 channels), kept only where measured faster than ``batched`` at batch size 1; it may return
            ``None`` to hand a case to the batched kernel. ``None``: the per-image path is the batched kernel.
        arg_dtype: the argument's dtype (``torch.int64`` or ``torch.float64``); ``None`` for no argument.
        geometric: the kind resamples (takes a fill colour and an interpolation).
        matrix: ``matrix(arg, height, width) -> (n, 6)`` float64 affine matrices in Pillow's convention
            (output pixel centre ``(x, y)`` reads input ``(a x + b y + c, d x + e y + f)``); geometric only.
        host_static: ``host_static(arg_on_host) -> kwargs`` of ``batched`` computed on the host (so the
            kernel needs no value from the device), or ``None``.
        period: geometric kinds: the argument is an identity at its multiples (360 for a rotation; Pillow
            copies the image there), as at 0; ``None``: only at 0.
    """

    name: str
    pil: Callable[..., Any]
    batched: Callable[..., torch.Tensor] | None
    cpu: Callable[..., torch.Tensor | None] | None = None
    arg_dtype: torch.dtype | None = torch.float64
    geometric: bool = False
    matrix: Callable[[torch.Tensor, int, int], torch.Tensor] | None = None
    host_static: Callable[[torch.Tensor], dict[str, Any]] | None = None
    period: float | None = None

    @property
    def fn(self) -> Callable[..., torch.Tensor] | None:
        """The batched kernel (the name :class:`pixelpipe.batch.ops.Kernel` had)."""
        return self.batched

    def __reduce__(self) -> tuple[Any, ...]:
        return (_kind_by_name, (self.name,))  # pickled by name: the kernels may be lambdas


@dataclass(frozen=True)
class OpSpec:
    """One named augmentation op: its kind (kernels) and how a magnitude becomes its argument.

    Attributes:
        name: the registry key (the reference's op name).
        kind: the :class:`OpKind` that runs it.
        level: ``level(magnitude, hparams, sign) -> arg`` (see :data:`LevelFn`), or ``None`` for ops without
            an argument. ``sign`` is ``+1.0`` or ``-1.0`` (always ``+1.0`` unless ``signed``).
        signed: the argument's sign is random (drawn with the other parameters).
        redraw: ``redraw(arg, u) -> arg``: the argument is drawn again from its level and a uniform ``u`` in
            ``[0, 1)`` (numbers or tensors, as ``level``); ``None`` for a fixed argument.
    """

    name: str
    kind: OpKind
    level: LevelFn | None = None
    signed: bool = False
    redraw: Callable[[Any, Any], Any] | None = None

    @property
    def fn(self) -> str:
        """The kind's functional name."""
        return self.kind.name

    @property
    def geometric(self) -> bool:
        """Whether the op resamples (takes ``fill`` and an interpolation)."""
        return self.kind.geometric

    @property
    def arg_dtype(self) -> torch.dtype | None:
        """The argument's dtype, ``None`` without one."""
        return self.kind.arg_dtype if self.level is not None else None

    def __reduce__(self) -> tuple[Any, ...]:
        return (_spec_by_name, (self.name,))  # pickled by name, as the registry holds it


def _kind_by_name(name: str) -> OpKind:
    from . import KINDS

    return KINDS[name]


def _spec_by_name(name: str) -> OpSpec:
    from . import OPS

    return OPS[name]
