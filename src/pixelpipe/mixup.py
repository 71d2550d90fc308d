"""``timm.data.mixup``'s module path: an alias of names from :mod:`pixelpipe.batch`.

The objects are pixelpipe's own and this module holds no code:
``from timm.data.mixup import ...`` becomes ``from pixelpipe.mixup import ...``.

Example:
    >>> import pixelpipe
    >>> from pixelpipe.mixup import Mixup
    >>> Mixup is pixelpipe.Mixup
    True
"""

from .batch import (
    FastCollateMixup,
    Mixup,
    cutmix_bbox_and_lam,
    mixup_target,
    one_hot,
    rand_bbox,
    rand_bbox_minmax,
)

__all__ = [
    "FastCollateMixup",
    "Mixup",
    "cutmix_bbox_and_lam",
    "mixup_target",
    "one_hot",
    "rand_bbox",
    "rand_bbox_minmax",
]
