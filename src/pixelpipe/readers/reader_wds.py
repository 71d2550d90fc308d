"""``timm.data.readers.reader_wds``'s module path: an alias of names from :mod:`pixelpipe.readers.wds`.

The objects are pixelpipe's own and this module holds no code:
``from timm.data.readers.reader_wds import ...`` becomes
``from pixelpipe.readers.reader_wds import ...``.

Example:
    >>> from pixelpipe.readers.reader_wds import ReaderWds
    >>> ReaderWds.__module__
    'pixelpipe.readers.wds'
"""

from .wds import ReaderWds

__all__ = ["ReaderWds"]
