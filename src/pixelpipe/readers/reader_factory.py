"""``timm.data.readers.reader_factory``'s module path: an alias of names from :mod:`pixelpipe.readers`.

The objects are pixelpipe's own and this module holds no code:
``from timm.data.readers.reader_factory import ...`` becomes
``from pixelpipe.readers.reader_factory import ...``.

Example:
    >>> import pixelpipe
    >>> from pixelpipe.readers.reader_factory import create_reader
    >>> create_reader is pixelpipe.create_reader
    True
"""

from .factory import create_reader

__all__ = ["create_reader"]
