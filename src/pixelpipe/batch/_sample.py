"""Per-sample parameter sampling for the batched policies, vectorised over the batch.

:class:`OpTable` turns a list of :class:`~pixelpipe.augment.ops.AugmentOp` (a policy's op "slots") into
per-slot constants; :func:`sample_ops` draws, for a ``(B, L)`` tensor of slot indices, everything
:meth:`AugmentOp.make_params` draws for one image — the probability gate, the magnitude noise (Gaussian, or
uniform in ``[0, m]`` for ``mstd = inf``) clamped to ``[0, magnitude_max or 10]``, the argument's random sign,
the interpolation and the redrawn argument (``GaussianBlurRand``'s radius) — with the same distributions,
for all ``B x L`` entries at once from one ``torch.Generator``. The magnitude → argument mappings are the
op specs' own level functions (:mod:`pixelpipe.ops`), evaluated on float64 tensors, so the arguments are
bit-identical to the per-sample path's for the same magnitude and sign.

Example:
    >>> import torch
    >>> m = torch.tensor([0.0, 5.0, 10.0], dtype=torch.float64)
    >>> LEVELS['Solarize'](m, torch.ones(3, dtype=torch.float64), {}).tolist()
    [0.0, 128.0, 256.0]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import torch

from .._transfer import to_device
from ..augment.ops import FILL, RANDOM_INTERPOLATION, AugmentOp, _check_fill, _resolve_interpolation
from ..errors import ConfigError
from ..ops import LEVEL_DENOM, OPS, UNIFORM_MSTD, OpSpec
from ..rng import torch_generator

__all__ = ["LEVELS", "OpDraws", "OpTable", "dirichlet", "log_gamma", "resolve_generator", "sample_ops"]

T = torch.Tensor
LevelFn = Callable[[T, T, Mapping[str, Any]], T]


class _TensorLevel:
    """An op's level function (:attr:`pixelpipe.ops.OpSpec.level`) called as ``(magnitude, sign,
    hparams)`` on float64 tensors; 0 for ops without an argument."""

    def __init__(self, spec: OpSpec) -> None:
        self.level = spec.level

    def __call__(self, m: T, s: T, hp: Mapping[str, Any]) -> T:
        if self.level is None:
            return torch.zeros_like(m)
        out: T = self.level(m, hp, s)
        return out


LEVELS: Mapping[str, LevelFn] = {name: _TensorLevel(spec) for name, spec in OPS.items()}
"""Op name → ``level(magnitude, sign, hparams)`` on float64 tensors (0 for ops without argument): the op
specs' level functions, which are written once for numbers and tensors."""


# --- the op table ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpTable:
    """A policy's ops ("slots") as per-slot constants.

    Attributes:
        ops: the per-sample ops, in slot order.
        kinds: each slot's functional name (``OpSpec.fn``), the key of
            :data:`pixelpipe.batch.ops.KERNELS`.
        fill: the fill colour of the geometric ops (shared by every slot).
        interpolations: the PIL interpolation codes geometric ops choose from, uniformly (shared).
    """

    ops: tuple[AugmentOp, ...]
    kinds: tuple[str, ...]
    fill: tuple[float, ...]
    interpolations: tuple[int, ...]

    @classmethod
    def from_ops(cls, ops: Sequence[AugmentOp]) -> OpTable:
        """Build the table; all ops must share the fill colour and interpolation choices (as the ops of a
        config string or policy do), since geometric ops of one layer are resampled together."""
        ops = tuple(ops)
        if not ops:
            raise ConfigError("batched augmentation: the op list is empty")
        bad = [type(op).__name__ for op in ops if not isinstance(op, AugmentOp)]
        if bad:
            raise ConfigError(f"batched augmentation: ops must be AugmentOp (the batched kernels), got {bad}")
        fills = {_check_fill(op.hparams["img_mean"]) if "img_mean" in op.hparams else FILL for op in ops}
        interps = {
            tuple(
                int(i) for i in _resolve_interpolation(op.hparams.get("interpolation", RANDOM_INTERPOLATION))
            )
            for op in ops
        }
        if len(fills) > 1 or len(interps) > 1:
            raise ConfigError(
                "batched augmentation: all ops must share hparams['img_mean'] and hparams['interpolation'], "
                f"got fills {sorted(fills)} and interpolations {sorted(interps)}"
            )
        return cls(ops, tuple(OPS[op.name].fn for op in ops), fills.pop(), interps.pop())

    def constants(self, device: torch.device | str) -> dict[str, torch.Tensor]:
        """Per-slot ``prob``, ``magnitude``, ``mstd``, ``upper`` (float64), ``signed``, ``geometric``,
        ``redraw`` (bool) on ``device``."""

        def f64(values: Sequence[float]) -> torch.Tensor:
            return to_device(torch.tensor(values, dtype=torch.float64), device)

        def flag(values: Sequence[bool]) -> torch.Tensor:
            return to_device(torch.tensor(values, dtype=torch.bool), device)

        specs = [OPS[op.name] for op in self.ops]
        return {
            "prob": f64([float(op.prob) for op in self.ops]),
            "magnitude": f64([float(op.magnitude) for op in self.ops]),
            "mstd": f64([float(op.magnitude_std) for op in self.ops]),
            "upper": f64([float(op.magnitude_max or LEVEL_DENOM) for op in self.ops]),
            "signed": flag([s.signed for s in specs]),
            "geometric": flag([s.geometric for s in specs]),
            "redraw": flag([s.redraw is not None for s in specs]),
        }


@dataclass(frozen=True)
class OpDraws:
    """The draws for a ``(B, L)`` grid of op slots (``L`` layers or chain steps per sample).

    Attributes:
        op: slot index into the policy's ops, ``-1`` for none (int64).
        applied: the op fires (its slot exists and the probability gate passed).
        magnitude: magnitude after noise and clamping (float64).
        sign: the argument's sign, ``+1`` or ``-1`` (always ``+1`` for unsigned ops) (float64).
        arg: the op's argument: angle, shear, pixels, fraction, bits, threshold, factor or blur radius
            (float64; 0 for ops without one).
        interpolation: PIL interpolation code of geometric ops (0, 2, 3), ``-1`` otherwise (int64).
    """

    op: torch.Tensor
    applied: torch.Tensor
    magnitude: torch.Tensor
    sign: torch.Tensor
    arg: torch.Tensor
    interpolation: torch.Tensor

    def to(self, device: torch.device | str | None, non_blocking: bool = False) -> OpDraws:
        """The same draws on ``device`` (host to device: pinned, non-blocking, see
        :func:`pixelpipe._transfer.to_device`; ``non_blocking`` is kept for compatibility)."""
        if device is None:
            return self
        return OpDraws(**{f.name: to_device(getattr(self, f.name), device) for f in fields(self)})


def resolve_generator(generator: torch.Generator | None) -> torch.Generator:
    """``generator``, or a CPU generator seeded from pixelpipe's process generator (:mod:`pixelpipe.rng`)."""
    return generator if generator is not None else torch_generator()


def sample_ops(table: OpTable, slots: torch.Tensor, generator: torch.Generator) -> OpDraws:
    """Draw gate, magnitude, sign, argument and interpolation for each entry of ``slots`` (``-1``: none).

    The same distributions as :meth:`AugmentOp.make_params`; computed on the generator's device.
    """
    dev = slots.device
    c = table.constants(dev)
    valid = slots >= 0
    s = slots.clamp(min=0)
    shape = slots.shape

    def rand() -> torch.Tensor:
        return torch.rand(shape, generator=generator, device=dev, dtype=torch.float64)

    u_gate, u_mag, u_sign, u_redraw = rand(), rand(), rand(), rand()
    z = torch.randn(shape, generator=generator, device=dev, dtype=torch.float64)
    n_interp = len(table.interpolations)
    pick = torch.randint(0, n_interp, shape, generator=generator, device=dev)

    prob = c["prob"][s]
    applied = valid & ((prob >= 1.0) | (u_gate <= prob))
    m, mstd = c["magnitude"][s], c["mstd"][s]
    noisy = torch.where(mstd > UNIFORM_MSTD, m * u_mag, m + mstd * z)
    m = torch.where(mstd > 0, noisy, m)
    m = torch.minimum(m, c["upper"][s]).clamp(min=0.0)
    sign = torch.where(c["signed"][s] & (u_sign > 0.5), -1.0, 1.0).to(torch.float64)

    arg = torch.zeros(shape, dtype=torch.float64, device=dev)
    for i, op in enumerate(table.ops):  # a loop over the policy's ops, not the batch
        spec = OPS[op.name]
        if spec.level is not None:
            level = spec.level(m, op.hparams, sign)
            if spec.redraw is not None:
                level = spec.redraw(level, u_redraw)
            arg = torch.where(s == i, level, arg)

    codes = to_device(torch.tensor(table.interpolations, dtype=torch.int64), dev)
    interp = torch.where(c["geometric"][s], codes[pick], -1)
    return OpDraws(slots, applied, m, sign, arg, interp)


# --- Dirichlet / Beta from one generator -----------------------------------------------------------------


def log_gamma(alpha: float, shape: Sequence[int], generator: torch.Generator) -> torch.Tensor:
    """``log G`` for ``G ~ Gamma(alpha, 1)`` (float64), stable for small ``alpha``:
    ``G(a) = G(a + 1) * U ** (1 / a)``."""
    dev = generator.device
    conc = torch.full(tuple(shape), float(alpha) + 1.0, dtype=torch.float64, device=dev)
    g = torch._standard_gamma(conc, generator=generator)
    u = torch.rand(tuple(shape), generator=generator, device=dev, dtype=torch.float64)
    return torch.log(g) + torch.log1p(-u) / float(alpha)


def dirichlet(alpha: float, batch: int, width: int, generator: torch.Generator) -> torch.Tensor:
    """``(batch, width)`` rows drawn from ``Dirichlet([alpha] * width)`` (float64).

    Example:
        >>> w = dirichlet(1.0, 4, 3, torch.Generator().manual_seed(0))
        >>> w.shape, bool(torch.allclose(w.sum(-1), torch.ones(4, dtype=torch.float64)))
        (torch.Size([4, 3]), True)
    """
    return torch.softmax(log_gamma(alpha, (batch, width), generator), -1)
