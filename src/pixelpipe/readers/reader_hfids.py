"""``timm.data.readers.reader_hfids``'s module path: an alias of names from :mod:`pixelpipe.readers.hfids`.

The objects are pixelpipe's own and this module holds no code:
``from timm.data.readers.reader_hfids import ...`` becomes
``from pixelpipe.readers.reader_hfids import ...``.

Example:
    >>> from pixelpipe.readers.reader_hfids import ReaderHfids
    >>> ReaderHfids.__module__
    'pixelpipe.readers.hfids'
"""

from .hfids import ReaderHfids

__all__ = ["ReaderHfids"]
