"""An encoded image that knows where it came from, for transforms that decode it themselves.

:class:`~pixelpipe.datasets.ImageDataset` hands an :class:`EncodedImage` (instead of a decoded image) to a
transform that declares ``accepts_encoded = True`` (the pipelines ``create_loader`` builds, see
:func:`pixelpipe.transforms.decode_crop.fuse_decode`). Such a transform can look at the header first and
decode only what it needs, at reduced scale where allowed; every decode failure it cannot recover from goes
through :meth:`EncodedImage.decode_tensor`, which raises :class:`~pixelpipe.errors.ImageDecodeError` naming
the file and the sample index, so the dataset's ``on_error`` policy applies as it does to its own decoding.
The dataset's pixel limit and ``exif_transpose`` travel with the bytes; :attr:`EncodedImage.crop_decodable`
tells a transform whether it may crop while decoding (the header was read, the size is allowed, and no EXIF
rotation is asked for).

Example:
    >>> import io
    >>> from PIL import Image
    >>> buf = io.BytesIO()
    >>> Image.new('RGB', (6, 4), (10, 20, 30)).save(buf, format='JPEG')
    >>> enc = EncodedImage(buf.getvalue(), filename='a.jpg', index=7)
    >>> enc.format, tuple(enc.decode_tensor().shape)
    ('jpeg', (3, 4, 6))
    >>> EncodedImage(b'not an image', filename='b.jpg', index=3).decode_tensor()
    Traceback (most recent call last):
    ...
    pixelpipe.errors.ImageDecodeError: cannot decode image ('b.jpg', index 3): ...
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import torch
from PIL import Image

from ..errors import ImageDecodeError
from .decode import USE_DEFAULT, _decode_error, decode_pil, decode_tensor, resolve_max_image_pixels
from .header import ImageHeader, read_header

__all__ = ["EncodedImage", "accepts_encoded"]


@dataclass(frozen=True, eq=False)
class EncodedImage:
    """The encoded bytes of one sample, the mode to decode it to, and its file name and index.

    Attributes:
        data: the encoded image (JPEG, PNG, ...).
        mode: PIL mode to decode to (``'RGB'``, ``'L'``, ...; ``None``/``''`` keeps the file's own).
        filename: named in decode errors.
        index: the dataset index, likewise.
        max_image_pixels: pixel limit checked before decoding (``None``: none; default
            :func:`pixelpipe.io.get_max_image_pixels`).
        exif_transpose: apply the EXIF orientation when decoding.
    """

    data: bytes
    mode: str | None = "RGB"
    filename: str | None = None
    index: int | None = None
    max_image_pixels: Any = USE_DEFAULT
    exif_transpose: bool = False

    @cached_property
    def header(self) -> ImageHeader:
        """Format, declared size and EXIF orientation (:func:`~pixelpipe.io.header.read_header`)."""
        return read_header(self.data)

    @property
    def format(self) -> str:
        """``'jpeg'``, ``'png'``, ``'webp'``, ``'gif'`` or ``'other'``, from the first bytes."""
        return self.header.format

    @property
    def crop_decodable(self) -> bool:
        """Whether a transform may decode a crop of this image straight from the JPEG bytes.

        True for an ``RGB`` JPEG whose frame header was read, whose size is within both pixelpipe's and
        Pillow's limits, and that needs no EXIF rotation. Otherwise decode with :meth:`decode_tensor`,
        which applies the checks and raises the documented errors.
        """
        h = self.header
        if self.mode != "RGB" or h.format != "jpeg" or h.pixels is None:
            return False
        if self.exif_transpose and h.orientation != 1:
            return False
        limit = resolve_max_image_pixels(self.max_image_pixels)
        pil_limit = Image.MAX_IMAGE_PIXELS
        return (limit is None or h.pixels <= limit) and (pil_limit is None or h.pixels <= pil_limit)

    def _opts(self) -> dict[str, Any]:
        return dict(
            filename=self.filename,
            index=self.index,
            max_image_pixels=self.max_image_pixels,
            exif_transpose=self.exif_transpose,
        )

    def decode_tensor(self) -> torch.Tensor:
        """Decode to a ``uint8`` ``(C, H, W)`` tensor (:func:`~pixelpipe.io.decode_tensor`).

        Raises:
            ImageDecodeError: the data cannot be decoded (names the file and index).
            ImageTooLargeError: the image declares more pixels than ``max_image_pixels``.
        """
        return decode_tensor(self.data, self.mode, **self._opts())

    def decode_pil(self) -> Image.Image:
        """Decode to a PIL image (:func:`~pixelpipe.io.decode_pil`); raises like :meth:`decode_tensor`."""
        return decode_pil(self.data, self.mode, **self._opts())

    def error(self, cause: BaseException) -> ImageDecodeError:
        """An :class:`ImageDecodeError` for ``cause`` naming this sample (raise it ``from cause``)."""
        return _decode_error(cause, self.filename, self.index)

    def __repr__(self) -> str:
        return (
            f"EncodedImage({self.format}, {len(self.data)} bytes, mode={self.mode!r}, "
            f"filename={self.filename!r}, index={self.index!r})"
        )


def accepts_encoded(transform: Any) -> bool:
    """Whether a dataset should hand ``transform`` an :class:`EncodedImage` instead of a decoded image.

    True for a transform that declares ``accepts_encoded = True`` (the pipelines ``create_transform``
    builds by default), and for a ``torchvision.transforms`` (v1 or v2) ``Compose`` whose first transform
    does: ``Compose([create_transform(...), my_op])`` then decodes in pixelpipe's pipeline too, and
    ``my_op`` gets its output as before.

    Example:
        >>> import torchvision.transforms as TVT
        >>> from pixelpipe.factories import create_transform
        >>> accepts_encoded(create_transform(32)), accepts_encoded(create_transform(32, backend='pil'))
        (True, False)
        >>> accepts_encoded(TVT.Compose([create_transform(32), lambda x: x * 2]))
        True
    """
    if bool(getattr(transform, "accepts_encoded", False)):
        return True
    cls = type(transform)
    if cls.__name__ != "Compose" or not cls.__module__.startswith("torchvision.transforms"):
        return False
    inner = getattr(transform, "transforms", None)
    return isinstance(inner, (list, tuple)) and len(inner) > 0 and accepts_encoded(inner[0])
