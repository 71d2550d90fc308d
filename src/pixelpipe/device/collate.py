"""Batches of images of different sizes, for augmentation on the device.

With ``create_loader(..., augment_on='device')`` the DataLoader workers only decode (or only read bytes);
the crop that would make every image the same size runs later, on the device. Two batch layouts carry the
variable-size images there:

* :class:`PaddedBatch` (workers decode): the ``uint8`` images top-left aligned in one zero-padded
  ``(B, C, H_max, W_max)`` tensor, with their ``(B, 2)`` sizes. One tensor moves to the device in one copy,
  and the batched crop (:func:`pixelpipe.batch.crop.resized_crop`) reads every image through per-sample
  weights that never touch the padding, with no Python loop over the batch. ``H_max``/``W_max`` are rounded
  up to a multiple (``multiple=32`` by default in the loader) so that batches share a few shapes.
* :class:`EncodedBatch` (workers read bytes, ``decode_on='device'``): the encoded bytes of the batch
  back to back in one 1-D ``uint8`` tensor (one shared-memory block per batch, not one per image) with
  their offsets, the mode, file name and index of each sample for decode errors, and the dataset's
  decode options (``max_image_pixels``, ``exif_transpose``) of each sample;
  :func:`pixelpipe.device.decode.decode_batch` turns it into a :class:`PaddedBatch` on the device.

Both are named tuples, so ``pin_memory=True`` pins their tensors.

Example:
    >>> import torch
    >>> batch = [(torch.ones(3, 2, 3, dtype=torch.uint8), 0), (torch.ones(3, 4, 1, dtype=torch.uint8), 1)]
    >>> (images, sizes), targets = pad_collate(batch)
    >>> tuple(images.shape), sizes.tolist(), targets.tolist()
    ((2, 3, 4, 3), [[2, 3], [4, 1]], [0, 1])
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from torch.utils.data import default_collate

from ..errors import ConfigError
from ..io.decode import get_max_image_pixels, resolve_max_image_pixels
from ..memory import empty_batch

__all__ = ["EncodedBatch", "PaddedBatch", "encoded_collate", "pad_collate", "pad_images"]


class PaddedBatch(NamedTuple):
    """Images of different sizes in one zero-padded tensor.

    Attributes:
        images: ``uint8`` ``(B, C, H_max, W_max)``; image ``i`` fills ``[:sizes[i, 0], :sizes[i, 1]]``.
        sizes: ``int64`` ``(B, 2)`` ``(height, width)`` of each image, on the host (the random draws
            that depend on them are made there).
    """

    images: torch.Tensor
    sizes: torch.Tensor


class EncodedBatch(NamedTuple):
    """Encoded images, decoded later on the device (:func:`pixelpipe.device.decode.decode_batch`).

    Attributes:
        data: 1-D ``uint8``: the encoded images back to back.
        offsets: ``int64`` ``(B + 1,)``: image ``i`` is ``data[offsets[i]:offsets[i + 1]]``.
        modes: the mode each sample decodes to (``'RGB'``, ``'L'``, ...).
        filenames: named in decode errors (``None`` where unknown).
        indices: dataset indices, likewise.
        max_image_pixels: the pixel limit of each sample, checked against the size its header declares
            before decoding (``None``: no limit). Empty (a batch built by hand): the process-wide default
            (:func:`pixelpipe.io.get_max_image_pixels`) when decoded.
        exif_transpose: whether each sample's EXIF orientation is applied. Empty: not applied.
    """

    data: torch.Tensor
    offsets: torch.Tensor
    modes: tuple[str | None, ...]
    filenames: tuple[str | None, ...]
    indices: tuple[int | None, ...]
    max_image_pixels: tuple[int | None, ...] = ()
    exif_transpose: tuple[bool, ...] = ()

    def items(self) -> list[torch.Tensor]:
        """The encoded images as 1-D ``uint8`` views of :attr:`data`."""
        bounds = self.offsets.tolist()  # host-sync: none, host offsets (once per batch)
        return [self.data[a:b] for a, b in itertools.pairwise(bounds)]

    @property
    def batch_size(self) -> int:
        """The number of images."""
        return int(self.offsets.shape[0]) - 1


def _round_up(v: int, multiple: int) -> int:
    return -(-v // multiple) * multiple


def _check_multiple(multiple: int) -> int:
    if isinstance(multiple, bool) or not isinstance(multiple, int) or multiple < 1:
        raise ConfigError(f"multiple must be an int >= 1, got {multiple!r}")
    return multiple


def pad_images(
    images: Sequence[torch.Tensor], multiple: int = 1, device: torch.device | str | None = None
) -> PaddedBatch:
    """Pad ``(C, H, W)`` images (one channel count) into a :class:`PaddedBatch`.

    One copy per image into the padded tensor (a Python loop over the images: they are separate tensors
    already). On CPU inside a DataLoader worker the batch is allocated in shared memory.

    Args:
        images: ``uint8`` ``(C, H, W)`` tensors (or NumPy arrays).
        multiple: round the padded height and width up to a multiple of this.
        device: where to build the batch (default: the first image's device).
    """
    multiple = _check_multiple(multiple)
    if len(images) == 0:
        raise ConfigError("pad_images: got no images.")
    tensors = []
    for i, img in enumerate(images):
        t = torch.from_numpy(img) if isinstance(img, np.ndarray) else img
        if not isinstance(t, torch.Tensor) or t.ndim != 3 or t.dtype != torch.uint8:
            got = f"{tuple(t.shape)} {t.dtype}" if isinstance(t, torch.Tensor) else type(img).__name__
            raise ConfigError(
                f"pad_images: image {i} is {got}; expected a uint8 (C, H, W) tensor (the decode-only worker "
                "step of augment_on='device' makes these)."
            )
        tensors.append(t)
    channels = tensors[0].shape[0]
    for i, t in enumerate(tensors):
        if t.shape[0] != channels:
            raise ConfigError(
                f"pad_images: image {i} has {t.shape[0]} channels but image 0 has {channels}; decode every "
                "image to one mode (the dataset's input_img_mode)."
            )
    dev = torch.device(device) if device is not None else tensors[0].device
    hw = [(int(t.shape[1]), int(t.shape[2])) for t in tensors]
    h_max = _round_up(max(h for h, _ in hw), multiple)
    w_max = _round_up(max(w for _, w in hw), multiple)
    shape = (len(tensors), channels, h_max, w_max)
    out = (
        empty_batch(shape, torch.uint8)
        if dev.type == "cpu"
        else torch.empty(shape, dtype=torch.uint8, device=dev)
    )
    out.zero_()
    for i, t in enumerate(tensors):
        out[i, :, : hw[i][0], : hw[i][1]].copy_(t, non_blocking=True)
    return PaddedBatch(out, torch.tensor(hw, dtype=torch.int64))  # sizes stay on the host: no sync


def _targets(batch: Sequence[Any], where: str) -> torch.Tensor:
    for i, sample in enumerate(batch):
        if not isinstance(sample, (tuple, list)) or len(sample) < 2:
            raise ConfigError(f"{where}: sample {i} is a {type(sample).__name__}; expected (image, target).")
    out = default_collate([s[1] for s in batch])
    if not isinstance(out, torch.Tensor):
        raise ConfigError(
            f"{where}: targets of type {type(batch[0][1]).__name__} do not collate into a tensor."
        )
    return out.long() if out.ndim == 1 else out


class PadCollate:
    """Collate ``(uint8 image, target)`` samples of any sizes into ``(PaddedBatch, targets)``.

    Args:
        multiple: round the padded height and width up to a multiple of this.

    Example:
        >>> PadCollate(32)
        PadCollate(multiple=32)
    """

    def __init__(self, multiple: int = 1) -> None:
        self.multiple = _check_multiple(multiple)

    def __call__(self, batch: Sequence[Any]) -> tuple[PaddedBatch, torch.Tensor]:
        if len(batch) == 0:
            raise ConfigError("pad_collate: got an empty batch.")
        targets = _targets(batch, "pad_collate")
        return pad_images([s[0] for s in batch], self.multiple), targets

    def __repr__(self) -> str:
        return f"{type(self).__name__}(multiple={self.multiple})"


def pad_collate(batch: Sequence[Any], multiple: int = 1) -> tuple[PaddedBatch, torch.Tensor]:
    """``(PaddedBatch, targets)`` from ``(uint8 (C, H, W) image, target)`` samples of any sizes."""
    return PadCollate(multiple)(batch)


def encoded_collate(batch: Sequence[Any]) -> tuple[EncodedBatch, torch.Tensor]:
    """``(EncodedBatch, targets)`` from ``(encoded image, target)`` samples.

    An image may be an :class:`~pixelpipe.io.EncodedImage` (its mode, file name, index, pixel limit and
    ``exif_transpose`` go into the batch, so the device-side decode applies the dataset's settings),
    ``bytes`` or a 1-D ``uint8`` tensor (decoded to ``RGB`` with the process-wide pixel limit at the time of
    collation, :func:`pixelpipe.io.get_max_image_pixels`, and no EXIF rotation).

    Example:
        >>> enc, y = encoded_collate([(b'abc', 1), (b'de', 2)])
        >>> [bytes(d.numpy()) for d in enc.items()], enc.offsets.tolist(), y.tolist()
        ([b'abc', b'de'], [0, 3, 5], [1, 2])
    """
    from ..io.encoded import EncodedImage

    if len(batch) == 0:
        raise ConfigError("encoded_collate: got an empty batch.")
    targets = _targets(batch, "encoded_collate")
    chunks: list[np.ndarray] = []
    modes: list[str | None] = []
    names: list[str | None] = []
    indices: list[int | None] = []
    limits: list[int | None] = []
    orients: list[bool] = []
    default_limit = get_max_image_pixels()
    for i, (img, *_rest) in enumerate(batch):
        mode: str | None = "RGB"
        name: str | None = None
        index: int | None = None
        limit, orient = default_limit, False
        if isinstance(img, EncodedImage):
            # resolved here: USE_DEFAULT is a per-process sentinel that does not survive pickling
            limit, orient = resolve_max_image_pixels(img.max_image_pixels), bool(img.exif_transpose)
            mode, name, index = img.mode, img.filename, img.index
            img = img.data
        if isinstance(img, (bytes, bytearray, memoryview)):
            chunk = np.frombuffer(img, dtype=np.uint8)
        elif isinstance(img, torch.Tensor) and img.dtype == torch.uint8 and img.ndim == 1:
            chunk = img.numpy()  # host-sync: none, host bytes in a worker
        else:
            raise ConfigError(
                f"encoded_collate: sample {i} is a {type(img).__name__}; expected encoded bytes "
                "(decode_on='device' needs a dataset that reads bytes, e.g. ImageDataset)."
            )
        chunks.append(chunk)
        modes.append(mode)
        names.append(name)
        indices.append(index)
        limits.append(limit)
        orients.append(orient)
    offsets = np.zeros(len(chunks) + 1, dtype=np.int64)
    np.cumsum([c.size for c in chunks], out=offsets[1:])
    data = empty_batch((int(offsets[-1]),), torch.uint8)
    np.concatenate(chunks, out=data.numpy())  # host-sync: none, host memory in a worker
    batch_out = EncodedBatch(
        data,
        torch.from_numpy(offsets),
        tuple(modes),
        tuple(names),
        tuple(indices),
        tuple(limits),
        tuple(orients),
    )
    return batch_out, targets
