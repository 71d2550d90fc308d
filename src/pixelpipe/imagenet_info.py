"""``timm.data.imagenet_info``'s module path: an alias of names from :mod:`pixelpipe.datasets`.

The objects are pixelpipe's own and this module holds no code:
``from timm.data.imagenet_info import ...`` becomes ``from pixelpipe.imagenet_info import ...``.

Example:
    >>> import pixelpipe
    >>> from pixelpipe.imagenet_info import ImageNetInfo
    >>> ImageNetInfo is pixelpipe.ImageNetInfo
    True
"""

from .datasets import ImageNetInfo, infer_imagenet_subset

__all__ = ["ImageNetInfo", "infer_imagenet_subset"]
