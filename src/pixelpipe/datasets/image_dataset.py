"""Map-style image dataset: a reader says where each sample is, this class decodes and transforms it.

Follows the reference's ``ImageDataset`` (REFERENCE §2.1: same arguments, same return values: a PIL image
when there is no transform, ``-1`` for a missing target, extra features appended), with one error policy
for every I/O and decode failure instead of the reference's silent retry of ``OSError`` only:

* ``on_error='raise'`` (default): a :class:`~pixelpipe.errors.SampleError` (or
  :class:`~pixelpipe.errors.ImageDecodeError`) naming the file and index, chained from the cause;
* ``on_error='skip'``: the failing sample is replaced by the next readable one, *whole* (its own image
  and its own label), a warning is logged, and the skip is counted and recorded in a log shared with the
  DataLoader workers (once per request of the failing index, so over an epoch the delivered samples of
  their own index plus the skipped ones make up the dataset): :meth:`ImageDataset.skip_report` (which
  samples, why; see :mod:`pixelpipe.datasets.skips`), :attr:`ImageDataset.num_skipped`,
  :attr:`ImageDataset.skipped`.

Hostile inputs: images declaring more than ``max_image_pixels`` pixels are refused before decoding
(:class:`~pixelpipe.errors.ImageTooLargeError`, a :class:`~pixelpipe.errors.SampleError` that follows the
same policy), and ``exif_transpose=True`` applies EXIF orientation tags (see :mod:`pixelpipe.io.decode`).

Decoding inside the transform: when the transform accepts encoded images (the pipelines
:func:`~pixelpipe.create_transform` builds by default, and a ``torchvision`` ``Compose`` that
starts with one; see :func:`pixelpipe.io.accepts_encoded`), the dataset does not decode; it hands the
transform an :class:`~pixelpipe.io.EncodedImage` (bytes, mode, file name and index), so the transform can
read the header first and decode only what it needs (a random resized crop at reduced JPEG scale), to a
``uint8`` tensor (``image_backend`` does not apply). The transform then runs inside the error policy: a
decode failure there is an :class:`~pixelpipe.errors.ImageDecodeError` naming the file and index, raised or
skipped like the dataset's own (:attr:`ImageDataset.decodes_in_transform` says whether this path is taken).
A transform built with ``create_transform(..., backend='pil')``, any other transform, and no transform get
the decoded image as in the reference.
"""

from __future__ import annotations

import logging
import operator
import os
from collections.abc import Callable, Sequence
from typing import Any

import torch.utils.data
from PIL import Image

from ..errors import ConfigError, SampleError
from ..io.decode import USE_DEFAULT, decode_pil, decode_tensor, read_bytes, resolve_max_image_pixels
from ..io.encoded import EncodedImage, accepts_encoded
from ..readers.base import Reader
from .skips import SkipLog, SkipRecord, SkipReport, SkipReporting

__all__ = ["ImageDataset", "SkipRecord", "SkipReport"]

_LOG = logging.getLogger(__name__)
_ON_ERROR = ("raise", "skip")
_BACKENDS = ("pil", "tensor")


def error_text(err: BaseException) -> str:
    """``'<type>: <message>'`` of the pixelpipe error behind a skip (what a :class:`SkipRecord` keeps)."""
    return f"{type(err).__name__}: {err}"


def check_decode_options(owner: str, max_image_pixels: Any, exif_transpose: Any) -> int | None:
    """Validate the decode options shared by the datasets; returns the resolved pixel limit."""
    if not isinstance(exif_transpose, bool):
        raise ConfigError(f"{owner}: exif_transpose must be True or False, got {exif_transpose!r}")
    return resolve_max_image_pixels(max_image_pixels, f"{owner}: max_image_pixels")


class ImageDataset(SkipReporting, torch.utils.data.Dataset):
    """Images and targets from a reader (folder, tar, Hugging Face dataset, or your own ``Reader``).

    Args:
        root: dataset root (folder, ``.tar`` file, or cache folder for ``hfds/``).
        reader: ``None``/a name such as ``''`` or ``'hfds/beans'`` (built with ``create_reader``), or a
            :class:`~pixelpipe.readers.Reader` instance used as is.
        split: split passed to the reader factory.
        class_map: class-name-to-index map (dict or file) passed to the reader factory.
        load_bytes: return the encoded bytes instead of a decoded image.
        input_img_mode: PIL mode to convert images to (``None``/``''`` keeps the file's mode).
        transform: applied to the image (to the bytes when ``load_bytes``).
        target_transform: applied to the target unless it is ``None`` (then the target is ``-1``).
        additional_features: extra fields the reader appends to each sample (``hfds/`` readers).
        on_error: ``'raise'`` or ``'skip'`` (see the module docs).
        max_skips: with ``on_error='skip'``, how many consecutive candidates to try before raising.
        image_backend: ``'pil'`` (a ``PIL.Image``) or ``'tensor'`` (a ``uint8`` ``(C, H, W)`` tensor); not
            used when the transform decodes (a default ``create_transform`` pipeline; see the module docs).
        max_image_pixels: refuse images declaring more pixels than this, before decoding (``None``: no
            limit; default: :func:`pixelpipe.io.get_max_image_pixels` when the dataset is built).
        exif_transpose: rotate / flip images as their EXIF orientation tag says (off by default, as in the
            reference).
        **kwargs: passed to the reader factory (``None`` values dropped).

    Example:
        >>> import io, tempfile
        >>> from PIL import Image
        >>> from pixelpipe.readers import Reader
        >>> class TwoColours(Reader):
        ...     def __len__(self):
        ...         return 2
        ...     def __getitem__(self, i):
        ...         buf = io.BytesIO()
        ...         Image.new('RGB', (8, 8), ((255, 0, 0), (0, 0, 255))[i]).save(buf, format='PNG')
        ...         return io.BytesIO(buf.getvalue()), i
        ...     def _filename(self, i, basename=False, absolute=False):
        ...         return f'colour_{i}.png'
        >>> ds = ImageDataset('.', reader=TwoColours())
        >>> img, target = ds[1]
        >>> type(img).__name__, img.mode, img.getpixel((0, 0)), target
        ('Image', 'RGB', (0, 0, 255), 1)
        >>> ImageDataset('.', reader=TwoColours(), image_backend='tensor')[0][0].shape
        torch.Size([3, 8, 8])
        >>> from pixelpipe.factories import create_transform
        >>> fast = ImageDataset('.', reader=TwoColours(), transform=create_transform(4, use_prefetcher=True))
        >>> fast.decodes_in_transform, fast[1][0][:, 0, 0].tolist()  # the pipeline decoded the PNG itself
        (True, [0, 0, 255])
        >>> len(ds), ds.filename(0)
        (2, 'colour_0.png')
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None,
        reader: Reader | str | None = None,
        split: str = "train",
        class_map: dict[str, int] | str | os.PathLike[str] | None = None,
        load_bytes: bool = False,
        input_img_mode: str | None = "RGB",
        transform: Callable[[Any], Any] | None = None,
        target_transform: Callable[[Any], Any] | None = None,
        additional_features: str | Sequence[str] | None = None,
        on_error: str = "raise",
        image_backend: str = "pil",
        max_skips: int = 20,
        max_image_pixels: int | None = USE_DEFAULT,
        exif_transpose: bool = False,
        **kwargs: Any,
    ) -> None:
        if on_error not in _ON_ERROR:
            raise ConfigError(f"ImageDataset: on_error must be one of {_ON_ERROR}, got {on_error!r}")
        limit = check_decode_options("ImageDataset", max_image_pixels, exif_transpose)
        if image_backend not in _BACKENDS:
            raise ConfigError(
                f"ImageDataset: image_backend must be one of {_BACKENDS}, got {image_backend!r}"
            )
        if isinstance(max_skips, bool) or not isinstance(max_skips, int) or max_skips < 1:
            raise ConfigError(f"ImageDataset: max_skips must be an int >= 1, got {max_skips!r}")
        if reader is None or isinstance(reader, str):
            from ..readers.factory import create_reader

            opts = dict(class_map=class_map, additional_features=additional_features, **kwargs)
            opts = {k: v for k, v in opts.items() if v is not None}
            reader = create_reader(reader or "", root=root, split=split, **opts)
        self.root = root
        self.reader = reader
        self.load_bytes = load_bytes
        self.input_img_mode = input_img_mode
        self.transform = transform
        self.target_transform = target_transform
        self.additional_features = additional_features
        self.on_error = on_error
        self.image_backend = image_backend
        self.max_skips = max_skips
        self.max_image_pixels = limit
        self.exif_transpose = exif_transpose
        self._skips = SkipLog()

    # -- delegation -----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.reader)

    def filename(self, index: int, basename: bool = False, absolute: bool = False) -> str:
        """The name of sample ``index`` as the reader reports it."""
        return self.reader.filename(index, basename=basename, absolute=absolute)

    def filenames(self, basename: bool = False, absolute: bool = False) -> list[str]:
        """Names of all samples, in index order."""
        return self.reader.filenames(basename=basename, absolute=absolute)

    @property
    def decodes_in_transform(self) -> bool:
        """Whether samples go to the transform encoded (:func:`~pixelpipe.io.accepts_encoded`; not with
        ``load_bytes``)."""
        return not self.load_bytes and accepts_encoded(self.transform)

    def __repr__(self) -> str:
        extra = f", on_error={self.on_error!r}" if self.on_error != "raise" else ""
        return (
            f"{type(self).__name__}(root={os.fspath(self.root) if self.root is not None else None!r}, "
            f"reader={type(self.reader).__name__}, len={len(self)}{extra})"
        )

    # -- loading --------------------------------------------------------------------------------------
    def _safe_filename(self, index: int) -> str | None:
        try:
            return str(self.reader.filename(index))
        except Exception:  # a reader that cannot name its samples must not hide the real error
            return None

    def _load(self, index: int, fused: bool = False) -> tuple[Any, ...]:
        """Read and decode sample ``index``; every failure becomes a :class:`SampleError`.

        ``fused`` (the transform decodes, :attr:`decodes_in_transform`): the sample is read but not decoded
        and the transform is applied here, so its decode errors follow the same policy.
        """
        if fused:
            img, *rest = self._read(index, encoded=True)
            return (self.transform(img), *rest)
        return self._read(index, encoded=False)

    def _read(self, index: int, encoded: bool) -> tuple[Any, ...]:
        try:
            img, target, *features = self.reader[index]
        except Exception as e:
            name = self._safe_filename(index)
            where = f"{name!r}, index {index}" if name is not None else f"index {index}"
            raise SampleError(
                f"cannot read sample ({where}) from {type(self.reader).__name__}: {type(e).__name__}: {e}",
                index=index,
                filename=name,
            ) from e
        source = img
        try:
            if self.load_bytes:
                name = None if isinstance(img, (bytes, bytearray)) else self._safe_filename(index)
                img = read_bytes(img, filename=name, index=index)
            elif encoded:
                name = self._safe_filename(index)
                opts = self._decode_options()
                if isinstance(img, Image.Image):  # a reader that decodes itself: hand over the image
                    decode = decode_tensor if self.input_img_mode in ("RGB", "L") else decode_pil
                    img = decode(img, self.input_img_mode, filename=name, index=index, **opts)
                else:
                    data = read_bytes(img, filename=name, index=index)
                    img = EncodedImage(data, self.input_img_mode, filename=name, index=index, **opts)
            else:
                name = self._safe_filename(index)
                decode = decode_tensor if self.image_backend == "tensor" else decode_pil
                img = decode(img, self.input_img_mode, filename=name, index=index, **self._decode_options())
                if self.input_img_mode and decode is decode_pil and type(img) is not Image.Image:
                    img = img.copy()  # a plain converted image (not a JpegImageFile), as the reference gives
        finally:
            if hasattr(source, "read") and hasattr(source, "close"):
                source.close()  # file handles opened by the reader for this sample
        return (img, target, *features)

    def _decode_options(self) -> dict[str, Any]:
        return dict(max_image_pixels=self.max_image_pixels, exif_transpose=self.exif_transpose)

    def _record_skip(self, index: int, err: SampleError) -> None:
        name = err.filename if err.filename is not None else self._safe_filename(index)
        self._skips.add(SkipRecord(index=index, filename=name, error=error_text(err)))
        _LOG.warning("skipped sample %d (%s): %s", index, name, err)

    def _load_or_skip(self, index: int, fused: bool = False) -> tuple[Any, ...]:
        try:
            return self._load(index, fused)
        except SampleError as err:
            if self.on_error == "raise":
                raise
            self._record_skip(index, err)
            last = err
        n = len(self)
        for step in range(1, min(self.max_skips, n)):
            candidate = (index + step) % n
            try:
                return self._load(candidate, fused)
            except SampleError as err:  # not skipped here: counted when its own index is asked for
                last = err
        raise SampleError(
            f"{min(self.max_skips, n)} consecutive samples failed to load, starting at index {index} "
            f"({self._safe_filename(index)!r}); last error: {last}",
            index=index,
            filename=self._safe_filename(index),
        ) from last

    def __getitem__(self, index: int) -> tuple[Any, ...]:
        index = operator.index(index)
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for {type(self).__name__} of length {n}")
        index = index % n
        fused = self.decodes_in_transform
        img, target, *features = self._load_or_skip(index, fused)
        if self.transform is not None and not fused:
            img = self.transform(img)
        if target is None:
            target = -1
        elif self.target_transform is not None:
            target = self.target_transform(target)
        return (img, target, *features)
