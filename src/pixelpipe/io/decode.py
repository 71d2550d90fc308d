"""Image decoding: bytes or file-like in, a fully loaded PIL image or a uint8 tensor out.

Both entry points decode *eagerly*: truncated or corrupt data fails here, with an
:class:`~pixelpipe.errors.ImageDecodeError` naming the file and sample index, instead of later inside a
transform (the reference opens images lazily, so such errors escape its retry loop, REFERENCE §2.1).

Fixes over the reference's ``Image.open(f).convert(mode)``:

* 16-bit greyscale (PIL modes ``I;16*`` and ``I``) is scaled to 8 bits (``round(v * 255 / 65535)``)
  instead of being clipped to white by ``convert``;
* palette images with a transparency entry go through RGBA, so colours are right and PIL does not warn;
* animations (GIF, APNG, WebP) give their first frame.

Alpha is dropped, not composited, when converting to a mode without alpha (as PIL and torchvision do).

Importing this module installs one narrow warning filter that silences torchvision 0.29's
``DeprecationWarning`` about its image decoders (they are still the fastest CPU JPEG/PNG decoders
available to us without extra dependencies).

Example:
    >>> import io
    >>> from PIL import Image
    >>> buf = io.BytesIO()
    >>> Image.new('RGB', (4, 3), (10, 20, 30)).save(buf, format='PNG')
    >>> decode_pil(buf.getvalue()).size
    (4, 3)
    >>> tuple(decode_tensor(buf.getvalue()).shape), decode_tensor(buf.getvalue(), 'L').dtype
    ((3, 3, 4), torch.uint8)
"""

from __future__ import annotations

import io
import os
import struct
import warnings
from typing import IO, Any

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ..errors import ConfigError, ImageDecodeError, SampleError

__all__ = ["ImageSource", "decode_pil", "decode_tensor", "read_bytes"]

ImageSource = bytes | bytearray | memoryview | IO[bytes] | Image.Image
"""What a reader may hand to the decoders: raw bytes, a binary file-like object, or a PIL image."""

warnings.filterwarnings(
    "ignore",
    message="The image decoding and encoding capabilities of TorchVision are deprecated",
    category=DeprecationWarning,
    module=r"torchvision\.io",
)

# Errors PIL (and the codecs under it) raise for data that is not a decodable image.
_DECODE_ERRORS: tuple[type[BaseException], ...] = (
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    struct.error,
    Image.DecompressionBombError,
)
_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I"})
_EIGHT_BIT_TARGETS = frozenset(
    {"1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr", "HSV", "LAB"}
)


def _describe(filename: str | None, index: int | None) -> str:
    parts = []
    if filename is not None:
        parts.append(repr(os.fspath(filename)))
    if index is not None:
        parts.append(f"index {index}")
    return f" ({', '.join(parts)})" if parts else ""


def _decode_error(cause: BaseException, filename: str | None, index: int | None) -> ImageDecodeError:
    text = str(cause)
    if isinstance(cause, UnidentifiedImageError) and text.startswith("cannot identify image file <"):
        text = "not an image format PIL recognises"  # PIL's text names our in-memory buffer, not the file
    msg = f"cannot decode image{_describe(filename, index)}: {type(cause).__name__}: {text}"
    return ImageDecodeError(msg, index=index, filename=filename)


def read_bytes(data: ImageSource, *, filename: str | None = None, index: int | None = None) -> bytes:
    """All the bytes of ``data`` (bytes-like or a binary file-like object, read from its position).

    Raises:
        SampleError: reading the file-like object failed (names ``filename`` and ``index``).

    Example:
        >>> read_bytes(io.BytesIO(b'abc'))
        b'abc'
    """
    if isinstance(data, bytes):
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    read = getattr(data, "read", None)
    if read is None:
        raise TypeError(f"expected bytes or a binary file-like object, got {type(data).__name__}")
    try:
        out = read()
    except OSError as e:
        msg = f"cannot read image data{_describe(filename, index)}: {type(e).__name__}: {e}"
        raise SampleError(msg, index=index, filename=filename) from e
    if not isinstance(out, bytes):
        raise TypeError(f"file-like object returned {type(out).__name__} from read(), expected bytes")
    return out


def _scale_16bit(img: Image.Image) -> Image.Image:
    """A 16-bit (or ``I``) greyscale image scaled to 8-bit ``L`` with rounding."""
    arr = np.asarray(img).astype(np.int64)
    arr = np.clip(arr, 0, 65535)
    return Image.fromarray(((arr * 255 + 32767) // 65535).astype(np.uint8), "L")


def _to_mode(img: Image.Image, mode: str | None) -> Image.Image:
    """Convert a loaded image to ``mode`` with the 16-bit and transparency fixes (no-op for ``None``)."""
    if not mode or img.mode == mode:
        return img
    if img.mode in _SIXTEEN_BIT_MODES and mode in _EIGHT_BIT_TARGETS:
        img = _scale_16bit(img)
    elif img.mode == "PA" or (img.mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA")
    return img if img.mode == mode else img.convert(mode)


def decode_pil(
    data: ImageSource,
    mode: str | None = "RGB",
    *,
    filename: str | None = None,
    index: int | None = None,
) -> Image.Image:
    """Decode an image completely and convert it to ``mode``.

    Args:
        data: encoded bytes, a binary file-like object, or an (already opened) PIL image.
        mode: PIL mode to convert to (``'RGB'``, ``'L'``, ``'RGBA'``, ...); ``None`` or ``''`` keeps the
            file's own mode.
        filename: named in the error message (and set on the error) when decoding fails.
        index: sample index, likewise.

    Returns:
        A loaded ``PIL.Image.Image`` (first frame for animations).

    Raises:
        ImageDecodeError: empty, truncated, corrupt or unrecognised data.

    Example:
        >>> import numpy as np
        >>> from PIL import Image
        >>> buf = io.BytesIO()
        >>> Image.fromarray(np.full((2, 2), 65535, np.uint16)).save(buf, format='PNG')
        >>> decode_pil(buf.getvalue()).getpixel((0, 0))
        (255, 255, 255)
        >>> decode_pil(b'', filename='empty.jpg', index=3)
        Traceback (most recent call last):
        ...
        pixelpipe.errors.ImageDecodeError: cannot decode image ('empty.jpg', index 3): ...
    """
    try:
        if isinstance(data, Image.Image):
            img = data
        else:
            raw = read_bytes(data, filename=filename, index=index)
            if not raw:
                raise UnidentifiedImageError("empty file (0 bytes)")
            img = Image.open(io.BytesIO(raw))
        if getattr(img, "is_animated", False):
            img.seek(0)
        img.load()
        return _to_mode(img, mode)
    except SampleError:
        raise
    except _DECODE_ERRORS as e:
        raise _decode_error(e, filename, index) from e


# ----------------------------------------------------------------------------------------------------------
# tensor decoding (torchvision.io for JPEG / PNG / WebP, PIL for everything else)

_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _sniff(raw: bytes) -> str:
    if raw.startswith(_JPEG_MAGIC):
        return "jpeg"
    if raw.startswith(_PNG_MAGIC):
        return "png"
    if raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        return "webp"
    return "other"


def _png_colour_type(raw: bytes) -> int | None:
    # IHDR is the first chunk: 8-byte signature, 4-byte length, b'IHDR', width, height, depth, colour type.
    return raw[25] if len(raw) > 25 and raw[12:16] == b"IHDR" else None


def _tv_read_mode(fmt: str, mode: str | None, raw: bytes) -> tuple[Any, bool] | None:
    """``(torchvision ImageReadMode, then convert RGB to L)`` for this format and mode; ``None``: use PIL."""
    from torchvision.io import ImageReadMode

    if not mode:
        return (ImageReadMode.UNCHANGED, False) if fmt != "jpeg" else None
    native_grey = fmt == "png" and _png_colour_type(raw) in (0, 4)
    if mode == "L" and not native_grey:
        # libjpeg / libpng weigh colours differently from PIL: decode RGB, then use PIL's weights
        return ImageReadMode.RGB, True
    if fmt == "jpeg":
        return (ImageReadMode.RGB, False) if mode == "RGB" else None
    if mode == "LA" and not native_grey:
        return None
    table = {
        "RGB": ImageReadMode.RGB,
        "RGBA": ImageReadMode.RGB_ALPHA,
        "L": ImageReadMode.GRAY,
        "LA": ImageReadMode.GRAY_ALPHA,
    }
    return (table[mode], False) if mode in table else None


def _rgb_to_l(t: torch.Tensor) -> torch.Tensor:
    """PIL's RGB -> L conversion (ITU-R 601-2 luma, 16-bit fixed point with rounding) on a CHW tensor."""
    r, g, b = t.to(torch.int32).unbind(0)
    return ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).to(torch.uint8).unsqueeze(0)


def _tensor_from_pil(img: Image.Image) -> torch.Tensor:
    arr = np.array(img)  # a writable copy: torch.from_numpy warns about read-only arrays
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8) * 255
    elif arr.dtype != np.uint8:
        if img.mode in _SIXTEEN_BIT_MODES:
            arr = np.array(_scale_16bit(img))
        else:
            raise ConfigError(
                f"decode_tensor returns uint8 tensors; PIL mode {img.mode!r} has dtype {arr.dtype}. "
                "Use decode_pil for it, or a mode such as 'RGB', 'L', 'RGBA', 'LA'."
            )
    t = torch.from_numpy(arr)
    return t.unsqueeze(0) if t.ndim == 2 else t.permute(2, 0, 1).contiguous()


def _scale_tensor_16bit(t: torch.Tensor) -> torch.Tensor:
    wide = t.to(torch.int64)
    return ((wide * 255 + 32767) // 65535).to(torch.uint8)


def decode_tensor(
    data: ImageSource,
    mode: str | None = "RGB",
    *,
    filename: str | None = None,
    index: int | None = None,
) -> torch.Tensor:
    """Decode an image to a ``uint8`` tensor of shape ``(C, H, W)``.

    JPEG, PNG and WebP are decoded by ``torchvision.io`` straight from the bytes; other formats, modes
    torchvision cannot produce for a format, and data torchvision rejects go through :func:`decode_pil`.
    Both paths give the same pixels (JPEG within one level), with the same 16-bit scaling.

    Args:
        data: encoded bytes, a binary file-like object, or a PIL image.
        mode: ``'RGB'`` (3 channels), ``'L'`` (1), ``'RGBA'`` (4), ``'LA'`` (2), another 8-bit PIL mode, or
            ``None``/``''`` for the file's own channels.
        filename: named in the error message when decoding fails.
        index: sample index, likewise.

    Raises:
        ImageDecodeError: empty, truncated, corrupt or unrecognised data.
        ConfigError: ``mode`` does not give 8-bit samples (``'I'``, ``'F'``, ...).

    Example:
        >>> import numpy as np
        >>> from PIL import Image
        >>> buf = io.BytesIO()
        >>> Image.fromarray(np.zeros((5, 7, 3), np.uint8)).save(buf, format='JPEG')
        >>> decode_tensor(buf.getvalue(), 'L').shape
        torch.Size([1, 5, 7])
    """
    if isinstance(data, Image.Image):
        return _tensor_from_pil(decode_pil(data, mode, filename=filename, index=index))
    raw = read_bytes(data, filename=filename, index=index)
    fmt = _sniff(raw)
    plan = _tv_read_mode(fmt, mode, raw) if fmt != "other" else None
    if plan is not None:
        read_mode, to_grey = plan
        from torchvision.io import decode_image, decode_jpeg

        buf = torch.frombuffer(bytearray(raw), dtype=torch.uint8)
        try:
            out = decode_jpeg(buf, mode=read_mode) if fmt == "jpeg" else decode_image(buf, mode=read_mode)
        except RuntimeError:
            out = None  # unsupported variant or corrupt data: PIL decodes it or reports the error
        if out is not None:
            if out.ndim == 4:  # animated WebP: first frame
                out = out[0]
            if out.dtype != torch.uint8:
                out = _scale_tensor_16bit(out)
            return _rgb_to_l(out) if to_grey else out
    return _tensor_from_pil(decode_pil(raw, mode, filename=filename, index=index))
