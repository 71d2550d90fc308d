"""AugMix: a Dirichlet-weighted mix of ``width`` random op chains, blended with the original image.

Paper: Hendrycks et al., "AugMix: A Simple Data Processing Method to Improve Robustness and Uncertainty",
https://arxiv.org/abs/1912.02781. Behaviour follows the reference (``timm.data.auto_augment``,
REFERENCE.md §6.6), mixing in uint8 pixel space:

* basic mode: ``mixed = sum_k w_k * chain_k(img)`` accumulated in float32, clipped and truncated to uint8,
  then ``out = blend(img, mixed, m)``, with ``w ~ Dirichlet(alpha)`` and ``m ~ Beta(alpha, alpha)`` (both
  float32);
* blended mode (``b1``): the weights become sequential blend factors and each chain is blended into the
  running image in turn (cheaper; not equal to the basic mode).

``blend(a, b, t)`` is Pillow's ``Image.blend`` arithmetic: ``trunc(a + t * (b - a))`` in float32. PIL images
are blended by Pillow itself, so they match the reference bit for bit; uint8 ``(C, H, W)`` tensors go
through the same float32 arithmetic in torch. Unlike the reference, the basic mode works on any image size
and on greyscale images.

Example:
    >>> import numpy as np
    >>> from PIL import Image
    >>> am = augment_and_mix_transform('augmix-m3-w3-d2')
    >>> img = Image.new('RGB', (30, 20), (90, 140, 200))
    >>> out = am(img, rng=np.random.default_rng(0))
    >>> out.size, out.mode
    ((30, 20), 'RGB')
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import torch
from PIL import Image

from ..base.transform import Transform
from ..errors import ConfigError
from ..ops._cpu import cpu_fast, from_hwc, hwc, to_pil
from .config import AugMixConfig, parse_augmix
from .ops import AugmentOp, check_ops
from .policies import AUGMIX_TRANSFORMS

__all__ = [
    "AugMixAugment",
    "AugMixParams",
    "augment_and_mix_transform",
    "augmix_ops",
    "blend",
    "blended_weights",
]


@dataclass(frozen=True)
class AugMixParams:
    """One image's AugMix draw.

    Attributes:
        weights: the chains' mixing weights (float32 values, summing to ~1).
        m: the blend factor with the original image (a float32 value).
        chains: per chain, ``(op index, op params)`` pairs applied in order to the original image.
    """

    weights: tuple[float, ...]
    m: float
    chains: tuple[tuple[tuple[int, Any], ...], ...]


def augmix_ops(
    magnitude: float = 10,
    hparams: Mapping[str, Any] | None = None,
    transforms: Sequence[str] | None = None,
) -> list[AugmentOp]:
    """AugMix's ops: one :class:`AugmentOp` with ``prob=1`` per name.

    Args:
        magnitude: severity of every op.
        hparams: op hyper-parameters (``None``: the defaults); never mutated.
        transforms: op names; ``None`` or empty: :data:`~pixelpipe.augment.policies.AUGMIX_TRANSFORMS`.

    Example:
        >>> ops = augmix_ops(3)
        >>> len(ops), ops[0].name, ops[0].prob
        (13, 'AutoContrast', 1.0)
    """
    names = tuple(transforms) if transforms else AUGMIX_TRANSFORMS
    hp = dict(hparams) if hparams else None
    return [AugmentOp(name, prob=1.0, magnitude=magnitude, hparams=hp) for name in names]


def blended_weights(weights: Sequence[float] | np.ndarray, m: float) -> np.ndarray:
    """Turn mixing weights and the final blend factor into sequential blend factors (float32).

    Blending chain ``k`` into the running image with factor ``a_k``, one after another, gives chain ``k``
    the overall weight ``w_k * m``. Computed back to front as the reference does.

    Example:
        >>> blended_weights([0.5, 0.5], 1.0).tolist()
        [1.0, 0.5]
    """
    ws = np.asarray(weights, dtype=np.float32) * np.float32(m)
    remaining = np.float32(1.0)
    out = np.empty_like(ws)
    for k in range(ws.size - 1, -1, -1):
        out[k] = ws[k] / remaining
        remaining = remaining * (np.float32(1.0) - out[k])
    return out


def blend(a: Any, b: Any, t: float) -> Any:
    """``trunc(a + t * (b - a))`` in float32 for two PIL images (via ``Image.blend``) or uint8 tensors.

    Example:
        >>> import torch
        >>> a = torch.tensor([0, 100, 255], dtype=torch.uint8)
        >>> blend(a, torch.tensor([255, 0, 0], dtype=torch.uint8), 0.5)
        tensor([127,  50, 127], dtype=torch.uint8)
    """
    if isinstance(a, Image.Image):
        return Image.blend(a, b, float(t))
    a32 = a.to(torch.float32)
    out = a32 + float(np.float32(t)) * (b.to(torch.float32) - a32)
    return out.to(torch.uint8)


def _pil_array(img: Image.Image) -> np.ndarray:
    arr = np.asarray(img)
    return arr[:, :, None] if arr.ndim == 2 else arr


def _tensor_array(img: Any) -> np.ndarray | None:
    """One CPU uint8 ``(C, H, W)`` tensor (C = 1 or 3) as an ``(H, W, C)`` array (a view when its memory
    is channels-last); ``None`` for anything else."""
    if isinstance(img, torch.Tensor) and img.dtype == torch.uint8 and img.ndim == 3 and cpu_fast(img):
        return hwc(img)
    return None


def _check(
    name: str, value: Any, kinds: type | tuple[type, ...], ok: Callable[[Any], bool], allowed: str
) -> None:
    if isinstance(value, bool) or not isinstance(value, kinds) or not ok(value):
        raise ConfigError(f"AugMixAugment: {name} must be {allowed}, got {value!r}")


class AugMixAugment(Transform):
    """AugMix on PIL images or uint8 ``(C, H, W)`` tensors (any size, RGB or greyscale).

    Args:
        ops: the ops chains are drawn from (uniformly, with replacement).
        alpha: Dirichlet concentration of the chain weights and Beta parameter of the final blend, > 0.
        width: number of chains, >= 1.
        depth: ops per chain; ``<= 0`` draws 1 to 3 per chain.
        blended: blend chains into the running image one by one instead of summing (see module docs).

    Example:
        >>> import numpy as np
        >>> am = AugMixAugment(augmix_ops(3), alpha=1.0, width=2, depth=1)
        >>> p = am.make_params(None, np.random.default_rng(0))
        >>> len(p.weights), [len(chain) for chain in p.chains]
        (2, [1, 1])
    """

    def __init__(
        self,
        ops: Sequence[AugmentOp],
        alpha: float = 1.0,
        width: int = 3,
        depth: int = -1,
        blended: bool = False,
    ) -> None:
        self.ops = check_ops("AugMixAugment", ops)
        if not self.ops:
            raise ConfigError("AugMixAugment: ops is empty")
        real = (int, float, np.integer, np.floating)
        _check("alpha", alpha, real, lambda a: 0 < a < math.inf, "a finite number > 0")
        _check("width", width, (int, np.integer), lambda w: w >= 1, "an int >= 1")
        _check("depth", depth, (int, np.integer), lambda d: True, "an int (<= 0 for random 1..3)")
        self.alpha = alpha
        self.width = int(width)
        self.depth = int(depth)
        self.blended = bool(blended)

    def make_params(self, img: Any, rng: np.random.Generator) -> AugMixParams:
        """Draw the chain weights, the blend factor, each chain's ops and their parameters."""
        weights = np.float32(rng.dirichlet([self.alpha] * self.width))
        m = np.float32(rng.beta(self.alpha, self.alpha))
        chains = []
        for _ in range(self.width):
            depth = self.depth if self.depth > 0 else int(rng.integers(1, 4))
            indices = rng.integers(0, len(self.ops), size=depth)
            chains.append(tuple((int(i), self.ops[int(i)].make_params(img, rng)) for i in indices))
        return AugMixParams(tuple(float(w) for w in weights), float(m), tuple(chains))

    def _chain(self, img: Any, chain: tuple[tuple[int, Any], ...]) -> Any:
        for index, op_params in chain:
            img = self.ops[index].apply(img, op_params)
        return img

    def apply(self, img: Any, params: AugMixParams) -> Any:
        """Mix the chains (each applied to ``img``) and blend with ``img``; see the module docs."""
        if self.blended:
            out = img
            for t, chain in zip(blended_weights(params.weights, params.m), params.chains, strict=True):
                out = blend(out, self._chain(img, chain), t)
            return out
        is_pil = isinstance(img, Image.Image)
        as_array = _pil_array if is_pil else _tensor_array
        base = as_array(img)
        if base is None:  # not a CPU uint8 image with 1 or 3 channels: plain torch arithmetic
            return self._apply_torch(img, params)
        mixed = np.empty(base.shape, dtype=np.float32)
        scratch = np.empty(base.shape, dtype=np.float32)
        for k, (w, chain) in enumerate(zip(params.weights, params.chains, strict=True)):
            # mixed += float32(w) * float32(aug), without temporaries; the first chain is written, not added
            # to zeros (the same values: products are >= 0, and 0 + x == x)
            dst = mixed if k == 0 else scratch
            aug = cast(np.ndarray, as_array(self._chain(img, chain)))  # same kind as img: not None
            np.multiply(aug, np.float32(w), out=dst, dtype=np.float32)
            if k:
                mixed += scratch
        mixed8: np.ndarray = np.clip(mixed, 0.0, 255.0, out=mixed).astype(np.uint8)
        if is_pil:
            mixed_img = Image.fromarray(mixed8[:, :, 0] if mixed8.shape[2] == 1 else mixed8)
            if mixed_img.mode != img.mode:
                mixed_img = mixed_img.convert(img.mode)
            return blend(img, mixed_img, params.m)
        out = Image.blend(to_pil(base), to_pil(mixed8), float(params.m))  # exact float32 blend
        return from_hwc(np.asarray(out))

    def _apply_torch(self, img: torch.Tensor, params: AugMixParams) -> torch.Tensor:
        mixed = torch.zeros(img.shape, dtype=torch.float32, device=img.device)
        for w, chain in zip(params.weights, params.chains, strict=True):
            mixed += float(np.float32(w)) * self._chain(img, chain).to(torch.float32)
        return blend(img, mixed.clamp_(0.0, 255.0).to(torch.uint8), params.m)

    def __repr__(self) -> str:
        lines = "".join(f"\n\t{op}" for op in self.ops)
        return (
            f"{type(self).__name__}(alpha={self.alpha}, width={self.width}, depth={self.depth}, ops={lines})"
        )


def augment_and_mix_transform(
    config_str: str | AugMixConfig, hparams: Mapping[str, Any] | None = None
) -> AugMixAugment:
    """Build an :class:`AugMixAugment` from a config string such as ``'augmix-m3-w3-d2'``.

    Sections (see :data:`~pixelpipe.augment.config.AUGMIX_KEYS`): ``m`` severity (default 3), ``w`` width (3),
    ``d`` depth (random 1-3), ``a`` alpha (1.0), ``b`` blended mode (0), ``mstd`` magnitude noise (default:
    magnitudes drawn uniformly in ``[0, m]`` per op application).

    Args:
        config_str: the config string, or an already parsed :class:`AugMixConfig`.
        hparams: op hyper-parameters; a ``magnitude_std`` here wins over the string's, as in the reference.
            Never mutated; ``None`` ok.

    Raises:
        ConfigError: a malformed config string (the message names the section and lists the valid keys).

    Example:
        >>> am = augment_and_mix_transform('augmix-m5-w4-d2-b1')
        >>> am.width, am.depth, am.blended, am.ops[0].magnitude
        (4, 2, True, 5)
    """
    cfg = config_str if isinstance(config_str, AugMixConfig) else parse_augmix(config_str)
    ops = augmix_ops(magnitude=cfg.magnitude, hparams=cfg.op_hparams(hparams))
    return AugMixAugment(ops, alpha=cfg.alpha, width=cfg.width, depth=cfg.depth, blended=cfg.blended)
