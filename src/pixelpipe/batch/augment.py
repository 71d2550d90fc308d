"""RandAugment, AutoAugment and AugMix on whole batches: per-sample op choice and magnitude, no batch loop.

The batched twins of :mod:`pixelpipe.augment.rand_augment`, :mod:`~pixelpipe.augment.auto_augment` and
:mod:`~pixelpipe.augment.augmix`, built from the same config strings and policies (the per-sample transform
is built first, so parsing, op sets, weights and hparams handling are shared) and drawing from the same
distributions, but for a whole ``uint8`` ``(B, C, H, W)`` batch on any device:

* :meth:`BatchAugment.sample` draws every random number of a call as ``(B, ...)`` tensors from one
  ``torch.Generator`` (:class:`BatchAugmentParams`, :class:`BatchAugMixParams`): per sample and layer the
  op (uniform with replacement, or weighted without replacement via Gumbel top-k, as the per-sample path),
  the probability gate, the magnitude noise (Gaussian with ``mstd``, uniform in ``[0, m]`` for ``inf``,
  clamped to ``[0, magnitude_max or 10]``), the sign, the interpolation and the blur radius; for AugMix the
  Dirichlet chain weights, the Beta blend factor and the depth of each chain (1-3);
* :meth:`BatchAugment.apply` is pure: for each layer it loops over the op kinds present (about 15), never
  over the batch; each kind runs once on the samples that drew it (:mod:`pixelpipe.batch.ops`), and all
  geometric ops of a layer share one affine resampling. With parameters kept on the CPU (the default of
  ``__call__``), grouping the samples needs no device synchronisation.

Tolerance: given the same draws (:meth:`BatchRandAugment.per_sample_params` and friends convert a sample's
draws to the per-sample transform's parameters), the output equals the per-sample transform's on the PIL
image, i.e. the reference's pixels, for every policy tested (``tests/test_device_augment.py``), with
bilinear and bicubic geometric ops. With ``hparams['interpolation'] = 'nearest'`` Pillow's fixed-point
nearest differs at pixel boundaries (see :mod:`pixelpipe.batch.ops`): under 0.5 % of pixels, mean under
0.05 level after a whole policy. AugMix mixes in float32 exactly as the per-sample path does.

Example:
    >>> import torch
    >>> aug = batch_augment_from_config('rand-m9-mstd0.5-inc1')
    >>> images = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    >>> params = aug.sample(4, torch.Generator().manual_seed(0))
    >>> params.layers.op.shape
    torch.Size([4, 2])
    >>> out = aug.apply(images, params)
    >>> out.shape, out.dtype, torch.equal(out, aug.apply(images, params))
    (torch.Size([4, 3, 32, 32]), torch.uint8, True)
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import torch
from PIL import Image

from .._transfer import to_device
from ..augment.augmix import AugMixAugment, AugMixParams, augment_and_mix_transform
from ..augment.auto_augment import AutoAugment, AutoAugmentParams, auto_augment_transform
from ..augment.ops import AugmentOp, AugmentOpParams
from ..augment.rand_augment import RandAugment, RandAugmentParams, rand_augment_transform
from ..base import BatchDesc, BatchTransform
from ..errors import ConfigError
from ..ops import OPS
from ..ops.geometric import _CODE_NAMES, _affine_kernel
from . import ops as D
from ._sample import OpDraws, OpTable, dirichlet, log_gamma, resolve_generator, sample_ops

__all__ = [
    "BatchAugMix",
    "BatchAugMixParams",
    "BatchAugment",
    "BatchAugmentParams",
    "BatchAutoAugment",
    "BatchRandAugment",
    "OpDraws",
    "batch_augment_from_config",
    "batch_augment_from_transform",
]

Device = torch.device | str | None

_INT_ARG_OPS = frozenset(name for name, spec in OPS.items() if spec.arg_dtype is torch.int64)


@dataclass(frozen=True)
class BatchAugmentParams:
    """One call's draws for :class:`BatchRandAugment` / :class:`BatchAutoAugment`.

    Attributes:
        layers: ``(B, L)`` draws (:class:`~pixelpipe.batch._sample.OpDraws`): op slot, applied mask,
            magnitude, sign, argument and interpolation per sample and layer, applied in layer order.
        sub_policy: AutoAugment's ``(B,)`` sub-policy index; ``None`` for RandAugment.
    """

    layers: OpDraws
    sub_policy: torch.Tensor | None = None

    def to(self, device: Device, non_blocking: bool = False) -> BatchAugmentParams:
        """The same parameters on ``device`` (``None``: unchanged)."""
        if device is None:
            return self
        sub = None if self.sub_policy is None else to_device(self.sub_policy, device)
        return BatchAugmentParams(self.layers.to(device, non_blocking=True), sub)


@dataclass(frozen=True)
class BatchAugMixParams:
    """One call's draws for :class:`BatchAugMix`.

    Attributes:
        chains: ``(B, width, max_depth)`` op draws; step ``d`` of chain ``k`` is applied when
            ``d < depth[:, k]`` (its ``applied`` mask says so).
        depth: ``(B, width)`` ops per chain (1-3 when drawn).
        weights: ``(B, width)`` float32 Dirichlet chain weights.
        m: ``(B,)`` float32 Beta blend factor with the original image.
    """

    chains: OpDraws
    depth: torch.Tensor
    weights: torch.Tensor
    m: torch.Tensor

    def to(self, device: Device, non_blocking: bool = False) -> BatchAugMixParams:
        """The same parameters on ``device`` (``None``: unchanged)."""
        if device is None:
            return self
        chains = self.chains.to(device, non_blocking=True)
        return BatchAugMixParams(
            chains, *(to_device(getattr(self, n), device) for n in ("depth", "weights", "m"))
        )


def _check_images(images: torch.Tensor) -> None:
    if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8 or images.ndim != 4:
        got = f"{images.dtype} {tuple(images.shape)}" if isinstance(images, torch.Tensor) else type(images)
        raise TypeError(f"expected a uint8 tensor shaped (B, C, H, W), got {got}")


def _check_batch(batch_size: Any) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 0:
        raise ConfigError(f"batch_size must be an int >= 0, got {batch_size!r}")
    return int(batch_size)


def _groups(codes: torch.Tensor, num: int) -> list[tuple[int, torch.Tensor]]:
    """``[(code, indices)]`` of the samples per code in ``0..num-1`` (``-1``: none); CPU, vectorised."""
    order = torch.argsort(codes, stable=True)
    counts = torch.bincount(codes + 1, minlength=num + 1).tolist()  # host-sync: none, CPU codes
    parts = torch.split(order, counts)
    return [(k, parts[k + 1]) for k in range(num) if counts[k + 1]]


class _Applier:
    """Applies ``(B,)`` layers of op draws of one :class:`OpTable` to a working batch, in place."""

    def __init__(self, table: OpTable) -> None:
        self.table = table
        kinds = tuple(dict.fromkeys(table.kinds))
        self.kind_names = kinds
        self.slot_kind = torch.tensor([kinds.index(k) for k in table.kinds], dtype=torch.int64)
        self.slot_geometric = torch.tensor([D.KERNELS[k].geometric for k in table.kinds], dtype=torch.bool)
        periods = [D.KERNELS[k].period for k in table.kinds]
        self.slot_periodic = torch.tensor([p is not None for p in periods], dtype=torch.bool)
        self.slot_period = torch.tensor([p or 1.0 for p in periods], dtype=torch.float64)
        self._fill: dict[tuple[torch.device, int], torch.Tensor] = {}

    def fill(self, device: torch.device, channels: int) -> torch.Tensor:
        key = (device, channels)
        if key not in self._fill:
            fill = D.fill_vector(self.table.fill, channels)
            self._fill[key] = fill.to(device)  # host-sync: once per device (ready for every stream)
        return self._fill[key]

    def __call__(self, x: torch.Tensor, dev: OpDraws, cpu: OpDraws) -> None:
        """Apply one layer: ``dev`` holds ``(B,)`` draws on ``x``'s device, ``cpu`` the same on the CPU."""
        slot = cpu.op.clamp(min=0)
        active = cpu.applied & (cpu.op >= 0)
        resampling = active & self.slot_geometric[slot]
        # a zero shear/shift resamples to the same pixels and Pillow copies for a whole turn: skip them
        period = self.slot_period[slot]
        identity = (cpu.arg == 0) | (self.slot_periodic[slot] & (cpu.arg.remainder(period) == 0))
        geometric = resampling & ~identity
        kind = torch.where(active & ~resampling, self.slot_kind[slot], -1)
        device = x.device
        for k, idx in _groups(kind, len(self.kind_names)):  # op kinds, not samples
            kernel = D.KERNELS[self.kind_names[k]]
            fn = kernel.batched
            if fn is None:  # pragma: no cover - only geometric kinds have none, and they are not grouped here
                raise RuntimeError(f"op kind {kernel.name!r} has no batched kernel")
            idx_d = to_device(idx, device)
            static = kernel.host_static(cpu.arg.index_select(0, idx)) if kernel.host_static else {}
            out = fn(x.index_select(0, idx_d), dev.arg.index_select(0, idx_d), **static)
            x.index_copy_(0, idx_d, out)
        if not bool(geometric.any()):  # host-sync: none, a CPU tensor (draws are kept on the host)
            return
        _, c, h, w = x.shape
        # matrices on the CPU (tiny), so the groups below need nothing from the device
        geo_idx = geometric.nonzero().view(-1)  # host-sync: none, a CPU tensor
        geo_kind = self.slot_kind[cpu.op[geo_idx]]
        geo_arg = cpu.arg[geo_idx]
        matrix = torch.zeros(geo_idx.numel(), 6, dtype=torch.float64)
        for k in torch.unique(geo_kind).tolist():  # host-sync: none, CPU; the geometric kinds present (<= 7)
            sel = geo_kind == k
            matrix[sel] = D.affine_matrices(self.kind_names[k], geo_arg[sel], h, w)
        # bicubic shears and shifts run along one axis: group by (interpolation, axis)
        along_x = (matrix[:, 3] == 0) & (matrix[:, 4] == 1) & (matrix[:, 5] == 0)
        along_y = (matrix[:, 0] == 1) & (matrix[:, 1] == 0) & (matrix[:, 2] == 0)
        axis = torch.where(along_x, 1, torch.where(along_y, 2, 0))
        code = cpu.interpolation[geo_idx]
        key = code * 3 + torch.where(code == 3, axis, 0)
        fill = self.fill(device, c)
        for k, part in _groups(key, 12):  # (interpolation, axis) pairs, not samples
            idx_d = to_device(geo_idx[part], device)
            mode = _CODE_NAMES[k // 3]
            sub = to_device(matrix[part], device)
            out = _affine_kernel(x.index_select(0, idx_d), sub, fill, mode, (None, "x", "y")[k % 3])
            x.index_copy_(0, idx_d, out)

    def per_sample(self, draws: OpDraws, i: int, j: int | tuple[int, ...]) -> tuple[int, AugmentOpParams]:
        """Entry ``(i, j)`` of ``draws`` as the per-sample path's ``(op index, AugmentOpParams)``."""
        index = (i, *j) if isinstance(j, tuple) else (i, j)
        slot = int(draws.op[index])
        if slot < 0 or not bool(draws.applied[index]):
            return max(slot, 0), AugmentOpParams(False)
        op = self.table.ops[slot]
        spec = OPS[op.name]
        arg: Any = None
        if spec.level is not None:
            arg = float(draws.arg[index])
            if op.name in _INT_ARG_OPS:
                arg = int(arg)
        interp = Image.Resampling(int(draws.interpolation[index])) if spec.geometric else None
        return slot, AugmentOpParams(True, float(draws.magnitude[index]), arg, interp)


class BatchAugment(BatchTransform):
    """Base class: :meth:`sample` draws, :meth:`apply` applies, ``__call__`` does both.

    A :class:`~pixelpipe.base.BatchTransform`: :meth:`make_params` is :meth:`sample` with the parameters
    left on the generator's device. Subclasses hold ``reference``, the equivalent per-sample transform, and
    ``table``, its ops (``None`` for a RandAugment without ops, which draws nothing).
    """

    table: OpTable | None
    _applier: _Applier | None

    @abstractmethod
    def make_params(self, desc: BatchDesc, generator: torch.Generator) -> Any:
        """The batched contract: draw one call's parameters for ``desc.batch_size`` samples, on the
        generator's device, with no host read (:meth:`apply` reads back the op choices of parameters drawn on
        a device, once per call)."""

    def sample(self, batch_size: int, generator: torch.Generator | None = None, device: Device = None) -> Any:
        """:meth:`make_params` for ``batch_size`` samples (the policies only need the batch size).

        Args:
            batch_size: number of samples.
            generator: the source of randomness; ``None``: a CPU generator seeded from
                :func:`pixelpipe.rng.get_rng`. Draws happen on the generator's device.
            device: where the returned tensors live; ``None``: the generator's device. Parameters on the CPU
                let :meth:`apply` group samples without synchronising with the device.
        """
        b = _check_batch(batch_size)
        params = self.make_params(BatchDesc(b, 3, 1, 1), resolve_generator(generator))
        return params if device is None else params.to(device, non_blocking=True)

    @abstractmethod
    def apply(self, images: torch.Tensor, params: Any) -> torch.Tensor:
        """Apply ``params`` to ``uint8`` ``(B, C, H, W)`` ``images``; returns a new tensor (pure)."""

    def __call__(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        _check_images(images)
        return self.apply(images, self.sample(images.shape[0], generator))

    def _layers(self, x: torch.Tensor, draws: OpDraws, cpu: OpDraws, columns: Sequence[Any]) -> None:
        applier = self._applier
        if applier is None:  # no ops: nothing to apply
            return
        for col in columns:  # layers, not samples
            applier(x, _select(draws, col), _select(cpu, col))


def _select(draws: OpDraws, col: Any) -> OpDraws:
    """Column ``col`` (a layer index or a ``(chain, step)`` pair) of ``(B, ...)`` draws as ``(B,)`` draws."""
    index = (slice(None), *col) if isinstance(col, tuple) else (slice(None), col)
    return OpDraws(**{f.name: getattr(draws, f.name)[index] for f in fields(draws)})


def _policy_apply(self: BatchAugment, images: torch.Tensor, params: BatchAugmentParams) -> torch.Tensor:
    _check_images(images)
    layers = params.layers
    if layers.op.shape[0] != images.shape[0]:
        raise ValueError(f"params are for {layers.op.shape[0]} samples, the batch has {images.shape[0]}")
    x = images.clone()
    if x.shape[0] == 0:
        return x
    host = layers.to("cpu")  # host-sync: none for CPU-generator draws (loaders'); else once per batch
    self._layers(x, layers.to(x.device, non_blocking=True), host, range(layers.op.shape[1]))
    return x


class BatchRandAugment(BatchAugment):
    """RandAugment on a batch: ``num_layers`` ops drawn per sample (see
    :class:`~pixelpipe.augment.RandAugment`).

    Args:
        ops: the op set (each op's probability, magnitude, noise and hparams are used).
        num_layers: ops drawn per sample, uniformly with replacement, or with ``choice_weights``
            proportionally without replacement (as the per-sample path).
        choice_weights: one weight per op, or ``None``.

    Raises:
        ConfigError: as :class:`~pixelpipe.augment.RandAugment`, or ops with different fill colours or
            interpolation choices.

    Example:
        >>> import torch
        >>> from pixelpipe.augment import rand_augment_ops
        >>> ra = BatchRandAugment(rand_augment_ops(9, prob=1.0, transforms=['Invert']), num_layers=1)
        >>> ra(torch.zeros(2, 1, 2, 2, dtype=torch.uint8)).view(2, -1).tolist()
        [[255, 255, 255, 255], [255, 255, 255, 255]]
    """

    def __init__(
        self,
        ops: Sequence[AugmentOp],
        num_layers: int = 2,
        choice_weights: Sequence[float] | np.ndarray | None = None,
    ) -> None:
        self.reference = RandAugment(ops, num_layers, choice_weights)
        self.num_layers = self.reference.num_layers
        self.table = OpTable.from_ops(self.reference.ops) if self.reference.ops else None
        self._applier = _Applier(self.table) if self.table is not None else None
        w = self.reference.choice_weights
        self._log_weights = None if w is None else torch.log(torch.as_tensor(w, dtype=torch.float64))

    @classmethod
    def from_transform(cls, transform: RandAugment) -> BatchRandAugment:
        """The batched twin of a per-sample :class:`~pixelpipe.augment.RandAugment`."""
        return cls(transform.ops, transform.num_layers, transform.choice_weights)

    @classmethod
    def from_config(
        cls,
        config_str: str,
        hparams: Mapping[str, Any] | None = None,
        transforms: str | Sequence[str] | Mapping[str, float] | None = None,
    ) -> BatchRandAugment:
        """Build from a config string such as ``'rand-m9-mstd0.5-inc1'`` (see
        :func:`~pixelpipe.augment.rand_augment_transform`)."""
        return cls.from_transform(rand_augment_transform(config_str, hparams, transforms))

    def make_params(self, desc: BatchDesc, generator: torch.Generator) -> BatchAugmentParams:
        """Per sample and layer: op, gate, magnitude, sign, argument, interpolation (see the module docs)."""
        b = _check_batch(desc.batch_size)
        gen = resolve_generator(generator)
        gdev = gen.device
        n_ops, layers = len(self.reference.ops), self.num_layers
        if self._log_weights is None or layers == 0:
            slots = torch.randint(0, max(n_ops, 1), (b, layers), generator=gen, device=gdev)
        else:  # successive sampling without replacement == Gumbel top-k of log-weights
            u = torch.rand((b, n_ops), generator=gen, device=gdev, dtype=torch.float64)
            keys = to_device(self._log_weights, gdev) - torch.log(-torch.log1p(-u))
            slots = torch.topk(keys, layers, dim=-1).indices
        if self.table is None:
            draws = _empty_draws(b, layers, gdev)
        else:
            draws = sample_ops(self.table, slots, gen)
        return BatchAugmentParams(draws)

    def apply(self, images: torch.Tensor, params: BatchAugmentParams) -> torch.Tensor:
        """Apply each layer's ops, in order, to the samples that drew them."""
        if self.table is None or self.num_layers == 0:
            _check_images(images)
            return images.clone()
        return _policy_apply(self, images, params)

    def per_sample_params(self, params: BatchAugmentParams, i: int) -> RandAugmentParams:
        """Sample ``i``'s draws as the per-sample :class:`~pixelpipe.augment.RandAugment`'s parameters."""
        applier = self._applier
        if applier is None:  # no ops (then num_layers == 0): nothing was drawn
            return RandAugmentParams((), ())
        layers = params.layers.to("cpu")  # host-sync: replay and tests only, per call
        pairs = [applier.per_sample(layers, i, j) for j in range(self.num_layers)]
        return RandAugmentParams(tuple(p[0] for p in pairs), tuple(p[1] for p in pairs))

    def __repr__(self) -> str:
        return "Batch" + repr(self.reference)


def _empty_draws(b: int, layers: int, device: torch.device) -> OpDraws:
    z = torch.zeros((b, layers), dtype=torch.float64, device=device)
    neg = torch.full((b, layers), -1, dtype=torch.int64, device=device)
    return OpDraws(neg, torch.zeros((b, layers), dtype=torch.bool, device=device), z, z + 1, z, neg)


class BatchAutoAugment(BatchAugment):
    """AutoAugment on a batch: one uniformly drawn sub-policy per sample, its ops in order.

    Args:
        policy: sub-policies, each a sequence of :class:`~pixelpipe.augment.AugmentOp` (see
            :func:`~pixelpipe.augment.auto_augment_policy`).

    Example:
        >>> import torch
        >>> aa = BatchAutoAugment.from_config('3a')
        >>> p = aa.sample(5, torch.Generator().manual_seed(0))
        >>> p.sub_policy.shape, p.layers.op.shape
        (torch.Size([5]), torch.Size([5, 1]))
    """

    table: OpTable
    _applier: _Applier

    def __init__(self, policy: Sequence[Sequence[AugmentOp]]) -> None:
        self.reference = AutoAugment(policy)
        subs = self.reference.policy
        flat = [op for sub in subs for op in sub]
        if not flat:
            raise ConfigError("BatchAutoAugment: the policy has no ops")
        self.table = OpTable.from_ops(flat)
        self._applier = _Applier(self.table)
        depth = max(len(sub) for sub in subs)
        table = torch.full((len(subs), depth), -1, dtype=torch.int64)
        start = 0
        for i, sub in enumerate(subs):  # sub-policies, at construction
            table[i, : len(sub)] = torch.arange(start, start + len(sub))
            start += len(sub)
        self._sub_slots = table

    @classmethod
    def from_transform(cls, transform: AutoAugment) -> BatchAutoAugment:
        """The batched twin of a per-sample :class:`~pixelpipe.augment.AutoAugment`."""
        return cls(transform.policy)

    @classmethod
    def from_config(cls, config_str: str, hparams: Mapping[str, Any] | None = None) -> BatchAutoAugment:
        """Build from a config string such as ``'v0r-mstd0.5'`` (see
        :func:`~pixelpipe.augment.auto_augment_transform`)."""
        return cls.from_transform(auto_augment_transform(config_str, hparams))

    def make_params(self, desc: BatchDesc, generator: torch.Generator) -> BatchAugmentParams:
        """Per sample: the sub-policy; per op of it: gate, magnitude, sign, argument, interpolation."""
        b = _check_batch(desc.batch_size)
        gen = resolve_generator(generator)
        gdev = gen.device
        sub = torch.randint(0, self._sub_slots.shape[0], (b,), generator=gen, device=gdev)
        slots = to_device(self._sub_slots, gdev)[sub]
        params = BatchAugmentParams(sample_ops(self.table, slots, gen), sub)
        return params

    def apply(self, images: torch.Tensor, params: BatchAugmentParams) -> torch.Tensor:
        """Apply each sample's sub-policy, op by op."""
        return _policy_apply(self, images, params)

    def per_sample_params(self, params: BatchAugmentParams, i: int) -> AutoAugmentParams:
        """Sample ``i``'s draws as the per-sample :class:`~pixelpipe.augment.AutoAugment`'s parameters."""
        if params.sub_policy is None:
            raise ValueError("per_sample_params: these params hold no sub-policy (not from BatchAutoAugment)")
        layers = params.layers.to("cpu")  # host-sync: replay and tests only, per call
        sub = int(params.sub_policy[i])
        n = len(self.reference.policy[sub])
        return AutoAugmentParams(sub, tuple(self._applier.per_sample(layers, i, j)[1] for j in range(n)))

    def __repr__(self) -> str:
        return "Batch" + repr(self.reference)


class BatchAugMix(BatchAugment):
    """AugMix on a batch (see :class:`~pixelpipe.augment.AugMixAugment`), mixing in float32 as it does.

    Args:
        ops: the ops chains draw from (uniformly, with replacement).
        alpha: Dirichlet concentration of the chain weights and Beta parameter of the blend, > 0.
        width: number of chains.
        depth: ops per chain; ``<= 0`` draws 1-3 per sample and chain.
        blended: blend chains one by one (the reference's ``b1`` mode).

    Example:
        >>> import torch
        >>> am = BatchAugMix.from_config('augmix-m3-w3')
        >>> p = am.sample(2, torch.Generator().manual_seed(0))
        >>> p.chains.op.shape, p.weights.dtype
        (torch.Size([2, 3, 3]), torch.float32)
        >>> am(torch.zeros(2, 3, 8, 8, dtype=torch.uint8)).shape
        torch.Size([2, 3, 8, 8])
    """

    table: OpTable
    _applier: _Applier

    def __init__(
        self,
        ops: Sequence[AugmentOp],
        alpha: float = 1.0,
        width: int = 3,
        depth: int = -1,
        blended: bool = False,
    ) -> None:
        self.reference = AugMixAugment(ops, alpha, width, depth, blended)
        ref = self.reference
        self.alpha, self.width, self.depth, self.blended = ref.alpha, ref.width, ref.depth, ref.blended
        self.table = OpTable.from_ops(ref.ops)
        self._applier = _Applier(self.table)

    @classmethod
    def from_transform(cls, transform: AugMixAugment) -> BatchAugMix:
        """The batched twin of a per-sample :class:`~pixelpipe.augment.AugMixAugment`."""
        return cls(transform.ops, transform.alpha, transform.width, transform.depth, transform.blended)

    @classmethod
    def from_config(cls, config_str: str, hparams: Mapping[str, Any] | None = None) -> BatchAugMix:
        """Build from a config string such as ``'augmix-m3-w3-d2'`` (see
        :func:`~pixelpipe.augment.augment_and_mix_transform`)."""
        return cls.from_transform(augment_and_mix_transform(config_str, hparams))

    @property
    def max_depth(self) -> int:
        """Chain steps drawn per chain: ``depth``, or 3 when the depth is random."""
        return self.depth if self.depth > 0 else 3

    def make_params(self, desc: BatchDesc, generator: torch.Generator) -> BatchAugMixParams:
        """Chain weights, blend factor, chain depths, and each chain step's op draws."""
        b = _check_batch(desc.batch_size)
        gen = resolve_generator(generator)
        gdev = gen.device
        w, dmax = self.width, self.max_depth
        weights = dirichlet(float(self.alpha), b, w, gen).to(torch.float32)
        lg = log_gamma(float(self.alpha), (2, b), gen)
        m = torch.sigmoid(lg[0] - lg[1]).to(torch.float32)  # G1 / (G1 + G2) ~ Beta(alpha, alpha)
        if self.depth > 0:
            depth = torch.full((b, w), self.depth, dtype=torch.int64, device=gdev)
        else:
            depth = torch.randint(1, 4, (b, w), generator=gen, device=gdev)
        slots = torch.randint(0, len(self.table.ops), (b, w, dmax), generator=gen, device=gdev)
        steps = torch.arange(dmax, device=gdev).view(1, 1, dmax)
        slots = torch.where(steps < depth.unsqueeze(-1), slots, -1)
        params = BatchAugMixParams(sample_ops(self.table, slots, gen), depth, weights, m)
        return params

    def apply(self, images: torch.Tensor, params: BatchAugMixParams) -> torch.Tensor:
        """Run the chains on the original images and mix them (see :mod:`pixelpipe.augment.augmix`)."""
        _check_images(images)
        if params.weights.shape[0] != images.shape[0]:
            raise ValueError(
                f"params are for {params.weights.shape[0]} samples, the batch has {images.shape[0]}"
            )
        if images.shape[0] == 0:
            return images.clone()
        device = images.device
        chains = params.chains.to(device, non_blocking=True)
        cpu = params.chains.to(
            "cpu"
        )  # host-sync: none for CPU-generator draws (loaders'); else once per batch
        weights = to_device(params.weights, device).to(torch.float32)
        m = to_device(params.m, device).to(torch.float32)
        if self.blended:
            factors = _blended_factors(weights, m)
            out = images
            for k in range(self.width):  # chains, not samples
                aug = images.clone()
                self._layers(aug, chains, cpu, [(k, d) for d in range(self.max_depth)])
                out = _mix_blend(out, aug, factors[:, k])
            return out
        mixed = torch.zeros(images.shape, dtype=torch.float32, device=device)
        for k in range(self.width):  # chains, not samples
            aug = images.clone()
            self._layers(aug, chains, cpu, [(k, d) for d in range(self.max_depth)])
            mixed += weights[:, k].view(-1, 1, 1, 1) * aug.to(torch.float32)
        return _mix_blend(images, mixed.clamp_(0.0, 255.0).to(torch.uint8), m)

    def per_sample_params(self, params: BatchAugMixParams, i: int) -> AugMixParams:
        """Sample ``i``'s draws as the per-sample :class:`~pixelpipe.augment.AugMixAugment`'s parameters."""
        chains = params.chains.to("cpu")  # host-sync: replay and tests only, per call
        depth = params.depth.cpu()  # host-sync: replay and tests only, per call
        out = []
        for k in range(self.width):
            out.append(tuple(self._applier.per_sample(chains, i, (k, d)) for d in range(int(depth[i, k]))))
        weights = tuple(float(v) for v in params.weights[i].cpu())  # host-sync: replay and tests only
        return AugMixParams(weights, float(params.m[i]), tuple(out))

    def __repr__(self) -> str:
        return "Batch" + repr(self.reference)


def _mix_blend(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """:func:`pixelpipe.augment.augmix.blend` with a per-sample factor: ``trunc(a + t (b - a))``, float32."""
    a32 = a.to(torch.float32)
    out = a32 + t.to(torch.float32).view(-1, 1, 1, 1) * (b.to(torch.float32) - a32)
    return out.clamp_(0.0, 255.0).to(torch.uint8)


def _blended_factors(weights: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """:func:`pixelpipe.augment.augmix.blended_weights` per sample (float32, back to front)."""
    ws = weights * m.view(-1, 1)
    remaining = torch.ones_like(m)
    out = torch.empty_like(ws)
    for k in range(ws.shape[1] - 1, -1, -1):  # chains, not samples
        out[:, k] = ws[:, k] / remaining
        remaining = remaining * (1.0 - out[:, k])
    return out


def batch_augment_from_config(config_str: str, hparams: Mapping[str, Any] | None = None) -> BatchAugment:
    """The batched augmentation for an ``auto_augment`` config string, as ``create_transform`` routes it.

    ``'rand-...'`` gives :class:`BatchRandAugment`, ``'augmix-...'`` :class:`BatchAugMix`, anything else
    :class:`BatchAutoAugment` (a policy name such as ``'v0'``, ``'original-mstd0.5'``, ``'3a'``).

    Args:
        config_str: the config string.
        hparams: op hyper-parameters (``translate_const``, ``translate_pct``, ``img_mean``,
            ``interpolation``, ...), as for the per-sample transforms; never mutated.

    Raises:
        ConfigError: a malformed config string (the message names the section and lists the valid keys).

    Example:
        >>> type(batch_augment_from_config('augmix-m5-w2')).__name__
        'BatchAugMix'
        >>> batch_augment_from_config('v0r').table.ops[0].name
        'Equalize'
    """
    if not isinstance(config_str, str):
        raise ConfigError(f"augmentation config must be a string, got {type(config_str).__name__}")
    if config_str.startswith("rand"):
        return BatchRandAugment.from_config(config_str, hparams)
    if config_str.startswith("augmix"):
        return BatchAugMix.from_config(config_str, hparams)
    return BatchAutoAugment.from_config(config_str, hparams)


def batch_augment_from_transform(transform: RandAugment | AutoAugment | AugMixAugment) -> BatchAugment:
    """The batched twin of a per-sample :class:`~pixelpipe.augment.RandAugment`,
    :class:`~pixelpipe.augment.AutoAugment` or :class:`~pixelpipe.augment.AugMixAugment` (same ops,
    probabilities, magnitudes and hparams), e.g. one built by ``create_transform``'s augmentation step.

    Raises:
        ConfigError: any other transform.

    Example:
        >>> from pixelpipe.augment import rand_augment_transform
        >>> batch_augment_from_transform(rand_augment_transform('rand-m7-n3')).num_layers
        3
    """
    if isinstance(transform, RandAugment):
        return BatchRandAugment.from_transform(transform)
    if isinstance(transform, AutoAugment):
        return BatchAutoAugment.from_transform(transform)
    if isinstance(transform, AugMixAugment):
        return BatchAugMix.from_transform(transform)
    raise ConfigError(
        "batch_augment_from_transform: expected RandAugment, AutoAugment or AugMixAugment, "
        f"got {type(transform).__name__}"
    )
