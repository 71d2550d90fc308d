"""Mixup and CutMix on whole batches, vectorised on any device, and mixing inside the collate function.

Mixup (Zhang et al., 2017, "mixup: Beyond Empirical Risk Minimization", arXiv:1710.09412) blends two
images, ``lam * x_i + (1 - lam) * x_j``; CutMix (Yun et al., 2019, arXiv:1905.04899) pastes a box of
``x_j`` into ``x_i``. Either way the one-hot (optionally label-smoothed) targets are mixed by the same
``lam``. The behaviour follows the reference's ``timm.data.mixup`` (REFERENCE §8): the same arguments,
defaults, modes and sampling distributions, and the partner of sample ``i`` is always sample ``B - 1 - i``.

Design. :class:`Mixup` is a :class:`~pixelpipe.base.BatchTransform`: :meth:`Mixup.make_params` draws every
random number of a call from one ``torch.Generator``, on its device (a few numbers per sample; Beta draws as
a ratio of Gamma draws), and returns a :class:`MixupParams` of ``(N,)`` / ``(N, 4)`` tensors;
:func:`mix_images` and :func:`mixup_target` apply them as pure functions. A call can be replayed with
``mixup.apply(x, params)``. The timm-shaped entry points keep their NumPy ``rng=``: it seeds the CPU
generator (:meth:`Mixup.sample_params`, ``mixup(x, target, rng=...)``). On accelerators the images are mixed
with masks and one gather, without a Python loop over the batch. On CPU, where mixing is bound by memory
traffic, large floating samples are mixed one mirrored pair at a time (one ``lerp`` per blended sample, a
box-sized slice copy per CutMix sample, nothing for unmixed samples in place), and small ones by the batched
kernels over blocks of a few pairs that stay in cache; both give the same bits. :class:`FastCollateMixup`
blends ``uint8`` samples pair by pair straight from the sample arrays into the output batch, in cache-sized
float32 chunks, without stacking the batch first; inside DataLoader workers its output is allocated in
shared memory, as ``default_collate`` does.

Differences from the reference:

* The input batch is **not modified**: :class:`Mixup` returns a new tensor. ``Mixup(..., inplace=True)``
  writes into the input instead (as the reference does) and saves one batch-sized allocation.
* Batch-size checks raise :class:`~pixelpipe.errors.ConfigError` naming the batch size (the reference
  ``assert``\\ s); invalid arguments (unknown ``mode``, no alpha > 0, bad ``cutmix_minmax``, ``prob``...)
  raise at construction instead of being ignored or asserted at call time.
* ``mode='half'`` is supported by :class:`Mixup` as well (the reference's tensor ``Mixup`` silently treats
  it as ``'batch'``): the first ``B / 2`` samples are mixed with the second half and returned.
* :class:`FastCollateMixup` returns ``float32`` targets in every mode (the reference's ``half`` mode gives
  ``float64``), and accepts AugMix tuple samples (every view of a sample gets the same mixing).
* Box sampling: see :mod:`pixelpipe.batch.bbox`.

Layout: this module holds the two classes (arguments, sampling, the call); the targets are mixed in
:mod:`pixelpipe.batch.targets`, the images in :mod:`pixelpipe.batch.mixing` (its CPU pair-by-pair path in
:mod:`pixelpipe.batch._cpu_pairs`), and the collate-time ``uint8`` blending in
:mod:`pixelpipe.batch._collate_mix`. Every name of ``__all__`` is importable from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import default_collate

from .._checks import check_int, check_prob, check_real
from ..base import BatchDesc, BatchTransform
from ..errors import ConfigError
from ..memory import empty_batch
from ..rng import torch_generator
from ._collate_mix import _as_arrays, _collate_mix_uint8
from .bbox import _hw, check_minmax, cutmix_boxes
from .mixing import MixupParams, mix_images
from .targets import mixup_target, one_hot

__all__ = [
    "MIXUP_MODES",
    "FastCollateMixup",
    "Mixup",
    "MixupParams",
    "mix_images",
    "mixup_target",
    "one_hot",
]

MIXUP_MODES = ("batch", "pair", "elem", "half")
"""How lambdas are shared: one per batch, per mirrored pair, per sample, or per sample of the first half."""


def _check_prob(value: float, name: str) -> float:
    return check_prob(value, name, "Mixup")


def _generator(
    rng: np.random.Generator | None, generator: torch.Generator | None, owner: str
) -> torch.Generator:
    """``generator``, else a CPU generator seeded from ``rng`` (default :func:`pixelpipe.rng.get_rng`)."""
    if generator is None:
        return torch_generator(rng)
    if rng is not None:
        raise ConfigError(f"{owner}: give rng= or generator=, not both")
    return generator


class Mixup(BatchTransform):
    """Mixup / CutMix for a batch of images and class targets, on whatever device the batch is on.

    Args:
        mixup_alpha: Beta(alpha, alpha) parameter of the mixup lambda; mixup is active when > 0.
        cutmix_alpha: Beta parameter of the CutMix lambda; CutMix is active when > 0.
        cutmix_minmax: ``(min, max)`` box side ratios; activates CutMix with boxes of random sides instead of
            ``cutmix_alpha`` (which is then set to 1), lambda taken from the box area.
        prob: probability of mixing a batch (``batch``) or a sample / pair (the other modes).
        switch_prob: probability of CutMix rather than mixup when both are active.
        mode: ``'batch'`` (one lambda and box for the batch), ``'pair'`` (one per pair ``i``,
            ``B - 1 - i``, applied symmetrically), ``'elem'`` (one per sample), or ``'half'`` (one per sample
            of the first half, which alone is returned).
        correct_lam: set the CutMix lambda to the kept area once the box is clipped to the image.
        label_smoothing: label smoothing of the targets, applied even to unmixed samples.
        num_classes: number of classes.
        multi_label: targets are dense ``(B, num_classes)`` multi-label vectors.
        inplace: write the mixed images into the input batch (and return it) instead of a new tensor.

    Attribute ``mixup_enabled`` (default true) can be cleared by a training loop to stop mixing; labels
    are still smoothed.

    Example:
        >>> mix = Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, mode="elem", num_classes=10)
        >>> x, y = torch.rand(4, 3, 8, 8), torch.tensor([0, 1, 2, 3])
        >>> xm, ym = mix(x, y, rng=np.random.default_rng(0))
        >>> xm.shape, ym.shape, bool(torch.allclose(ym.sum(1), torch.ones(4)))
        (torch.Size([4, 3, 8, 8]), torch.Size([4, 10]), True)
        >>> params = mix.sample_params(4, x.shape, rng=np.random.default_rng(0))
        >>> torch.equal(mix.apply(x, params), xm)  # replay
        True
    """

    def __init__(
        self,
        mixup_alpha: float = 1.0,
        cutmix_alpha: float = 0.0,
        cutmix_minmax: Sequence[float] | None = None,
        prob: float = 1.0,
        switch_prob: float = 0.5,
        mode: str = "batch",
        correct_lam: bool = True,
        label_smoothing: float = 0.1,
        num_classes: int = 1000,
        multi_label: bool = False,
        *,
        inplace: bool = False,
    ) -> None:
        self.mixup_alpha = check_real(mixup_alpha, "mixup_alpha", "Mixup", lo=0.0)
        self.cutmix_alpha = check_real(cutmix_alpha, "cutmix_alpha", "Mixup", lo=0.0)
        self.cutmix_minmax = None
        if cutmix_minmax is not None:
            self.cutmix_minmax = check_minmax(cutmix_minmax, "cutmix_minmax")
            self.cutmix_alpha = 1.0  # the box comes from minmax; alpha only has to make CutMix active
        if self.mixup_alpha < 0 or self.cutmix_alpha < 0:
            raise ConfigError(
                f"Mixup: alphas must be >= 0, got mixup_alpha={mixup_alpha}, cutmix_alpha={cutmix_alpha}"
            )
        if self.mixup_alpha == 0 and self.cutmix_alpha == 0:
            raise ConfigError("Mixup: nothing to do; set mixup_alpha > 0, cutmix_alpha > 0 or cutmix_minmax")
        self.mix_prob = _check_prob(prob, "prob")
        self.switch_prob = _check_prob(switch_prob, "switch_prob")
        if mode not in MIXUP_MODES:
            raise ConfigError(f"Mixup: mode must be one of {MIXUP_MODES}, got {mode!r}")
        self.mode = mode
        self.correct_lam = bool(correct_lam)
        self.label_smoothing = _check_prob(label_smoothing, "label_smoothing")
        self.num_classes = check_int(num_classes, "num_classes", "Mixup", lo=1)
        self.multi_label = bool(multi_label)
        self.inplace = bool(inplace)
        self.mixup_enabled = True

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(mixup_alpha={self.mixup_alpha}, cutmix_alpha={self.cutmix_alpha}, "
            f"cutmix_minmax={self.cutmix_minmax}, prob={self.mix_prob}, switch_prob={self.switch_prob}, "
            f"mode={self.mode!r}, correct_lam={self.correct_lam}, label_smoothing={self.label_smoothing}, "
            f"num_classes={self.num_classes})"
        )

    @staticmethod
    def _beta(alpha: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One ``Beta(a, a)`` draw (float64) per entry ``a`` of ``alpha``, as ``G1 / (G1 + G2)`` of two
        ``Gamma(a)`` draws, each ``G(a + 1) * U ** (1 / a)`` in log space (stable for small ``a``)."""
        n = alpha.shape[0]
        g = torch._standard_gamma((alpha + 1.0).expand(2, n), generator=generator)
        u = torch.rand((2, n), generator=generator, device=generator.device, dtype=torch.float64)
        lg = g.log_().add_(u.neg_().log1p_().div_(alpha))
        return torch.sigmoid(lg[0] - lg[1])

    def _draw(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` lambdas (float64, 1 where unmixed) and CutMix flags, as the reference samples them (the
        CutMix choice, then a lambda from ``Beta(cutmix_alpha)`` or ``Beta(mixup_alpha)``, then the ``prob``
        gate), on the generator's device."""
        dev = generator.device
        lam = torch.ones(n, dtype=torch.float64, device=dev)
        use_cutmix = torch.zeros(n, dtype=torch.bool, device=dev)
        if not self.mixup_enabled:
            return lam, use_cutmix
        switch, gate = torch.rand((2, n), generator=generator, device=dev, dtype=torch.float64)
        if self.mixup_alpha > 0 and self.cutmix_alpha > 0:
            use_cutmix = switch < self.switch_prob
        elif self.mixup_alpha == 0:
            use_cutmix = torch.ones(n, dtype=torch.bool, device=dev)
        alpha = torch.full((n,), self.mixup_alpha, dtype=torch.float64, device=dev)
        if self.cutmix_alpha > 0:
            alpha.masked_fill_(use_cutmix, self.cutmix_alpha)
        lam_mix = self._beta(alpha, generator)
        active = (gate < self.mix_prob) & (lam_mix < 1.0)
        return torch.where(active, lam_mix, lam), use_cutmix & active

    def _check_batch(self, batch_size: int) -> int:
        b = int(batch_size)
        if b < 2 or b % 2:
            raise ConfigError(
                f"Mixup (mode={self.mode!r}) needs an even batch size >= 2 to pair samples, got "
                f"batch_size={b}. Drop the last incomplete batch (DataLoader drop_last=True)."
            )
        return b

    def make_params(self, desc: BatchDesc, generator: torch.Generator) -> MixupParams:
        """Draw the parameters of one call for the batch ``desc`` describes, on ``generator``'s device.

        Every number is drawn on the generator's device (a CPU generator: host tensors; a CUDA one: CUDA
        tensors, nothing read back). :meth:`apply` and :meth:`mix_targets` move them to the batch's device.

        Raises:
            ConfigError: the batch size is odd or below 2.

        Example:
            >>> from pixelpipe.base import BatchDesc
            >>> mix = Mixup(cutmix_alpha=1.0, mode="pair")
            >>> p = mix.make_params(BatchDesc(4, 3, 8, 8), torch.Generator().manual_seed(0))
            >>> p.partner.tolist(), bool(torch.equal(p.lam, p.lam.flip(0)))
            ([3, 2, 1, 0], True)
        """
        b = self._check_batch(desc.batch_size)
        gen = generator
        dev = gen.device
        n = {"batch": 1, "elem": b, "pair": b // 2, "half": b // 2}[self.mode]
        lam, use_cutmix = self._draw(n, gen)
        boxes = torch.zeros((n, 4), dtype=torch.int64, device=dev)
        if self.cutmix_alpha > 0 and self.mixup_enabled:
            # a box for every entry (no host read of how many are CutMix), kept where CutMix was drawn
            box, lam_cut = cutmix_boxes(
                lam, (desc.height, desc.width), self.cutmix_minmax, self.correct_lam, generator=gen
            )
            boxes = torch.where(use_cutmix[:, None], box, boxes)
            lam = torch.where(use_cutmix, lam_cut, lam)
        if self.mode == "batch":
            lam, use_cutmix, boxes = lam.expand(b), use_cutmix.expand(b), boxes.expand(b, 4)
        elif self.mode == "pair":
            lam, use_cutmix = torch.cat([lam, lam.flip(0)]), torch.cat([use_cutmix, use_cutmix.flip(0)])
            boxes = torch.cat([boxes, boxes.flip(0)])
        partner = torch.arange(b - 1, b - 1 - lam.shape[0], -1, device=dev)
        return MixupParams(
            lam=lam.to(torch.float32).contiguous(),
            use_cutmix=use_cutmix.contiguous(),
            boxes=boxes.contiguous(),
            partner=partner,
        )

    def sample_params(
        self,
        batch_size: int,
        img_shape: Sequence[int],
        device: torch.device | str | None = None,
        rng: np.random.Generator | None = None,
    ) -> MixupParams:
        """:meth:`make_params` on the host, seeded from a NumPy generator (the timm-shaped entry point).

        Args:
            batch_size: input batch size; must be even.
            img_shape: a shape ending with ``(H, W)`` (the batch's shape is fine).
            device: where the returned tensors live (default CPU).
            rng: NumPy generator that seeds the CPU ``torch.Generator`` the draws come from (default
                :func:`pixelpipe.rng.get_rng`).

        Raises:
            ConfigError: ``batch_size`` is odd or below 2.
        """
        b = self._check_batch(batch_size)
        h, w = _hw(img_shape)
        desc = BatchDesc(b, int(img_shape[-3]) if len(img_shape) >= 3 else 1, h, w)
        host = self.make_params(desc, torch_generator(rng))
        return host if device is None else host.to(device, non_blocking=True)

    def apply(self, x: torch.Tensor, params: MixupParams) -> torch.Tensor:
        """Mix a batch with given parameters (no randomness): see :func:`mix_images`."""
        return mix_images(x, params, inplace=self.inplace)

    def mix_targets(self, target: torch.Tensor, params: MixupParams) -> torch.Tensor:
        """Smoothed, mixed ``float32`` targets for ``params`` (one row per output sample)."""
        return mixup_target(
            target,
            self.num_classes,
            params.lam,
            self.label_smoothing,
            self.multi_label,
            partner=params.partner,
        )

    def __call__(  # type: ignore[override]  # timm's signature: (x, target), not BatchTransform's (batch)
        self,
        x: torch.Tensor,
        target: torch.Tensor,
        *,
        rng: np.random.Generator | None = None,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mix ``x`` ``(B, C, H, W)`` and ``target`` ``(B,)``; returns ``(x_mixed, soft_targets)``.

        ``x_mixed`` is a new tensor unless ``inplace``; in ``half`` mode both hold ``B / 2`` rows. The
        draws come from ``generator`` (on its device), else from a CPU generator seeded from ``rng``
        (default :func:`pixelpipe.rng.get_rng`); give one or the other.
        """
        if not isinstance(x, torch.Tensor) or x.ndim < 3:
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ConfigError(f"Mixup: x must be a tensor shaped (B, C, H, W), got {got}")
        if len(target) != len(x):
            raise ConfigError(f"Mixup: {len(target)} targets for a batch of {len(x)} images")
        params = self.make_params(BatchDesc.of(x), _generator(rng, generator, type(self).__name__))
        if params.lam.device != x.device:  # once for the images and the targets (no host sync)
            params = params.to(x.device, non_blocking=True)
        return self.apply(x, params), self.mix_targets(target, params)


class FastCollateMixup(Mixup):
    """A collate function that stacks ``uint8`` samples and applies Mixup/CutMix on the way.

    Takes the arguments of :class:`Mixup` (``inplace`` is ignored: the stacked batch is always a new
    tensor). Samples are ``(image, target)`` pairs, images ``uint8`` tensors or NumPy arrays shaped
    ``(C, H, W)``; blends are rounded half-to-even back to ``uint8``. With AugMix-style samples whose image
    is a tuple of ``S`` views, every view of a sample gets the same mixing and the output is split-major
    (row ``i + j * N`` is view ``j`` of sample ``i``), targets repeated ``S`` times.

    Returns ``(images, targets)``: ``uint8`` ``(N, C, H, W)`` (``N = B``, or ``B / 2`` in ``half`` mode)
    and ``float32`` ``(N, num_classes)``.

    Example:
        >>> collate = FastCollateMixup(cutmix_alpha=1.0, mode="half", num_classes=4)
        >>> batch = [(np.full((3, 8, 8), 10 * i, np.uint8), i) for i in range(4)]
        >>> x, y = collate(batch, rng=np.random.default_rng(0))
        >>> x.dtype, tuple(x.shape), y.dtype, tuple(y.shape)
        (torch.uint8, (2, 3, 8, 8), torch.float32, (2, 4))
    """

    def __call__(  # type: ignore[override]  # a collate function: (samples), not (x, target)
        self,
        batch: Sequence[tuple[Any, Any]],
        _: Any = None,
        *,
        rng: np.random.Generator | None = None,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if len(batch) == 0 or not isinstance(batch[0], (tuple, list)) or len(batch[0]) < 2:
            raise ConfigError("FastCollateMixup: expected a non-empty list of (image, target) samples")
        images = [s[0] for s in batch]
        splits = isinstance(images[0], (tuple, list))
        if splits:
            num_splits = len(images[0])
            if any(not isinstance(v, (tuple, list)) or len(v) != num_splits for v in images):
                raise ConfigError(f"FastCollateMixup: every sample must have {num_splits} views")
            views = [_as_arrays([v[j] for v in images], f"view {j}:") for j in range(num_splits)]
            if any(v[0].shape != views[0][0].shape for v in views):
                raise ConfigError("FastCollateMixup: the views of a sample differ in shape")
        else:
            views = [_as_arrays(images, "batch:")]
        target = default_collate([s[1] for s in batch])
        b, shape = len(batch), views[0][0].shape
        gen = _generator(rng, generator, "FastCollateMixup")
        if gen.device.type != "cpu":
            raise ConfigError(
                f"FastCollateMixup: the collate mixes on the host, got a {gen.device} torch.Generator"
            )
        params = self.make_params(BatchDesc(b, int(shape[0]), int(shape[1]), int(shape[2])), gen)
        n = params.lam.shape[0]
        # split-major: row i + j * N is view j of sample i, every view mixed with the same parameters
        out = empty_batch((len(views), n, *shape), torch.uint8)
        # host-sync: none for the three: CPU parameters (sampled on "cpu" above)
        lam = params.lam.numpy()  # host-sync: none, CPU
        cut = params.use_cutmix.numpy()  # host-sync: none, CPU
        boxes = params.boxes.numpy()  # host-sync: none, CPU
        out_np = out.numpy()  # host-sync: none, a host batch in the collate
        for j, arrays in enumerate(views):
            _collate_mix_uint8(arrays, out_np[j], lam, cut, boxes)
        y = self.mix_targets(target, params)
        if splits:
            y = y.repeat(num_splits, 1)
        return out.reshape(-1, *shape), y
