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


def _rebuild_sample_error(cls, message, index, filename):
    return cls(message, index=index, filename=filename)
