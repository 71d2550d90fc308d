"""Device-side augmentation: decode and augment whole batches on the GPU (or any torch device).

The reference augments one image at a time in CPU worker processes. Here the workers only decode (or only
read bytes), and crop, resize, flip, RandAugment / AutoAugment / AugMix, colour jitter, normalisation,
random erasing and Mixup/CutMix run on whole batches on the device, with per-sample parameters as
``(B, ...)`` tensors and no Python loop over the batch.

This package holds what is specific to the device path; the batched ops themselves live in
:mod:`pixelpipe.batch` (their names are re-exported here, as before):

* :mod:`~pixelpipe.device.collate`: variable-size batches (:class:`PaddedBatch`, :class:`EncodedBatch`);
* :mod:`~pixelpipe.device.decode`: batched JPEG decoding on CUDA (nvJPEG), CPU fallback;
* :mod:`~pixelpipe.device.pipeline`: :class:`DeviceAugment`, the whole training / eval recipe, composed
  from :mod:`pixelpipe.batch.crop`, :mod:`pixelpipe.batch.color`, :mod:`pixelpipe.batch.augment`,
  :mod:`pixelpipe.batch.erasing` and :mod:`pixelpipe.batch.mixup`.

Names are imported lazily, so ``import pixelpipe.device`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_NAMES = {
    "FILTERS": "pixelpipe.batch.crop",
    "center_crop_boxes": "pixelpipe.batch.crop",
    "flip": "pixelpipe.batch.crop",
    "resample_weights": "pixelpipe.batch.crop",
    "resized_crop": "pixelpipe.batch.crop",
    "sample_crop_boxes": "pixelpipe.batch.crop",
    "EncodedBatch": "pixelpipe.device.collate",
    "PadCollate": "pixelpipe.device.collate",
    "PaddedBatch": "pixelpipe.device.collate",
    "encoded_collate": "pixelpipe.device.collate",
    "pad_collate": "pixelpipe.device.collate",
    "pad_images": "pixelpipe.device.collate",
    "decode_batch": "pixelpipe.device.decode",
    "exif_orient": "pixelpipe.device.decode",
    "jpeg_components": "pixelpipe.device.decode",
    "BatchColorJitter": "pixelpipe.batch.color",
    "batch_gaussian_blur": "pixelpipe.batch.color",
    "batch_grayscale": "pixelpipe.batch.color",
    "DeviceAugment": "pixelpipe.device.pipeline",
    "DeviceAugmentParams": "pixelpipe.device.pipeline",
}
# the batched augmentation policies (pixelpipe.batch.augment); resolved when first asked for. The single
# ops (pixelpipe.batch.ops: rotate, solarize, ...) stay in their module.
_AUGMENT_NAMES = (
    "BatchAugMix",
    "BatchAugMixParams",
    "BatchAugment",
    "BatchAugmentParams",
    "BatchAutoAugment",
    "BatchRandAugment",
    "batch_augment_from_config",
)

__all__ = sorted([*_NAMES, *_AUGMENT_NAMES])


def __getattr__(name: str) -> Any:
    module = _NAMES.get(name)
    if module is None and name in _AUGMENT_NAMES:
        module = "pixelpipe.batch.augment"
    if module is None:
        raise AttributeError(f"module 'pixelpipe.device' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
