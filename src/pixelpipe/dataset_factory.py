"""``timm.data.dataset_factory``'s module path: an alias of names from :mod:`pixelpipe.factories.dataset`.

The objects are pixelpipe's own and this module holds no code:
``from timm.data.dataset_factory import ...`` becomes ``from pixelpipe.dataset_factory import ...``.

Example:
    >>> import pixelpipe
    >>> from pixelpipe.dataset_factory import create_dataset
    >>> create_dataset is pixelpipe.create_dataset
    True
"""

from .factories.dataset import create_dataset

__all__ = ["create_dataset"]
