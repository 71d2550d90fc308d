"""``timm.data.readers.reader_image_folder``'s module path: an alias of names from :mod:`pixelpipe.readers`.

The objects are pixelpipe's own and this module holds no code:
``from timm.data.readers.reader_image_folder import ...`` becomes
``from pixelpipe.readers.reader_image_folder import ...``.

Example:
    >>> import pixelpipe
    >>> from pixelpipe.readers.reader_image_folder import ReaderImageFolder
    >>> ReaderImageFolder is pixelpipe.ReaderImageFolder
    True
"""

from .folder import ReaderImageFolder, find_images_and_targets

__all__ = ["ReaderImageFolder", "find_images_and_targets"]
