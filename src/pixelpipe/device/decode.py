"""Decoding a batch of encoded images on the device: nvJPEG on CUDA, the CPU decoder for the rest.

With ``create_loader(..., augment_on='device', decode_on='device')`` the DataLoader workers only read
bytes (:class:`~pixelpipe.device.collate.EncodedBatch`); :func:`decode_batch` decodes them where the
augmentation runs:

* on CUDA, the batch's JPEGs go to ``torchvision.io.decode_jpeg(list, device='cuda')`` in one call (nvJPEG,
  batched). What nvJPEG cannot take is decoded on the CPU with :func:`pixelpipe.io.decode_tensor` (the
  path the workers use otherwise) and copied over: non-JPEG files (PNG, WebP, ...), JPEGs whose frame
  header gives no size, JPEGs with four components (CMYK / YCCK), modes other than ``RGB`` / ``L``, and
  any image the batched call or a single-image retry on the GPU fails on. Errors that the CPU decoder
  cannot recover from either raise :class:`~pixelpipe.errors.ImageDecodeError` naming the file and index;
* on any other device (the CPU in tests and on machines without a GPU) every image is decoded on the CPU.

On CUDA the current stream is synchronised once per batch before nvJPEG runs
(:func:`settle_before_nvjpeg`: nvJPEG writes its outputs, allocated from that stream's pool, on a stream of
its own, pytorch/vision#9606). Only errors that are the image's fault fall back to the CPU decoder; device
errors (out of memory, torchvision without nvJPEG, CUDA runtime errors: :func:`is_device_error`) warn once
and are raised. CPU-decoded images are copied over from pinned memory, without a host sync.

On every device the size each header declares is checked first against the sample's pixel limit (a
decompression bomb raises :class:`~pixelpipe.errors.ImageTooLargeError` naming the file, before anything
is decoded; nvJPEG has no limit of its own), and the EXIF orientation is applied where the dataset asks
for it (``exif_transpose=True``; nvJPEG ignores it, so the decoded image is rotated on the device): the
:class:`~pixelpipe.device.collate.EncodedBatch` carries the dataset's ``max_image_pixels`` and
``exif_transpose``.

The decoded images are padded into a :class:`~pixelpipe.device.collate.PaddedBatch` on the device (one
copy per image: the decoder returns separate tensors).

Example:
    >>> import io, torch
    >>> from PIL import Image
    >>> from pixelpipe.device.collate import encoded_collate
    >>> def jpeg(w, h):
    ...     buf = io.BytesIO()
    ...     Image.new('RGB', (w, h), (200, 10, 10)).save(buf, format='JPEG')
    ...     return buf.getvalue()
    >>> enc, _ = encoded_collate([(jpeg(8, 6), 0), (jpeg(4, 10), 1)])
    >>> out = decode_batch(enc, 'cpu')
    >>> tuple(out.images.shape), out.sizes.tolist()
    ((2, 3, 10, 8), [[6, 8], [10, 4]])
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from typing import Any, NamedTuple

import torch

from .._transfer import to_device
from ..errors import ConfigError
from ..io.decode import USE_DEFAULT, check_image_size, decode_tensor
from ..io.header import ImageHeader, jpeg_frame, read_header
from .collate import EncodedBatch, PaddedBatch, pad_images

__all__ = ["decode_batch", "exif_orient", "is_device_error", "jpeg_components", "settle_before_nvjpeg"]


def jpeg_components(data: bytes | memoryview) -> int | None:
    """The number of colour components in a JPEG's frame header, or ``None`` if ``data`` is not a JPEG.

    Example:
        >>> import io
        >>> from PIL import Image
        >>> buf = io.BytesIO()
        >>> Image.new('CMYK', (4, 4)).save(buf, format='JPEG')
        >>> jpeg_components(buf.getvalue()), jpeg_components(b'png...')
        (4, None)
    """
    frame = jpeg_frame(data)
    return None if frame is None else frame[2]


class _Meta(NamedTuple):
    """What decoding one sample of the batch needs besides its bytes."""

    mode: str | None
    filename: str | None
    sample_index: int | None  # (not ``index``: that is tuple's method)
    max_image_pixels: Any
    exif_transpose: bool


def _as_items(batch: EncodedBatch | Sequence[Any]) -> tuple[list[torch.Tensor], list[_Meta]]:
    if isinstance(batch, EncodedBatch):
        items = batch.items()
        n = len(items)
        limits = tuple(batch.max_image_pixels) or (USE_DEFAULT,) * n
        orients = tuple(batch.exif_transpose) or (False,) * n
        fields = (batch.modes, batch.filenames, batch.indices, limits, orients)
        if any(len(f) != n for f in fields):
            raise ConfigError(
                f"decode_batch: the EncodedBatch holds {n} images but its per-sample fields have lengths "
                f"{[len(f) for f in fields]}; build it with encoded_collate."
            )
        return items, [_Meta(*m) for m in zip(*fields)]
    samples: Sequence[Any] = batch  # a list of encoded images (mypy keeps the NamedTuple in the union)
    items = []
    for b in samples:
        if isinstance(b, torch.Tensor):
            items.append(b)
        else:
            items.append(torch.frombuffer(bytearray(b), dtype=torch.uint8))
    return items, [_Meta("RGB", None, None, USE_DEFAULT, False)] * len(items)


def _check_size(header: ImageHeader, meta: _Meta) -> None:
    """The size the header declares against the sample's limit (unknown sizes: the CPU decoder checks)."""
    if header.width is not None and header.height is not None:
        check_image_size(
            header.width,
            header.height,
            meta.max_image_pixels,
            filename=meta.filename,
            index=meta.sample_index,
        )


def exif_orient(img: torch.Tensor, orientation: int) -> torch.Tensor:
    """Rotate / flip a ``(..., H, W)`` image as EXIF ``orientation`` (1 to 8) says, as
    ``PIL.ImageOps.exif_transpose`` does (nvJPEG does not apply the orientation itself).

    Example:
        >>> t = torch.arange(6).view(1, 2, 3)
        >>> exif_orient(t, 6).tolist()  # rotated 90 degrees clockwise
        [[[3, 0], [4, 1], [5, 2]]]
    """
    if orientation == 2:
        return img.flip(-1)
    if orientation == 3:
        return img.flip(-2, -1)
    if orientation == 4:
        return img.flip(-2)
    if orientation == 5:
        return img.transpose(-2, -1)
    if orientation == 6:
        return img.rot90(-1, (-2, -1))
    if orientation == 7:
        return img.flip(-2, -1).transpose(-2, -1)
    if orientation == 8:
        return img.rot90(1, (-2, -1))
    return img


def _cpu_decode(raw: bytes, meta: _Meta) -> torch.Tensor:
    return decode_tensor(
        raw,
        meta.mode,
        filename=meta.filename,
        index=meta.sample_index,
        max_image_pixels=meta.max_image_pixels,
        exif_transpose=meta.exif_transpose,
    )


_DEVICE_ERROR = re.compile(
    r"not compiled with nvjpeg|cuda error|cudaerror|out of memory|device-side assert|illegal (memory|address)"
    r"|nvjpeg_status_(allocator_failure|execution_failed|arch_mismatch|internal_error|not_initialized)"
    r"|cublas|cudnn|no cuda gpus|driver",
    re.IGNORECASE,
)
_WARNED: set[str] = set()


def is_device_error(error: BaseException) -> bool:
    """Whether an error raised by nvJPEG is the device's (no CPU fallback) rather than the image's.

    Device errors: out of memory, torchvision built without nvJPEG, CUDA runtime and sticky errors
    (illegal address, device-side assert), nvJPEG allocation / execution / architecture failures. Any other
    error is taken to be about the image (a JPEG nvJPEG cannot decode, a corrupt body), which the CPU
    decoder then decodes or reports.

    Example:
        >>> is_device_error(RuntimeError("CUDA error: an illegal memory access was encountered"))
        True
        >>> is_device_error(RuntimeError("nvjpegDecode failed: the JPEG stream is not supported"))
        False
    """
    oom = getattr(torch, "OutOfMemoryError", None) or torch.cuda.OutOfMemoryError
    return isinstance(error, oom) or bool(_DEVICE_ERROR.search(str(error)))


def _device_error(error: BaseException) -> None:
    """Warn once per process and kind of error: nvJPEG failed for the device's reasons (re-raised)."""
    key = type(error).__name__ + ":" + str(error).split("\n")[0][:80]
    if key in _WARNED:
        return
    _WARNED.add(key)
    first = str(error).splitlines()[0] if str(error) else repr(error)
    warnings.warn(
        f"decode_batch: nvJPEG failed with a device error ({first}); "
        "not falling back to the CPU decoder image by image (that would hide the error and decode every "
        "batch on the training thread). Fix the device state, or decode in the workers with "
        "create_loader(..., decode_on='worker').",
        RuntimeWarning,
        stacklevel=4,
    )


def settle_before_nvjpeg(device: torch.device) -> None:
    """Let the current stream's queued work finish before nvJPEG decodes.

    ``decode_jpeg(..., device='cuda')`` allocates its outputs from the current stream's memory pool, but
    nvJPEG writes them on its own stream without waiting for the current one; memory freed by tensors
    whose kernels are still queued there could be overwritten before they run (pytorch/vision#9606;
    torchcodec#1634 fixed it the same way). One host sync per batch decoded on the device.
    """
    torch.cuda.current_stream(
        device
    ).synchronize()  # host-sync: before nvJPEG, once per decode_on='device' batch


def _gpu_decode(
    items: list[torch.Tensor], meta: list[_Meta], headers: list[ImageHeader], device: torch.device
) -> list[torch.Tensor | None]:
    """nvJPEG for the JPEGs it can take (``None`` where it cannot or failed).

    Only JPEGs whose declared size was read (and checked, :func:`_check_size`) go to nvJPEG, which has no
    pixel limit of its own; the EXIF orientation, which nvJPEG ignores, is applied afterwards.
    """
    from torchvision.io import ImageReadMode, decode_jpeg

    out: list[torch.Tensor | None] = [None] * len(items)
    groups: dict[str, list[int]] = {}
    for i, (data, m, h) in enumerate(zip(items, meta, headers)):
        if (
            m.mode in ("RGB", "L")
            and h.format == "jpeg"
            and h.pixels is not None
            and jpeg_components(data.numpy().data) in (1, 3)  # host-sync: none, host bytes
        ):
            groups.setdefault(m.mode, []).append(i)
    if groups and device.type == "cuda":
        settle_before_nvjpeg(device)
    for mode, idx in groups.items():
        read_mode = ImageReadMode.RGB if mode == "RGB" else ImageReadMode.GRAY
        try:
            decoded = decode_jpeg([items[i] for i in idx], mode=read_mode, device=device)
        except RuntimeError as e:
            if is_device_error(e):
                _device_error(e)
                raise
            decoded = []
            for i in idx:  # find the images it fails on; the rest still decode on the GPU
                try:
                    decoded.append(decode_jpeg(items[i], mode=read_mode, device=device))
                except RuntimeError as e_i:
                    if is_device_error(e_i):
                        _device_error(e_i)
                        raise
                    decoded.append(None)  # this image's own fault: the CPU decoder takes it
        for i, img in zip(idx, decoded):
            if img is not None and meta[i].exif_transpose and headers[i].orientation != 1:
                img = exif_orient(img, headers[i].orientation)
            out[i] = img
    return out


def _shrink(img: torch.Tensor, max_side: int) -> torch.Tensor:
    import torchvision.transforms.v2.functional as TF

    h, w = int(img.shape[-2]), int(img.shape[-1])
    f = max_side / max(h, w)
    return TF.resize(img, [max(1, round(h * f)), max(1, round(w * f))], antialias=True)


def decode_batch(
    batch: EncodedBatch | Sequence[Any],
    device: torch.device | str,
    *,
    multiple: int = 1,
    max_side: int | None = None,
) -> PaddedBatch:
    """Decode a batch of encoded images on ``device`` into a :class:`PaddedBatch` there.

    Args:
        batch: an :class:`EncodedBatch`, or a sequence of encoded images (``bytes`` or 1-D ``uint8``
            tensors, decoded to RGB).
        device: where to decode (nvJPEG on CUDA) and put the batch.
        multiple: round the padded height and width up to a multiple of this.
        max_side: images whose longer side exceeds this are resized to it (antialiased, bilinear, on
            ``device``) before padding; ``None``: never.

    Each image's declared size (:func:`pixelpipe.io.read_header`) is checked against its pixel limit before
    anything in the batch is decoded, and the EXIF orientation is applied where asked for: the settings an
    :class:`EncodedBatch` carries from the dataset (``max_image_pixels``, ``exif_transpose``); for a plain
    sequence, the process-wide limit (:func:`pixelpipe.io.get_max_image_pixels`) and no rotation.

    Raises:
        ImageTooLargeError: an image declares more pixels than its limit (names file and index).
        ImageDecodeError: an image neither nvJPEG nor the CPU decoder can decode (names file and index).
    """
    device = torch.device(device)
    items, meta = _as_items(batch)
    items = [t if t.device.type == "cpu" else t.cpu() for t in items]  # host-sync: none, host bytes
    raws = [t.numpy().tobytes() for t in items]  # host-sync: none, host bytes
    headers = [read_header(raw) for raw in raws]
    for h, m in zip(headers, meta):  # before anything is decoded, on every device
        _check_size(h, m)
    decoded: list[torch.Tensor | None] = [None] * len(items)
    if device.type == "cuda":
        decoded = _gpu_decode(items, meta, headers, device)
    images = []
    for i, img in enumerate(decoded):
        if img is None:
            img = to_device(_cpu_decode(raws[i], meta[i]), device)  # pinned, non-blocking
        if max_side is not None and max(img.shape[-2:]) > max_side:
            img = _shrink(img, max_side)
        images.append(img)
    return pad_images(images, multiple, device=device)
