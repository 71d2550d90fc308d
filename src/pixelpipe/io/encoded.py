"""An encoded image that knows where it came from, for transforms that decode it themselves.

:class:`~pixelpipe.datasets.ImageDataset` hands an :class:`EncodedImage` (instead of a decoded image) to a
transform that declares ``accepts_encoded = True`` (the pipelines ``create_loader`` builds, see
:func:`pixelpipe.transforms.decode_crop.fuse_decode`). Such a transform can look at the header first and
decode only what it needs, at reduced scale where allowed; every decode failure it cannot recover from goes
through :meth:`EncodedImage.decode_tensor`, which raises :class:`~pixelpipe.errors.ImageDecodeError` naming
the file and the sample index, so the dataset's ``on_error`` policy applies as it does to its own decoding.

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

import torch
from PIL import Image

from ..errors import ImageDecodeError
from .decode import _decode_error, _sniff, decode_pil, decode_tensor

__all__ = ["EncodedImage"]


@dataclass(frozen=True, eq=False)
class EncodedImage:
    """The encoded bytes of one sample, the mode to decode it to, and its file name and index.

    Attributes:
        data: the encoded image (JPEG, PNG, ...).
        mode: PIL mode to decode to (``'RGB'``, ``'L'``, ...; ``None``/``''`` keeps the file's own).
        filename: named in decode errors.
        index: the dataset index, likewise.
    """

    data: bytes
    mode: str | None = "RGB"
    filename: str | None = None
    index: int | None = None

    @property
    def format(self) -> str:
        """``'jpeg'``, ``'png'``, ``'webp'`` or ``'other'``, from the first bytes."""
        return _sniff(self.data)

    def decode_tensor(self) -> torch.Tensor:
        """Decode to a ``uint8`` ``(C, H, W)`` tensor (:func:`~pixelpipe.io.decode_tensor`).

        Raises:
            ImageDecodeError: the data cannot be decoded (names the file and index).
        """
        return decode_tensor(self.data, self.mode, filename=self.filename, index=self.index)

    def decode_pil(self) -> Image.Image:
        """Decode to a PIL image (:func:`~pixelpipe.io.decode_pil`); raises like :meth:`decode_tensor`."""
        return decode_pil(self.data, self.mode, filename=self.filename, index=self.index)

    def error(self, cause: BaseException) -> ImageDecodeError:
        """An :class:`ImageDecodeError` for ``cause`` naming this sample (raise it ``from cause``)."""
        return _decode_error(cause, self.filename, self.index)

    def __repr__(self) -> str:
        return (
            f"EncodedImage({self.format}, {len(self.data)} bytes, mode={self.mode!r}, "
            f"filename={self.filename!r}, index={self.index!r})"
        )
