"""``timm.data.readers.reader_hfids``'s module path: an alias of names from :mod:`pixelpipe.readers.hfids`.

The objects are pixelpipe's own and this module holds no code:
``from timm.data.readers.reader_hfids import ...`` becomes
``from pixelpipe.readers.reader_hfids import ...``.

Example:
    >>> import pixelpipe.readers.hfids, pixelpipe.readers.reader_hfids
    >>> pixelpipe.readers.reader_hfids.ReaderHfids is pixelpipe.readers.hfids.ReaderHfids
    True
"""

from .hfids import ReaderHfids

__all__ = ["ReaderHfids"]
