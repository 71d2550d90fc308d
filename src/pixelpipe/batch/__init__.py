"""Device-side batch operations: Mixup / CutMix on tensors and at collate time, CutMix boxes."""

from .bbox import (
    box_mask,
    cutmix_bbox_and_lam,
    cutmix_bbox_and_lam_batch,
    rand_bbox,
    rand_bbox_batch,
    rand_bbox_minmax,
    rand_bbox_minmax_batch,
)
from .mixing import MixupParams, mix_images
from .mixup import MIXUP_MODES, FastCollateMixup, Mixup
from .targets import mixup_target, one_hot

__all__ = [
    "MIXUP_MODES",
    "FastCollateMixup",
    "Mixup",
    "MixupParams",
    "box_mask",
    "cutmix_bbox_and_lam",
    "cutmix_bbox_and_lam_batch",
    "mix_images",
    "mixup_target",
    "one_hot",
    "rand_bbox",
    "rand_bbox_batch",
    "rand_bbox_minmax",
    "rand_bbox_minmax_batch",
]
