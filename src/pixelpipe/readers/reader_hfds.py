"""``timm.data.readers.reader_hfds``'s module path: an alias of names from :mod:`pixelpipe.readers.hfds`.

The objects are pixelpipe's own and this module holds no code:
``from timm.data.readers.reader_hfds import ...`` becomes
``from pixelpipe.readers.reader_hfds import ...``.

Example:
    >>> from pixelpipe.readers.reader_hfds import ReaderHfds
    >>> ReaderHfds.__module__
    'pixelpipe.readers.hfds'
"""

from .hfds import ReaderHfds

__all__ = ["ReaderHfds"]
