"""Batched operations: every op that works on a whole ``(B, C, H, W)`` batch, on any torch device.

Each samples its per-sample parameters for the whole batch at once and applies them with no Python loop
over the batch:

* :mod:`~pixelpipe.batch.mixup` (with :mod:`~pixelpipe.batch.mixing`, :mod:`~pixelpipe.batch.targets`,
  :mod:`~pixelpipe.batch.bbox`): Mixup / CutMix on tensors and at collate time;
* :mod:`~pixelpipe.batch.erasing`: random erasing's boxes and their paste;
* :mod:`~pixelpipe.batch.crop`: random resized crop boxes and antialiased resized crops;
* :mod:`~pixelpipe.batch.color`: colour jitter, greyscale and Gaussian blur;
* :mod:`~pixelpipe.batch.ops` (the batched kernels of the op specs in :mod:`pixelpipe.ops`) and
  :mod:`~pixelpipe.batch.augment`: the augmentation ops and RandAugment / AutoAugment / AugMix policies.

:mod:`pixelpipe.device` composes them into the device-side recipe (:class:`~pixelpipe.device.DeviceAugment`)
and adds what is specific to devices: padded and encoded batches, and nvJPEG decoding.
"""

from .bbox import (
    cutmix_bbox_and_lam,
    rand_bbox,
    rand_bbox_minmax,
)
from .mixing import MixupParams, mix_images
from .mixup import MIXUP_MODES, FastCollateMixup, Mixup
from .targets import mixup_target, one_hot

__all__ = [
    "MIXUP_MODES",
    "FastCollateMixup",
    "Mixup",
    "MixupParams",
    "cutmix_bbox_and_lam",
    "mix_images",
    "mixup_target",
    "one_hot",
    "rand_bbox",
    "rand_bbox_minmax",
]
