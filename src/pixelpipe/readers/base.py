"""The reader protocol, defined in :mod:`pixelpipe.base.reader` (the bottom layer), re-exported."""

from ..base.reader import Reader

__all__ = ["Reader"]
