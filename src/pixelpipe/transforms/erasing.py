"""Random Erasing (Zhong et al., "Random Erasing Data Augmentation", 2017), on ``(C, H, W)`` images and
``(B, C, H, W)`` batches, on any device.

Same parameters, box distribution and repr as the reference (``timm.data.random_erasing``): each image is
erased with probability ``probability``; it gets ``count ~ U{min_count..max_count}`` boxes, each drawn with up
to 10 attempts of ``area ~ U(min_area, max_area)·H·W / count`` and ``log(aspect) ~ U(log min_aspect,
log max_aspect)``, accepted only when strictly smaller than the image (``w < W and h < H``). With
``num_splits > 1`` the first ``B // num_splits`` images of a batch (the clean split) are left alone.

Differences from the reference, by design:

* boxes for a whole batch are drawn at once as arrays (:meth:`RandomErasing.make_params`, a few NumPy
  calls per batch); they are pasted with masks over the whole batch on GPUs (no Python loop over images;
  ``'pixel'`` noise is made only for the images that get a box) and as one slice per erased box on CPUs
  (a Python loop over the erased boxes, each a strided view written in place: only erased pixels are
  touched, 16x faster there than masks for a 64-image batch);
* the input is not modified unless ``inplace=True`` (the reference always erases in place); the copy
  made otherwise costs more than erasing itself on a CPU (a fresh batch-sized tensor; huge pages are
  requested for it, see :mod:`pixelpipe.memory`), so loaders should pass ``inplace=True``;
* noise for ``'rand'`` / ``'pixel'`` is drawn on the host from a CPU generator seeded per call (box by box,
  in drawing order) and moved to the input's device without a host sync, so a seed gives the same erased
  pixels on the CPU and on a GPU, with either paste; ``device`` only records intent (the reference makes
  the noise on ``device`` with CUDA's generator and fails when that differs from the input's).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from .._checks import check_int, check_prob, check_real, is_real
from ..base import BatchDesc, BatchTransform
from ..batch.erasing import ATTEMPTS, ErasingParams, copy_for_erasing, paste_masks, paste_slices, sample_boxes
from ..errors import ConfigError
from .base import Transform

__all__ = ["ErasingParams", "RandomErasing"]

_ATTEMPTS = ATTEMPTS


class RandomErasing(Transform, BatchTransform):
    """Erase random rectangles of a normalised image tensor or batch.

    Both contracts: a per-image :class:`~pixelpipe.base.Transform` (``make_params(img, rng)`` with a NumPy
    generator, ``RandomErasing(x, rng=...)``, the reference's call) and a
    :class:`~pixelpipe.base.BatchTransform` (``make_params(desc, generator)`` with a ``torch.Generator``:
    the same distribution drawn on the generator's device by
    :func:`pixelpipe.batch.erasing.sample_boxes`, nothing read back to the host). :meth:`apply` takes
    either's parameters.

    Args:
        probability: chance that an image is erased.
        min_area, max_area: range of the erased fraction of the image (split between the boxes).
        min_aspect, max_aspect: aspect range of a box (``max_aspect`` defaults to ``1 / min_aspect``).
        mode: ``'const'`` (zeros), ``'rand'`` (one normal colour per box and channel) or ``'pixel'``
            (normal noise per pixel).
        min_count, max_count: number of boxes per image, uniform in ``[min_count, max_count]``.
        num_splits: with ``> 1``, the first ``B // num_splits`` images of a batch are skipped.
        device: kept for compatibility; noise is made on the input's device.
        inplace: erase the input itself instead of a copy.
        paste: how boxes are written: ``'masks'`` (one masked write over the batch, best on GPUs),
            ``'slices'`` (one slice write per erased box, best on CPUs, where it only touches erased
            pixels) or ``'auto'`` (slices on CPU, masks elsewhere). ``'const'`` and ``'rand'`` give identical
            results either way; ``'pixel'`` noise has the same distribution but different values.

    Example:
        >>> x = torch.ones(3, 32, 32)
        >>> out = RandomErasing(probability=1.0, device='cpu')(x, rng=np.random.default_rng(0))
        >>> bool((out == 0).any()), bool((x == 1).all())
        (True, True)
        >>> RandomErasing(0.25, mode='pixel', device='cpu')
        RandomErasing(p=0.25, mode=pixel, count=(1, 1))
    """

    def __init__(
        self,
        probability: float = 0.5,
        min_area: float = 0.02,
        max_area: float = 1 / 3,
        min_aspect: float = 0.3,
        max_aspect: float | None = None,
        mode: str = "const",
        min_count: int = 1,
        max_count: int | None = None,
        num_splits: int = 0,
        device: str | torch.device = "cuda",
        *,
        inplace: bool = False,
        paste: str = "auto",
    ) -> None:
        o = "RandomErasing"
        check_prob(probability, "probability", o)
        min_area = check_real(min_area, "min_area", o, lo=0.0, lo_open=True)
        max_area = check_real(max_area, "max_area", o, lo=min_area)
        min_aspect = check_real(min_aspect, "min_aspect", o, lo=0.0, lo_open=True)
        if max_aspect is None or (is_real(max_aspect) and max_aspect == 0):  # 0 / None: 1 / min_aspect
            max_aspect = 1 / min_aspect
        max_aspect = check_real(max_aspect, "max_aspect", o, lo=min_aspect)
        self.probability = probability
        self.min_area = min_area
        self.max_area = max_area
        self.log_aspect_ratio = (math.log(min_aspect), math.log(max_aspect))
        self.min_count = check_int(min_count, "min_count", o, lo=1)
        if max_count is None or (is_real(max_count) and max_count == 0):  # 0 / None: min_count
            max_count = self.min_count
        self.max_count = check_int(max_count, "max_count", o, lo=self.min_count)
        self.num_splits = check_int(num_splits, "num_splits", o, lo=0)
        if mode is not None and not isinstance(mode, str):
            raise ConfigError(f"RandomErasing: mode must be 'const', 'rand' or 'pixel', got {mode!r}")
        self.mode = (mode or "const").lower()
        if self.mode not in ("const", "rand", "pixel"):
            raise ConfigError(f"RandomErasing: mode must be 'const', 'rand' or 'pixel', got {mode!r}")
        self.device = device
        self.inplace = inplace
        if paste not in ("auto", "masks", "slices"):
            raise ConfigError(f"RandomErasing: paste must be 'auto', 'masks' or 'slices', got {paste!r}")
        self.paste = paste

    def make_params(self, img: Any, rng: np.random.Generator | torch.Generator) -> ErasingParams:
        """The boxes of one call: with a NumPy ``rng`` for an image or batch tensor ``img``; with a
        ``torch.Generator`` for a :class:`~pixelpipe.base.BatchDesc` (or an image or batch tensor), on the
        generator's device.

        Example:
            >>> from pixelpipe.base import BatchDesc
            >>> t = RandomErasing(probability=1.0, device="cpu")
            >>> p = t.make_params(BatchDesc(2, 3, 16, 16), torch.Generator().manual_seed(0))
            >>> out = t.apply(torch.ones(2, 3, 16, 16), p)
            >>> bool((out == 0).any(dim=(1, 2, 3)).all())
            True
        """
        if isinstance(rng, torch.Generator):
            return self._sample_batch(img, rng)
        if not isinstance(img, torch.Tensor) or img.ndim not in (3, 4):
            raise TypeError("RandomErasing: expected a (C, H, W) or (B, C, H, W) tensor")
        height, width = int(img.shape[-2]), int(img.shape[-1])
        n = 1 if img.ndim == 3 else int(img.shape[0])
        start = n // self.num_splits if img.ndim == 4 and self.num_splits > 1 else 0
        k = self.max_count
        # A handful of whole-batch NumPy draws: per-call overhead matters as much as size here.
        active = rng.random(n) <= self.probability
        active[:start] = False
        if self.min_count == self.max_count:
            count: Any = self.min_count
            in_count = np.ones(k, dtype=bool)
        else:
            count = rng.integers(self.min_count, self.max_count + 1, size=n)
            in_count = np.arange(k) < count[:, None]
            count = count[:, None, None]
        shape = (n, k, _ATTEMPTS)
        area = rng.uniform(self.min_area, self.max_area, size=shape)
        area *= height * width
        area /= count
        aspect = np.exp(rng.uniform(*self.log_aspect_ratio, size=shape))
        hs = np.rint(np.sqrt(area * aspect))
        ws = np.rint(np.sqrt(np.divide(area, aspect, out=area)))
        ok = (ws < width) & (hs < height)
        pick = ok.argmax(axis=-1).ravel() + np.arange(0, n * k * _ATTEMPTS, _ATTEMPTS)
        valid = ok.any(axis=-1) & in_count & active[:, None]
        h = np.where(valid, hs.ravel()[pick].reshape(n, k), 0).astype(np.int64)
        w = np.where(valid, ws.ravel()[pick].reshape(n, k), 0).astype(np.int64)
        top = rng.integers(0, height - h + 1)
        left = rng.integers(0, width - w + 1)
        boxes = np.stack([top, left, h, w], axis=-1)
        return ErasingParams(boxes, valid, int(rng.integers(0, 2**63 - 1)))

    def _sample_batch(self, desc: Any, generator: torch.Generator) -> ErasingParams:
        if isinstance(desc, torch.Tensor) and desc.ndim == 3:
            desc = BatchDesc.of(desc.unsqueeze(0))  # one image: a batch of one, no clean split
            skip = 0
        else:
            if isinstance(desc, torch.Tensor) and desc.ndim == 4:
                desc = BatchDesc.of(desc)
            if not isinstance(desc, BatchDesc):
                raise TypeError("RandomErasing: expected a BatchDesc or a (C, H, W) / (B, C, H, W) tensor")
            skip = desc.batch_size // self.num_splits if self.num_splits > 1 else 0
        return sample_boxes(
            desc,
            generator,
            probability=float(self.probability),
            area=(self.min_area, self.max_area),
            log_aspect=self.log_aspect_ratio,
            count=(self.min_count, self.max_count),
            skip=skip,
        )

    def apply(self, img: torch.Tensor, params: ErasingParams) -> torch.Tensor:
        if not params.any_erased():
            return img if self.inplace else copy_for_erasing(img)
        if self.mode != "const" and not img.is_floating_point():
            raise TypeError(f"RandomErasing: mode {self.mode!r} needs a float tensor, got {img.dtype}")
        out = img if self.inplace else copy_for_erasing(img)
        x = out if img.ndim == 4 else out.unsqueeze(0)
        if self.paste == "slices" or (self.paste == "auto" and x.device.type == "cpu"):
            paste_slices(x, params, self.mode)
        else:
            paste_masks(x, params, self.mode)
        return out

    def __call__(  # type: ignore[override]  # the reference's (x), with either generator
        self,
        img: Any,
        *,
        rng: np.random.Generator | None = None,
        generator: torch.Generator | None = None,
    ) -> Any:
        """Erase ``img`` (``(C, H, W)`` or ``(B, C, H, W)``): boxes from ``generator`` (batched contract) if
        given, else from ``rng`` (default :func:`pixelpipe.rng.get_rng`)."""
        if generator is None:
            return Transform.__call__(self, img, rng=rng)
        if rng is not None:
            raise ConfigError("RandomErasing: give rng= or generator=, not both")
        return self.apply(img, self.make_params(img, generator))

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(p={self.probability}, mode={self.mode}, count=({self.min_count}, {self.max_count}))"  # noqa: E501
