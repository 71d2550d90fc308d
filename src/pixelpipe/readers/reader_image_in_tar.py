"""``timm.data.readers.reader_image_in_tar``'s module path: an alias of names from :mod:`pixelpipe.readers`.

The objects are pixelpipe's own and this module holds no code:
``from timm.data.readers.reader_image_in_tar import ...`` becomes
``from pixelpipe.readers.reader_image_in_tar import ...``.

Example:
    >>> import pixelpipe
    >>> from pixelpipe.readers.reader_image_in_tar import ReaderImageInTar
    >>> ReaderImageInTar is pixelpipe.ReaderImageInTar
    True
"""

from .tar import ReaderImageInTar

__all__ = ["ReaderImageInTar"]
