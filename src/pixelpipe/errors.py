"""Exception hierarchy.

Every pixelpipe error derives from :class:`PixelpipeError` *and* from the built-in exception a caller would
already catch for that situation (``ValueError`` for bad arguments, ``OSError`` for unreadable data, ...), so
``except ValueError`` keeps working for code written against the reference library.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DatasetNotFoundError",
    "ImageDecodeError",
    "ImageTooLargeError",
    "PixelpipeError",
    "SampleError",
    "UnknownReaderError",
]


class PixelpipeError(Exception):
    """Base class of every error raised by pixelpipe."""


class ConfigError(PixelpipeError, ValueError):
    """A parameter or configuration string is invalid. The message names it and what is allowed."""


class UnknownReaderError(ConfigError):
    """A reader / dataset name uses a prefix pixelpipe does not know. The message lists the known ones."""


class DatasetNotFoundError(PixelpipeError, FileNotFoundError):
    """A dataset root does not exist, or holds no samples. The message says what was looked for."""


class SampleError(PixelpipeError, OSError):
    """One sample could not be read or decoded.

    Attributes:
        index: the sample index in its dataset (``None`` for streams).
        filename: the file, archive member or ``shard/key`` of the sample.
    """

    def __init__(self, message: str, *, index: int | None = None, filename: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.index = index
        self.filename = filename  # OSError's own slot: __str__ below keeps the message ours

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):  # keep attributes across DataLoader worker pickling
        return (_rebuild_sample_error, (type(self), self.message, self.index, self.filename))


class ImageDecodeError(SampleError):
    """The bytes of a sample were read but are not a decodable image."""


class ImageTooLargeError(ImageDecodeError):
    """An image declares more pixels than the decoding limit allows; it was refused before decoding.

    A decompression bomb (a small file whose header declares, say, 60000 x 60000 pixels) would otherwise
    make the decoder allocate gigabytes. See :func:`pixelpipe.io.set_max_image_pixels`.

    Attributes:
        width, height: the dimensions the header declares (``None`` when only Pillow's refusal is known).
        limit: the limit in pixels that was exceeded.
    """

    def __init__(
        self,
        message: str,
        *,
        index: int | None = None,
        filename: str | None = None,
        width: int | None = None,
        height: int | None = None,
        limit: int | None = None,
    ) -> None:
        super().__init__(message, index=index, filename=filename)
        self.width = width
        self.height = height
        self.limit = limit

    def __reduce__(self):
        extra = (self.width, self.height, self.limit)
        return (_rebuild_sample_error, (type(self), self.message, self.index, self.filename, *extra))


def _rebuild_sample_error(cls, message, index, filename, *extra):
    if extra:
        width, height, limit = extra
        return cls(message, index=index, filename=filename, width=width, height=height, limit=limit)
    return cls(message, index=index, filename=filename)
