"""``timm.data.transforms_factory``'s module path: an alias of names from :mod:`pixelpipe.factories.transform`
and :mod:`pixelpipe.transforms`.

The objects are pixelpipe's own and this module holds no code:
``from timm.data.transforms_factory import ...`` becomes ``from pixelpipe.transforms_factory import ...``.

Example:
    >>> import pixelpipe
    >>> from pixelpipe.transforms_factory import create_transform
    >>> create_transform is pixelpipe.create_transform
    True
"""

from .factories.transform import create_transform
from .transforms import (
    transforms_imagenet_eval,
    transforms_imagenet_train,
    transforms_noaug_train,
)

__all__ = [
    "create_transform",
    "transforms_imagenet_eval",
    "transforms_imagenet_train",
    "transforms_noaug_train",
]
