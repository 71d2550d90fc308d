"""The bottom layer's protocols: :class:`Transform` (per-image transforms), :class:`BatchTransform` (batched
transforms, with :class:`BatchDesc`) and :class:`Reader` (readers).

They import nothing of pixelpipe but :mod:`pixelpipe.rng`, so every subpackage may build on them
(``augment`` and ``transforms`` on ``Transform``; ``batch`` and ``device`` on ``BatchTransform``;
``readers`` and ``streaming`` on ``Reader``) without importing one another. See ARCHITECTURE.md.
"""

from .reader import Reader
from .transform import BatchDesc, BatchTransform, Transform

__all__ = ["BatchDesc", "BatchTransform", "Reader", "Transform"]
