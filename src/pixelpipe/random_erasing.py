"""``timm.data.random_erasing``'s module path: an alias of names from :mod:`pixelpipe.transforms`.

The objects are pixelpipe's own and this module holds no code:
``from timm.data.random_erasing import ...`` becomes ``from pixelpipe.random_erasing import ...``.

Example:
    >>> import pixelpipe
    >>> from pixelpipe.random_erasing import RandomErasing
    >>> RandomErasing is pixelpipe.RandomErasing
    True
"""

from .transforms import RandomErasing

__all__ = ["RandomErasing"]
