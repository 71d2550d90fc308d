"""Which library decodes JPEG and WebP to tensors: TorchCodec, else ``torchvision.io``, else Pillow.

torchvision 0.29 deprecates its image decoders in favour of TorchCodec (``pip install torchcodec``, which
needs torch >= 2.11; ``pip install pixelpipe[codec]``). pixelpipe decodes through TorchCodec when it is
installed and loads, through ``torchvision.io``'s registered ops otherwise, and through Pillow where
neither is there. All three give the same pixels (the same libjpeg-turbo / libwebp arithmetic; tested), so
the choice changes speed only. :func:`decoder_backend` says which one is in use;
:func:`set_decoder_backend` (or the ``PIXELPIPE_DECODER`` environment variable, read when the choice is
first needed, so DataLoader workers started by ``spawn`` follow it) forces one.

EXIF orientation: TorchCodec always applies a JPEG's EXIF orientation tag. pixelpipe's rule is that an
image stays as stored unless ``exif_transpose=True``, so a JPEG whose header carries an orientation other
than 1 is turned back (an exact permutation of the pixels: flips and transposes). A WebP that carries EXIF
metadata (the ``VP8X`` flag), whose orientation the header reader does not parse, is not given to
TorchCodec. Nothing here raises torchvision's deprecation warning: the registered ops are called directly.

Example:
    >>> decoder_backend() in ('torchcodec', 'torchvision', 'pillow')
    True
    >>> set_decoder_backend('pillow'); decoder_backend()
    'pillow'
    >>> set_decoder_backend(None)  # back to the automatic choice
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import torch

from ..errors import ConfigError

__all__ = ["DECODER_BACKENDS", "codec_decode", "decoder_backend", "set_decoder_backend", "undo_orientation"]

#: The decoder backends, in the order the automatic choice tries them.
DECODER_BACKENDS = ("torchcodec", "torchvision", "pillow")
_ENV = "PIXELPIPE_DECODER"

_forced: str | None = None
_chosen: str | None = None
_TC_OPS: Any = None  # TorchCodec's registered image ops (torch.ops.torchcodec_ns), False when unavailable


def _torchcodec_ops() -> Any:
    """TorchCodec's registered image decode ops, or ``None`` when TorchCodec is missing or fails to load."""
    global _TC_OPS
    if _TC_OPS is None:
        try:
            with warnings.catch_warnings():  # a TorchCodec that cannot load its libraries may warn
                warnings.simplefilter("ignore")
                import torchcodec.decoders  # noqa: F401  (importing it registers the ops)
            ops = torch.ops.torchcodec_ns
            _TC_OPS = ops if hasattr(ops, "decode_jpeg") and hasattr(ops, "decode_webp") else False
        except Exception:  # ImportError, or an OSError / RuntimeError from loading its native libraries
            _TC_OPS = False
    return _TC_OPS or None


def _torchvision_ops() -> Any:
    from .decode import _tv_ops

    return _tv_ops()


def _available(name: str) -> bool:
    if name == "torchcodec":
        return _torchcodec_ops() is not None
    if name == "torchvision":
        return _torchvision_ops() is not None
    return True


def decoder_backend() -> str:
    """The library decoding JPEG / WebP to tensors: ``'torchcodec'``, ``'torchvision'`` or ``'pillow'``.

    The first of :data:`DECODER_BACKENDS` that is installed and loads, unless :func:`set_decoder_backend`
    or ``PIXELPIPE_DECODER`` named one (a named backend that is not available raises ``ConfigError``).
    """
    global _chosen
    if _forced is not None:
        return _forced
    if _chosen is None:
        env = os.environ.get(_ENV, "").strip().lower()
        if env:
            _chosen = _check(env, f"${_ENV}")
        else:
            _chosen = next(name for name in DECODER_BACKENDS if _available(name))
    return _chosen


def _check(name: Any, what: str) -> str:
    if name not in DECODER_BACKENDS:
        raise ConfigError(f"{what}: expected one of {DECODER_BACKENDS}, got {name!r}")
    if not _available(name):
        hint = " (pip install torchcodec; it needs torch >= 2.11)" if name == "torchcodec" else ""
        raise ConfigError(f"{what}: the {name} decoders are not available here{hint}")
    return name


def set_decoder_backend(name: str | None) -> None:
    """Force a decoder backend for this process (``None``: the automatic choice again).

    Call it before building DataLoader workers that ``spawn`` (forked workers inherit it), or set
    ``PIXELPIPE_DECODER``.

    Raises:
        ConfigError: ``name`` is not one of :data:`DECODER_BACKENDS`, or that library is not available.

    Example:
        >>> set_decoder_backend('jpeg-xl')
        Traceback (most recent call last):
        ...
        pixelpipe.errors.ConfigError: set_decoder_backend: expected one of ('torchcodec', 'torchvision', 'pillow'), got 'jpeg-xl'
    """  # noqa: E501
    global _forced, _chosen
    _forced = None if name is None else _check(name, "set_decoder_backend")
    _chosen = None


def undo_orientation(img: torch.Tensor, orientation: int) -> torch.Tensor:
    """Turn an image that was rotated / flipped as EXIF ``orientation`` says back to the stored layout.

    The inverse of ``PIL.ImageOps.exif_transpose`` on a ``(C, H, W)`` tensor (orientations 6 and 8 undo
    each other; the others are their own inverse). Exact: the pixels are only permuted.

    Example:
        >>> x = torch.arange(6, dtype=torch.uint8).view(1, 2, 3)
        >>> undo_orientation(_apply_orientation(x, 6), 6).equal(x)
        True
    """
    return _apply_orientation(img, {6: 8, 8: 6}.get(orientation, orientation))


def _apply_orientation(img: torch.Tensor, orientation: int) -> torch.Tensor:
    """What ``PIL.ImageOps.exif_transpose`` does for ``orientation`` (1-8), on a ``(C, H, W)`` tensor."""
    if orientation == 2:
        return img.flip(-1)
    if orientation == 3:
        return img.flip(-1).flip(-2)
    if orientation == 4:
        return img.flip(-2)
    if orientation == 5:  # transpose
        return img.transpose(-1, -2)
    if orientation == 6:  # rotate 90 degrees clockwise
        return img.transpose(-1, -2).flip(-1)
    if orientation == 7:  # transverse
        return img.transpose(-1, -2).flip(-1).flip(-2)
    if orientation == 8:  # rotate 90 degrees counter-clockwise
        return img.transpose(-1, -2).flip(-2)
    return img


def _webp_has_exif(raw: bytes) -> bool:
    return raw[12:16] == b"VP8X" and len(raw) > 20 and bool(raw[20] & 0x08)


def codec_decode(
    raw: bytes, read_mode: Any, *, fmt: str, orientation: int = 1, exif_transpose: bool = False
) -> torch.Tensor | None:
    """Decode a JPEG or WebP with the :func:`decoder_backend` (``None``: Pillow should decode it).

    Args:
        raw: the encoded image.
        read_mode: a ``torchvision.io.ImageReadMode`` (its value is the mode code both libraries use).
        fmt: ``'jpeg'`` or ``'webp'``.
        orientation: the EXIF orientation the header declares (1 when none).
        exif_transpose: apply that orientation (else the image is returned as stored).

    Raises:
        RuntimeError: the decoder rejects the data (as torchvision and TorchCodec do).
    """
    backend = decoder_backend()
    if backend == "torchcodec" and not (fmt == "webp" and _webp_has_exif(raw)):
        ops = _torchcodec_ops()
        buf = torch.frombuffer(bytearray(raw), dtype=torch.uint8)
        if fmt == "jpeg":
            out = ops.decode_jpeg(buf, read_mode.value)  # applies the EXIF orientation
            return out if exif_transpose or orientation == 1 else undo_orientation(out, orientation)
        return ops.decode_webp(buf, read_mode.value)
    if backend == "pillow":
        return None
    from .decode import tv_decode

    orient = exif_transpose and orientation != 1
    return tv_decode(raw, read_mode, jpeg=fmt == "jpeg", orient=orient)
