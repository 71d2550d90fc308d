"""The transform protocol, defined in :mod:`pixelpipe.base.transform` (the bottom layer), re-exported."""

from ..base.transform import Transform

__all__ = ["Transform"]
