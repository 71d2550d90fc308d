"""Image headers read without decoding: format, declared size and EXIF orientation.

Reading the size from the header lets the decoders refuse a decompression bomb (a small file declaring,
say, 60000 x 60000 pixels) before any pixel buffer is allocated, on the ``torchvision.io`` path too, which
has no limit of its own. Only the first bytes up to the frame header are looked at:

* JPEG: the markers up to the first start-of-frame segment (size), and an ``Exif`` APP1 segment before it
  (orientation, tag ``0x0112``);
* PNG: ``IHDR`` (size) and an ``eXIf`` chunk before the image data (orientation);
* WebP (``VP8``, ``VP8L``, ``VP8X``) and GIF: the canvas size.

Other formats, and headers that cannot be parsed, give ``None`` sizes; the decoders then let Pillow read
the header (lazily, no pixels decoded) and check the size it reports.

Example:
    >>> import io
    >>> from PIL import Image
    >>> buf = io.BytesIO()
    >>> exif = Image.Exif(); exif[0x0112] = 6
    >>> Image.new('RGB', (30, 20)).save(buf, format='JPEG', exif=exif.tobytes())
    >>> read_header(buf.getvalue())
    ImageHeader(format='jpeg', width=30, height=20, orientation=6)
    >>> read_header(b'not an image')
    ImageHeader(format='other', width=None, height=None, orientation=1)
"""

from __future__ import annotations

import struct
from typing import NamedTuple

__all__ = ["ImageHeader", "jpeg_frame", "read_header", "sniff_format"]

_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_SOF = frozenset((0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF))
_NO_LENGTH = frozenset((0x01, *range(0xD0, 0xD9)))
_ORIENTATION_TAG = 0x0112
_MAX_CHUNKS = 4096  # PNG chunks looked at before giving up on finding IDAT


class ImageHeader(NamedTuple):
    """What the first bytes of an encoded image say.

    Attributes:
        format: ``'jpeg'``, ``'png'``, ``'webp'``, ``'gif'`` or ``'other'``.
        width, height: the declared size, ``None`` when the header could not be read.
        orientation: the EXIF orientation (1 to 8; 1 when there is none or it is not read for the format).
    """

    format: str
    width: int | None
    height: int | None
    orientation: int = 1

    @property
    def pixels(self) -> int | None:
        """``width * height``, or ``None`` when unknown."""
        return None if self.width is None or self.height is None else self.width * self.height


def sniff_format(raw: bytes) -> str:
    """``'jpeg'``, ``'png'``, ``'webp'``, ``'gif'`` or ``'other'`` from the magic bytes."""
    if raw.startswith(_JPEG_MAGIC):
        return "jpeg"
    if raw.startswith(_PNG_MAGIC):
        return "png"
    if raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        return "webp"
    if raw[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    return "other"


def read_header(raw: bytes) -> ImageHeader:
    """The format, declared size and EXIF orientation of an encoded image (never raises)."""
    fmt = sniff_format(raw)
    try:
        if fmt == "jpeg":
            return _jpeg(raw)
        if fmt == "png":
            return _png(raw)
        if fmt == "webp":
            return _webp(raw)
        if fmt == "gif" and len(raw) >= 10:
            w, h = struct.unpack_from("<HH", raw, 6)
            return ImageHeader(fmt, w, h) if w and h else ImageHeader(fmt, None, None)
    except (struct.error, IndexError, ValueError):
        pass
    return ImageHeader(fmt, None, None)


def _tiff_orientation(data: bytes | memoryview) -> int:
    """Orientation tag of IFD0 of a TIFF structure (the body of an EXIF block); 1 when absent."""
    if data[:2] == b"II":
        order = "<"
    elif data[:2] == b"MM":
        order = ">"
    else:
        return 1
    ifd = struct.unpack_from(order + "I", data, 4)[0]
    count = struct.unpack_from(order + "H", data, ifd)[0]
    for k in range(count):
        tag, kind = struct.unpack_from(order + "HH", data, ifd + 2 + 12 * k)
        if tag == _ORIENTATION_TAG:
            if kind != 3:  # SHORT
                return 1
            value = struct.unpack_from(order + "H", data, ifd + 2 + 12 * k + 8)[0]
            return value if 1 <= value <= 8 else 1
    return 1


def _jpeg_walk(raw: bytes | memoryview) -> tuple[int | None, int]:
    """Walk a JPEG's markers: the offset of its first start-of-frame marker (``None``: none found before
    the scan or the data's end) and the EXIF orientation seen before it."""
    n, i, orientation = len(raw), 2, 1
    while i + 3 < n:
        if raw[i] != 0xFF:
            break
        marker = raw[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in _NO_LENGTH:
            i += 2
            continue
        length = (raw[i + 2] << 8) | raw[i + 3]
        if marker == 0xE1 and raw[i + 4 : i + 10] == b"Exif\x00\x00":
            try:
                orientation = _tiff_orientation(raw[i + 10 : i + 2 + length])
            except struct.error:
                orientation = 1
        elif marker in _SOF:
            return i, orientation
        elif marker == 0xDA:  # start of scan before any frame header
            break
        i += 2 + length
    return None, orientation


def jpeg_frame(raw: bytes | memoryview) -> tuple[int, int, int | None] | None:
    """``(height, width, components)`` from a JPEG's frame header, ``None`` when there is none to read.

    ``height`` may be 0 (set later by a DNL marker); ``components`` is ``None`` when the data ends
    inside the frame header.

    Example:
        >>> import io
        >>> from PIL import Image
        >>> buf = io.BytesIO()
        >>> Image.new('CMYK', (30, 20)).save(buf, format='JPEG')
        >>> jpeg_frame(buf.getvalue()), jpeg_frame(b'not a jpeg')
        ((20, 30, 4), None)
    """
    n = len(raw)
    if n < 4 or raw[0] != 0xFF or raw[1] != 0xD8:
        return None
    i = _jpeg_walk(raw)[0]
    if i is None or i + 9 > n:
        return None
    height = (raw[i + 5] << 8) | raw[i + 6]
    width = (raw[i + 7] << 8) | raw[i + 8]
    return height, width, (int(raw[i + 9]) if i + 9 < n else None)


def _jpeg(raw: bytes) -> ImageHeader:
    i, orientation = _jpeg_walk(raw)
    if i is not None and i + 9 <= len(raw):
        height = (raw[i + 5] << 8) | raw[i + 6]
        width = (raw[i + 7] << 8) | raw[i + 8]
        if height and width:  # a height of 0 is set later (DNL): unknown
            return ImageHeader("jpeg", width, height, orientation)
    return ImageHeader("jpeg", None, None, orientation)


def _png(raw: bytes) -> ImageHeader:
    if raw[12:16] != b"IHDR":
        return ImageHeader("png", None, None)
    width, height = struct.unpack_from(">II", raw, 16)
    if not (width and height):
        return ImageHeader("png", None, None)
    orientation, pos = 1, 8
    for _ in range(_MAX_CHUNKS):
        if pos + 8 > len(raw):
            break
        length = struct.unpack_from(">I", raw, pos)[0]
        kind = raw[pos + 4 : pos + 8]
        if kind in (b"IDAT", b"IEND"):
            break
        if kind == b"eXIf":
            try:
                orientation = _tiff_orientation(raw[pos + 8 : pos + 8 + length])
            except struct.error:
                orientation = 1
            break
        pos += 12 + length
    return ImageHeader("png", width, height, orientation)


def _webp(raw: bytes) -> ImageHeader:
    chunk = raw[12:16]
    if chunk == b"VP8 " and raw[23:26] == b"\x9d\x01\x2a":
        w, h = struct.unpack_from("<HH", raw, 26)
        return ImageHeader("webp", w & 0x3FFF, h & 0x3FFF)
    if chunk == b"VP8L" and raw[20] == 0x2F:
        bits = int.from_bytes(raw[21:25], "little")
        return ImageHeader("webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X":
        w = int.from_bytes(raw[24:27], "little") + 1
        h = int.from_bytes(raw[27:30], "little") + 1
        return ImageHeader("webp", w, h)
    return ImageHeader("webp", None, None)
