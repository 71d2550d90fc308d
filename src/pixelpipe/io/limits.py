"""Size limits on what readers hand to the decoders.

* :data:`DEFAULT_MAX_MEMBER_BYTES`: the largest tar member read as an image (map-style tar reader and
  webdataset shards); a bigger member is never read into memory: the tar reader skips and counts it, a
  shard stream turns its sample into a :class:`~pixelpipe.errors.SampleError` naming the shard and key.
* The pixel limit of the decoders lives in :mod:`pixelpipe.io.decode`
  (:func:`~pixelpipe.io.decode.set_max_image_pixels`).

Example:
    >>> resolve_max_member_bytes(None, 'ReaderImageInTar') is None
    True
    >>> resolve_max_member_bytes(0, 'ReaderImageInTar')
    Traceback (most recent call last):
    ...
    pixelpipe.errors.ConfigError: ReaderImageInTar: max_member_bytes must be an int >= 1 (bytes) or None ...
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError

__all__ = ["DEFAULT_MAX_MEMBER_BYTES", "resolve_max_member_bytes"]

DEFAULT_MAX_MEMBER_BYTES = 256 * 1024**2
"""256 MiB: far above any photograph (a 100-megapixel JPEG is about 30 MiB), small enough that a corrupt
or hostile archive cannot make every DataLoader worker hold gigabytes for one sample."""


def resolve_max_member_bytes(value: Any, owner: str) -> int | None:
    """``value`` checked: an ``int >= 1`` or ``None`` (no limit)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(
            f"{owner}: max_member_bytes must be an int >= 1 (bytes) or None (no limit), got {value!r}"
        )
    return value
