"""``timm.data.dataset``'s module path: an alias of names from :mod:`pixelpipe.datasets`.

The objects are pixelpipe's own and this module holds no code:
``from timm.data.dataset import ...`` becomes ``from pixelpipe.dataset import ...``.

Example:
    >>> import pixelpipe
    >>> from pixelpipe.dataset import ImageDataset
    >>> ImageDataset is pixelpipe.ImageDataset
    True
"""

from .datasets import AugMixDataset, ImageDataset, IterableImageDataset

__all__ = ["AugMixDataset", "ImageDataset", "IterableImageDataset"]
