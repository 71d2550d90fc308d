"""The bottom layer's protocols: :class:`Transform` (per-image transforms) and :class:`Reader` (readers).

They import nothing of pixelpipe but :mod:`pixelpipe.rng`, so every subpackage may build on them
(``augment`` and ``transforms`` on ``Transform``; ``readers`` and ``streaming`` on ``Reader``) without
importing one another. See ARCHITECTURE.md.
"""

from .reader import Reader
from .transform import Transform

__all__ = ["Reader", "Transform"]
