"""``timm.data.readers.reader``'s module path: an alias of names from :mod:`pixelpipe.readers`.

The objects are pixelpipe's own and this module holds no code:
``from timm.data.readers.reader import ...`` becomes
``from pixelpipe.readers.reader import ...``.

Example:
    >>> import pixelpipe
    >>> from pixelpipe.readers.reader import Reader
    >>> Reader is pixelpipe.Reader
    True
"""

from .base import Reader

__all__ = ["Reader"]
