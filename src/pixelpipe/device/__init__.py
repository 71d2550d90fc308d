"""Device-side augmentation: decode and augment whole batches on the GPU (or any torch device).

The reference augments one image at a time in CPU worker processes. Here the workers only decode (or only
read bytes), and crop, resize, flip, RandAugment / AutoAugment / AugMix, colour jitter, normalisation,
random erasing and Mixup/CutMix run on whole batches on the device, with per-sample parameters as
``(B, ...)`` tensors and no Python loop over the batch.

* :mod:`~pixelpipe.device.crop`: batched random resized crop boxes and antialiased resized crops;
* :mod:`~pixelpipe.device.collate`: variable-size batches (:class:`PaddedBatch`, :class:`EncodedBatch`);
* :mod:`~pixelpipe.device.decode`: batched JPEG decoding on CUDA (nvJPEG), CPU fallback;
* :mod:`~pixelpipe.device.color`: batched colour jitter, greyscale and Gaussian blur;
* :mod:`~pixelpipe.device.pipeline`: :class:`DeviceAugment`, the whole training / eval recipe;
* :mod:`~pixelpipe.device.ops` and :mod:`~pixelpipe.device.augment`: batched augmentation ops and
  policies (RandAugment, AutoAugment, AugMix).

Names are imported lazily, so ``import pixelpipe.device`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_NAMES = {
    "FILTERS": "crop",
    "center_crop_boxes": "crop",
    "flip": "crop",
    "resample_weights": "crop",
    "resized_crop": "crop",
    "sample_crop_boxes": "crop",
    "EncodedBatch": "collate",
    "PadCollate": "collate",
    "PaddedBatch": "collate",
    "encoded_collate": "collate",
    "pad_collate": "collate",
    "pad_images": "collate",
    "decode_batch": "decode",
    "exif_orient": "decode",
    "jpeg_components": "decode",
    "BatchColorJitter": "color",
    "batch_gaussian_blur": "color",
    "batch_grayscale": "color",
    "DeviceAugment": "pipeline",
    "DeviceAugmentParams": "pipeline",
}
# the batched augmentation policies (pixelpipe.device.augment); resolved when first asked for. The single
# ops (pixelpipe.device.ops: rotate, solarize, ...) stay in their module.
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
        module = "augment"
    if module is None:
        raise AttributeError(f"module 'pixelpipe.device' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
