"""Device-side batch operations: Mixup / CutMix on tensors and at collate time, CutMix boxes."""

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
