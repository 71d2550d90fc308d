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
CMYK and YCCK (Adobe) JPEGs are converted by libjpeg's colour transform on both paths.

Hostile inputs:

* decompression bombs: the size the header declares is checked against ``max_image_pixels`` (default
  :data:`DEFAULT_MAX_IMAGE_PIXELS`, changed with :func:`set_max_image_pixels`) *before* decoding
  (:mod:`pixelpipe.io.header`; Pillow's lazy ``open`` for other formats), and an
  :class:`~pixelpipe.errors.ImageTooLargeError` names the file, the dimensions and the limit. Within the
  limit, Pillow's own ``DecompressionBombWarning`` is silenced (the image was allowed); above Pillow's own
  refusal point (``2 * PIL.Image.MAX_IMAGE_PIXELS``) Pillow still refuses, reported as the same error:
  raise ``PIL.Image.MAX_IMAGE_PIXELS`` too for such images (pixelpipe never changes Pillow's global);
* EXIF orientation: ``exif_transpose=True`` rotates / flips the image as its EXIF orientation tag says
  (as ``PIL.ImageOps.exif_transpose``); off by default, as in the reference.

Tensor decoding goes through TorchCodec when it is installed, else ``torchvision.io``'s registered ops,
else Pillow (:mod:`pixelpipe.io.codecs`; the same pixels from each). pixelpipe never calls the public
``torchvision.io`` decoders that raise torchvision 0.29's ``DeprecationWarning`` on its own paths, and
importing this module installs one narrow filter that silences that warning should the fallback reach
them.

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

import contextlib
import io
import os
import struct
import warnings
from collections.abc import Iterator
from typing import IO, Any

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import ConfigError, ImageDecodeError, ImageTooLargeError, SampleError
from .codecs import codec_decode
from .header import ImageHeader, read_header

__all__ = [
    "DEFAULT_MAX_IMAGE_PIXELS",
    "USE_DEFAULT",
    "ImageSource",
    "check_image_size",
    "decode_pil",
    "decode_tensor",
    "get_max_image_pixels",
    "read_bytes",
    "resolve_max_image_pixels",
    "set_max_image_pixels",
]

ImageSource = bytes | bytearray | memoryview | IO[bytes] | Image.Image
"""What a reader may hand to the decoders: raw bytes, a binary file-like object, or a PIL image."""

DEFAULT_MAX_IMAGE_PIXELS = 178_956_970
"""The decoders' pixel limit (``width * height``) unless changed with :func:`set_max_image_pixels`.

178,956,970 pixels (about 13,400 x 13,400) is where Pillow, at its default settings, refuses an image
outright (``2 * PIL.Image.MAX_IMAGE_PIXELS``); an RGB image of that size takes 537 MB once decoded.
"""

_max_image_pixels: int | None = DEFAULT_MAX_IMAGE_PIXELS


def get_max_image_pixels() -> int | None:
    """The process-wide default pixel limit (``None``: no limit).

    Example:
        >>> get_max_image_pixels()
        178956970
    """
    return _max_image_pixels


def set_max_image_pixels(value: int | None) -> None:
    """Change the process-wide default pixel limit of the decoders (``None``: no limit).

    Datasets read it once, at construction, and carry it to their DataLoader workers, so call this before
    building them (or pass ``max_image_pixels=`` to the dataset or the decode function instead).

    Raises:
        ConfigError: ``value`` is not an int >= 1 or ``None``.
    """
    global _max_image_pixels
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ConfigError(f"set_max_image_pixels: expected an int >= 1 or None, got {value!r}")
    _max_image_pixels = value


class _UseDefault:
    def __repr__(self) -> str:
        return "USE_DEFAULT"


USE_DEFAULT: Any = _UseDefault()
"""``max_image_pixels`` default: the process-wide limit (:func:`get_max_image_pixels`) at the call."""

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


def resolve_max_image_pixels(value: Any, what: str = "max_image_pixels") -> int | None:
    """``value`` checked: an ``int >= 1``, ``None`` (no limit) or :data:`USE_DEFAULT` (the module default).

    Example:
        >>> resolve_max_image_pixels(None), resolve_max_image_pixels(1000)
        (None, 1000)
    """
    if value is USE_DEFAULT:
        value = _max_image_pixels
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{what} must be an int >= 1 (pixels) or None (no limit), got {value!r}")
    return value


def check_image_size(
    width: int,
    height: int,
    max_image_pixels: Any = USE_DEFAULT,
    *,
    filename: str | None = None,
    index: int | None = None,
) -> None:
    """Raise :class:`~pixelpipe.errors.ImageTooLargeError` if ``width * height`` is over the limit.

    Example:
        >>> check_image_size(60000, 60000, filename='bomb.png')
        Traceback (most recent call last):
        ...
        pixelpipe.errors.ImageTooLargeError: image ('bomb.png') declares 60000 x 60000 = 3,600,000,000 ...
    """
    limit = resolve_max_image_pixels(max_image_pixels)
    if limit is None or width * height <= limit:
        return
    raise ImageTooLargeError(
        f"image{_describe(filename, index)} declares {width} x {height} = {width * height:,} pixels, over "
        f"the limit of {limit:,} pixels; refused before decoding (a possible decompression bomb). If it is "
        "genuine, raise max_image_pixels (or pixelpipe.io.set_max_image_pixels)",
        index=index,
        filename=filename,
        width=width,
        height=height,
        limit=limit,
    )


def _pillow_refused(
    cause: BaseException, limit: int | None, filename: str | None, index: int | None
) -> ImageTooLargeError:
    return ImageTooLargeError(
        f"image{_describe(filename, index)} refused by Pillow before decoding: {cause} Raise "
        "PIL.Image.MAX_IMAGE_PIXELS (or set it to None) as well as pixelpipe's max_image_pixels if it "
        "is genuine",
        index=index,
        filename=filename,
        limit=limit,
    )


@contextlib.contextmanager
def _pillow_bomb_quiet(active: bool) -> Iterator[None]:
    """Silence Pillow's ``DecompressionBombWarning`` for an image pixelpipe's limit has allowed."""
    if not active:
        yield
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        yield


def _needs_quiet(header: ImageHeader) -> bool:
    pil_limit = Image.MAX_IMAGE_PIXELS
    pixels = header.pixels
    return pil_limit is not None and (pixels is None or pixels > pil_limit)


def _orientation(img: Image.Image) -> int:
    try:
        value = img.getexif().get(0x0112, 1)
    except Exception:  # unreadable EXIF: treat as no orientation, as Pillow's exif_transpose does
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


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


def _open_pil(
    raw: bytes, limit: int | None, filename: str | None, index: int | None
) -> tuple[Image.Image, bool]:
    """Pillow's lazy open of ``raw`` after the header checks; ``(image, whether to keep Pillow quiet)``."""
    header = read_header(raw)
    if header.width is not None and header.height is not None:  # the size is known: check it first
        check_image_size(header.width, header.height, limit, filename=filename, index=index)
    quiet = _needs_quiet(header)
    with _pillow_bomb_quiet(quiet):
        img = Image.open(io.BytesIO(raw))
    if header.pixels is None or img.size != (header.width, header.height):
        check_image_size(img.width, img.height, limit, filename=filename, index=index)
    return img, quiet or _needs_quiet(ImageHeader(header.format, img.width, img.height))


def decode_pil(
    data: ImageSource,
    mode: str | None = "RGB",
    *,
    filename: str | None = None,
    index: int | None = None,
    max_image_pixels: int | None = USE_DEFAULT,
    exif_transpose: bool = False,
) -> Image.Image:
    """Decode an image completely and convert it to ``mode``.

    Args:
        data: encoded bytes, a binary file-like object, or an (already opened) PIL image.
        mode: PIL mode to convert to (``'RGB'``, ``'L'``, ``'RGBA'``, ...); ``None`` or ``''`` keeps the
            file's own mode.
        filename: named in the error message (and set on the error) when decoding fails.
        index: sample index, likewise.
        max_image_pixels: refuse images declaring more pixels than this, before decoding (``None``: no
            limit; default :func:`get_max_image_pixels`).
        exif_transpose: apply the EXIF orientation tag (rotate / flip), as ``PIL.ImageOps.exif_transpose``.

    Returns:
        A loaded ``PIL.Image.Image`` (first frame for animations and multi-page files).

    Raises:
        ImageDecodeError: empty, truncated, corrupt or unrecognised data.
        ImageTooLargeError: the image declares more than ``max_image_pixels`` pixels.

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
    limit = resolve_max_image_pixels(max_image_pixels)
    try:
        quiet = False
        if isinstance(data, Image.Image):
            img = data
            check_image_size(img.width, img.height, limit, filename=filename, index=index)
        else:
            raw = read_bytes(data, filename=filename, index=index)
            if not raw:
                raise UnidentifiedImageError("empty file (0 bytes)")
            img, quiet = _open_pil(raw, limit, filename, index)
        with _pillow_bomb_quiet(quiet):
            if getattr(img, "is_animated", False):
                img.seek(0)
            img.load()
        if exif_transpose and _orientation(img) != 1:
            img = ImageOps.exif_transpose(img)
        return _to_mode(img, mode)
    except SampleError:
        raise
    except Image.DecompressionBombError as e:
        raise _pillow_refused(e, limit, filename, index) from e
    except _DECODE_ERRORS as e:
        raise _decode_error(e, filename, index) from e


# ----------------------------------------------------------------------------------------------------------
# tensor decoding (torchvision.io for JPEG / WebP, PIL for everything else)

# What torchvision.io decodes here. Not PNG: torchvision 0.29's decode_png crashes the process (SIGSEGV)
# on any libpng error while reading rows, e.g. one flipped bit in IDAT (CRC error), found by
# tests/test_fuzz_decode.py; Pillow reports those as errors.
_TV_FORMATS = frozenset({"jpeg", "webp"})
_TV_ORIENTS = frozenset({"jpeg", "png"})  # where torchvision applies EXIF orientation like Pillow


_TV_OPS: Any = None


def _tv_ops() -> Any:
    """torchvision's registered image ops (``torch.ops.image``), or ``None`` where they are missing."""
    global _TV_OPS
    if _TV_OPS is None:
        import torchvision.io  # noqa: F401  (importing it registers the ops)

        ops = getattr(torch.ops, "image", None)
        _TV_OPS = ops if ops is not None and hasattr(ops, "decode_jpeg") else False
    return _TV_OPS or None


def tv_decode(
    data: bytes | bytearray | memoryview, read_mode: Any, *, jpeg: bool, orient: bool = False
) -> torch.Tensor | None:
    """Decode with torchvision's libjpeg-turbo / libwebp ops, skipping the Python wrappers.

    ``torchvision.io.decode_jpeg`` costs about 30 µs per call on top of the decoder (usage logging and a
    deprecation warning, filtered but still raised, since 0.29); calling the registered op directly is
    what it does underneath. Falls back to the public functions if the ops are not where we expect, and
    returns ``None`` if this torchvision has no image decoders at all (they are deprecated in favour of
    TorchCodec): callers then decode with Pillow. Raises ``RuntimeError`` (as torchvision does) for data
    the decoder rejects.
    """
    buf = torch.frombuffer(bytearray(data), dtype=torch.uint8)
    ops = _tv_ops()
    if ops is not None:
        op = ops.decode_jpeg if jpeg else ops.decode_image
        return op(buf, read_mode.value, orient)
    try:
        from torchvision.io import decode_image, decode_jpeg
    except ImportError:
        return None
    fn = decode_jpeg if jpeg else decode_image
    return fn(buf, mode=read_mode, apply_exif_orientation=orient)


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
    max_image_pixels: int | None = USE_DEFAULT,
    exif_transpose: bool = False,
) -> torch.Tensor:
    """Decode an image to a ``uint8`` tensor of shape ``(C, H, W)``.

    JPEG and WebP are decoded straight from the bytes by TorchCodec when it is installed, else by
    ``torchvision.io`` (:func:`pixelpipe.io.codecs.decoder_backend`; not PNG: torchvision's PNG decoder
    crashes the process on corrupt data); other formats, modes those libraries cannot produce for a
    format, and data they reject go through :func:`decode_pil`.
    Both paths give the same pixels (JPEG within one level), with the same 16-bit scaling. The size the
    header declares is checked before anything is decoded.

    Args:
        data: encoded bytes, a binary file-like object, or a PIL image.
        mode: ``'RGB'`` (3 channels), ``'L'`` (1), ``'RGBA'`` (4), ``'LA'`` (2), another 8-bit PIL mode, or
            ``None``/``''`` for the file's own channels.
        filename: named in the error message when decoding fails.
        index: sample index, likewise.
        max_image_pixels: refuse images declaring more pixels than this (``None``: no limit; default
            :func:`get_max_image_pixels`).
        exif_transpose: apply the EXIF orientation tag, as :func:`decode_pil` does.

    Raises:
        ImageDecodeError: empty, truncated, corrupt or unrecognised data.
        ImageTooLargeError: the image declares more than ``max_image_pixels`` pixels.
        ConfigError: ``mode`` does not give 8-bit samples (``'I'``, ``'F'``, ...).

    Example:
        >>> import numpy as np
        >>> from PIL import Image
        >>> buf = io.BytesIO()
        >>> Image.fromarray(np.zeros((5, 7, 3), np.uint8)).save(buf, format='JPEG')
        >>> decode_tensor(buf.getvalue(), 'L').shape
        torch.Size([1, 5, 7])
    """
    limit = resolve_max_image_pixels(max_image_pixels)
    opts: dict[str, Any] = dict(
        filename=filename, index=index, max_image_pixels=limit, exif_transpose=exif_transpose
    )
    if isinstance(data, Image.Image):
        return _tensor_from_pil(decode_pil(data, mode, **opts))
    raw = read_bytes(data, filename=filename, index=index)
    header = read_header(raw)
    fmt = header.format
    plan = None
    # torchvision has no pixel limit: only images whose header size is known and allowed go to it
    width, height = header.width, header.height
    tv_reads = fmt in _TV_FORMATS and (not exif_transpose or fmt in _TV_ORIENTS)
    if tv_reads and width is not None and height is not None:
        check_image_size(width, height, limit, filename=filename, index=index)
        plan = _tv_read_mode(fmt, mode, raw)
    if plan is not None:
        read_mode, to_grey = plan
        try:
            out = codec_decode(
                raw, read_mode, fmt=fmt, orientation=header.orientation, exif_transpose=bool(exif_transpose)
            )
        except RuntimeError:
            out = None  # unsupported variant or corrupt data: PIL decodes it or reports the error
        if out is not None:
            if out.ndim == 4:  # animated WebP: first frame
                out = out[0]
            if out.dtype != torch.uint8:
                out = _scale_tensor_16bit(out)
            return _rgb_to_l(out) if to_grey else out
    return _tensor_from_pil(decode_pil(raw, mode, **opts))
