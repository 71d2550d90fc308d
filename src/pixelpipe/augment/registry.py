"""The augmentation op registry, as it was importable here: the op specs now live in :mod:`pixelpipe.ops`.

Example:
    >>> OPS["Solarize"].level(5.0, {}, 1.0)
    128
    >>> "PosterizeIncreasing" in OP_NAMES
    True
"""

from __future__ import annotations

from ..ops import DEFAULT_TRANSLATE_CONST as DEFAULT_TRANSLATE_CONST
from ..ops import DEFAULT_TRANSLATE_PCT as DEFAULT_TRANSLATE_PCT
from ..ops import LEVEL_DENOM, OP_NAMES, OPS, OpSpec, get_op_spec
from ..ops import LevelFn as LevelFn

__all__ = ["LEVEL_DENOM", "OPS", "OP_NAMES", "OpSpec", "get_op_spec"]
