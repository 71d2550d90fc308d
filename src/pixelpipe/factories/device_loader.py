"""The device path of ``create_loader(..., augment_on='device')``: worker steps, collate and prefetcher.

* In the DataLoader workers the dataset's transform becomes :class:`DecodeOnly` (decode to a ``uint8``
  tensor, nothing else; images larger than ``max_side`` are reduced, JPEGs by DCT scaling) or, with
  ``decode_on='device'``, :class:`ReadBytes` (hand over the encoded bytes after a header check);
* :class:`~pixelpipe.device.collate.PadCollate` / :func:`~pixelpipe.device.collate.encoded_collate` make
  the variable-size batch;
* :class:`DevicePrefetchLoader` moves it to the device (decoding it there, on CUDA with nvJPEG, when the
  workers only read bytes) and runs :class:`~pixelpipe.device.pipeline.DeviceAugment` on it. Each batch
  draws from a ``torch.Generator`` seeded with ``derive_seed(epoch_seed, tag, batch_index)`` from the
  loader's seed, so a run is reproducible whatever the number of workers.

Example:
    >>> import torch
    >>> from pixelpipe.device import DeviceAugment, PaddedBatch
    >>> images, sizes = torch.zeros(2, 3, 40, 50, dtype=torch.uint8), torch.tensor([[40, 50], [30, 20]])
    >>> batches = [(PaddedBatch(images, sizes), torch.tensor([0, 1]))]
    >>> pf = DevicePrefetchLoader(batches, DeviceAugment(16, mean=(0.0,) * 3, std=(1.0,) * 3), device='cpu')
    >>> x, y = next(iter(pf))
    >>> tuple(x.shape), x.dtype, y.tolist()
    ((2, 3, 16, 16), torch.float32, [0, 1])
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from PIL import Image

from .._transfer import to_device
from ..base import BatchDesc
from ..device.collate import EncodedBatch, PadCollate, PaddedBatch, encoded_collate
from ..device.pipeline import DeviceAugment
from ..errors import ConfigError, SampleError
from ..io.decode import (
    _DECODE_ERRORS,
    _needs_quiet,
    _open_pil,
    _pillow_bomb_quiet,
    _pillow_refused,
    check_image_size,
    resolve_max_image_pixels,
)
from ..loader.prefetch import PrefetchLoader
from ..recipe import AugmentRecipe
from ..rng import derive_seed, get_rng

__all__ = [
    "DEFAULT_MAX_SIDE",
    "DecodeOnly",
    "DevicePrefetchLoader",
    "ReadBytes",
    "device_loader_parts",
]

#: Longer side above which :class:`DecodeOnly` decodes JPEGs at a reduced DCT scale (keeping it at least
#: this long) in ``create_loader(..., augment_on='device')``: a few huge photos would otherwise make every
#: padded batch huge. ImageNet's typical images (about 500 px) are never reduced.
DEFAULT_MAX_SIDE = 1024
DEVICE_TAG = 0x646576696365  # keeps the device augmentation's stream apart from the others of an epoch
_DCT_SCALES = (8, 4, 2)


def _to_tensor(img: Any) -> torch.Tensor:
    if isinstance(img, torch.Tensor):
        if img.dtype != torch.uint8 or img.ndim != 3:
            raise ConfigError(
                f"DecodeOnly: expected a uint8 (C, H, W) tensor, got {img.dtype} {tuple(img.shape)}"
            )
        return img
    if isinstance(img, np.ndarray):
        arr = img if img.ndim == 3 else img[..., None]
        return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))
    if isinstance(img, Image.Image):
        from torchvision.transforms.functional import pil_to_tensor

        return pil_to_tensor(img if img.mode in ("RGB", "L") else img.convert("RGB"))
    raise ConfigError(f"DecodeOnly: cannot turn a {type(img).__name__} into an image tensor")


class DecodeOnly:
    """The worker step of the device path: decode to a ``uint8`` ``(C, H, W)`` tensor, nothing else.

    Takes what :class:`~pixelpipe.datasets.ImageDataset` hands a transform that declares
    ``accepts_encoded`` (an :class:`~pixelpipe.io.EncodedImage`, decoded with its own error reporting and
    the dataset's ``max_image_pixels`` and ``exif_transpose``, reduced JPEGs included, so the dataset's
    ``on_error`` policy applies), or a PIL image, array or tensor from other datasets.

    Args:
        max_side: images whose longer side exceeds this are reduced: JPEGs at least twice as large are
            decoded at the largest DCT scale (1/2, 1/4, 1/8) that keeps the longer side at least
            ``max_side``; anything else still larger is resized to it (antialiased, bilinear). ``None``:
            never. This bounds the padded batch (a few huge photos would make every batch huge).

    Example:
        >>> from PIL import Image
        >>> from pixelpipe.io import EncodedImage
        >>> buf = io.BytesIO(); Image.new('RGB', (2000, 900)).save(buf, format='JPEG')
        >>> DecodeOnly(max_side=800)(EncodedImage(buf.getvalue())).shape  # decoded at 1/2, then resized
        torch.Size([3, 360, 800])
    """

    accepts_encoded = True

    def __init__(self, max_side: int | None = None) -> None:
        if max_side is not None and (
            isinstance(max_side, bool) or not isinstance(max_side, int) or max_side < 1
        ):
            raise ConfigError(f"DecodeOnly: max_side must be a positive int or None, got {max_side!r}")
        self.max_side = max_side

    def __call__(self, img: Any, *, rng: Any = None) -> torch.Tensor:
        from ..io.encoded import EncodedImage

        if not isinstance(img, EncodedImage):
            return self._limit(_to_tensor(img))
        if self.max_side is not None and img.format == "jpeg" and img.mode in ("RGB", "L"):
            out = self._reduced_jpeg(img)
            if out is not None:
                return self._limit(out)
        return self._limit(img.decode_tensor())

    def _reduced_jpeg(self, img: Any) -> torch.Tensor | None:
        """A large JPEG decoded at reduced DCT scale, with the dataset's pixel limit and EXIF orientation;
        ``None``: decode it in full (:meth:`EncodedImage.decode_tensor` checks and reports the rest)."""
        from torchvision.transforms.functional import pil_to_tensor

        from ..device.decode import exif_orient

        header = img.header
        if header.pixels is None:
            return None
        # the limit the dataset set, checked before anything is decoded (same error as the full decode)
        check_image_size(
            header.width, header.height, img.max_image_pixels, filename=img.filename, index=img.index
        )
        h, w = header.height, header.width
        if max(h, w) <= self.max_side:
            return None
        scale = next((s for s in _DCT_SCALES if math.ceil(max(h, w) / s) >= self.max_side), 1)
        if scale == 1:
            return None
        try:
            with _pillow_bomb_quiet(_needs_quiet(header)):  # allowed by our limit: Pillow need not warn
                pil = Image.open(io.BytesIO(img.data))
                pil.draft(img.mode, (math.ceil(w / scale), math.ceil(h / scale)))
                out = pil_to_tensor(pil.convert(img.mode))
        except _DECODE_ERRORS:  # the full decode reports it (Pillow's refusal included), naming the file
            return None
        if img.exif_transpose and header.orientation != 1:
            out = exif_orient(out, header.orientation)
        return out

    def _limit(self, t: torch.Tensor) -> torch.Tensor:
        h, w = int(t.shape[-2]), int(t.shape[-1])
        if self.max_side is None or max(h, w) <= self.max_side:
            return t
        from ..transforms import functional as F

        f = self.max_side / max(h, w)
        return F.resize(t, (max(1, round(h * f)), max(1, round(w * f))), "bilinear")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(max_side={self.max_side})"


class ReadBytes:
    """The worker step of ``decode_on='device'``: pass the encoded image on, after a header check.

    The header is parsed in the worker (no pixel decoded) and the size it declares checked against the
    dataset's ``max_image_pixels``, so decompression bombs
    (:class:`~pixelpipe.errors.ImageTooLargeError`) and files that are not images at all
    (:class:`~pixelpipe.errors.ImageDecodeError`) meet the dataset's ``on_error`` policy there; data that
    fails later, on the device, raises an :class:`~pixelpipe.errors.ImageDecodeError` naming the file and
    index.

    Example:
        >>> from PIL import Image
        >>> from pixelpipe.io import EncodedImage
        >>> buf = io.BytesIO(); Image.new('RGB', (4, 4)).save(buf, format='PNG')
        >>> ReadBytes()(EncodedImage(buf.getvalue())).format
        'png'
    """

    accepts_encoded = True

    def __call__(self, img: Any, *, rng: Any = None) -> Any:
        from ..io.encoded import EncodedImage

        if not isinstance(img, EncodedImage):
            raise ConfigError(
                f"decode_on='device' needs a dataset that hands over encoded images (ImageDataset), got a "
                f"{type(img).__name__}; use decode_on='worker'."
            )
        limit = resolve_max_image_pixels(img.max_image_pixels)
        try:
            # the declared size against the dataset's limit, then Pillow's lazy open (no pixel decoded)
            pil, _ = _open_pil(img.data, limit, img.filename, img.index)
            pil.close()
        except SampleError:  # ImageTooLargeError naming the file
            raise
        except Image.DecompressionBombError as e:
            raise _pillow_refused(e, limit, img.filename, img.index) from e
        except _DECODE_ERRORS as e:
            raise img.error(e) from e
        return img

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class DevicePrefetchLoader(PrefetchLoader):
    """A :class:`~pixelpipe.loader.PrefetchLoader` whose batch work is :class:`DeviceAugment`.

    Takes batches of ``(PaddedBatch | EncodedBatch | uint8 tensor, targets)``, moves (or decodes) them to
    ``device`` on the prefetcher's side stream and returns ``(images, targets)`` from the augmentation
    (normalised ``img_dtype`` images; soft targets when it mixes).

    Args:
        loader: the DataLoader (or any iterable of batches).
        augment: the :class:`DeviceAugment` to run.
        device: ``None``: CUDA when available, else the CPU.
        multiple: padding multiple of batches decoded on the device.
        max_side: longer side above which images decoded on the device are resized there (``None``:
            never), as :class:`DecodeOnly` does in the workers.
    """

    def __init__(
        self,
        loader: Any,
        augment: DeviceAugment,
        device: torch.device | str | None = None,
        *,
        multiple: int = 32,
        max_side: int | None = DEFAULT_MAX_SIDE,
    ) -> None:
        if not isinstance(augment, DeviceAugment):
            raise ConfigError(
                f"DevicePrefetchLoader: augment must be a DeviceAugment, got {type(augment).__name__}"
            )
        super().__init__(
            loader,
            mean=augment.mean,
            std=augment.std,
            channels=len(augment.mean),
            device=device,
            img_dtype=augment.img_dtype,
            channels_last=augment.channels_last,
        )
        self.augment = augment
        self.multiple = multiple
        self.max_side = max_side

    def _batch(self, x: Any) -> PaddedBatch:
        dev = self.device
        if isinstance(x, EncodedBatch):
            from ..device.decode import decode_batch

            return decode_batch(x, dev, multiple=self.multiple, max_side=self.max_side)
        if isinstance(x, PaddedBatch):  # pinned by the DataLoader (create_loader pins on this path)
            return PaddedBatch(x.images.to(dev, non_blocking=True), x.sizes)
        if isinstance(x, torch.Tensor) and x.ndim == 4:
            sizes = torch.tensor([tuple(x.shape[-2:])] * x.shape[0], dtype=torch.int64)
            return PaddedBatch(x.to(dev, non_blocking=True), sizes)
        raise ConfigError(
            f"DevicePrefetchLoader: expected batches of PaddedBatch, EncodedBatch or uint8 tensors, got "
            f"{type(x).__name__} (use the collate function create_loader(augment_on='device') sets)."
        )

    def _prepare(self, x: Any, y: Any, batch_index: int, epoch_seed: int | None) -> tuple:
        batch = self._batch(x)
        if isinstance(y, torch.Tensor):
            y = to_device(y, self.device)  # pinned, non-blocking
        if epoch_seed is None:
            seed = int(get_rng().integers(0, 2**63 - 1))
        else:
            seed = derive_seed(epoch_seed, DEVICE_TAG, batch_index)
        gen = torch.Generator().manual_seed(seed)  # host draws: see pixelpipe.device.pipeline
        sizes = batch.sizes.cpu()  # host-sync: none, PaddedBatch keeps its sizes on the host
        params = self.augment.make_params(BatchDesc.of(batch.images, sizes), gen)
        return self.augment.apply(batch.images, params, y)

    def _mixup(self) -> Any:
        return self.augment.mixup

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.augment!r}, device={self.device})"


def device_loader_parts(
    recipe: AugmentRecipe,
    *,
    decode_on: str = "worker",
    collate_fn: Callable[..., Any] | None = None,
    num_aug_splits: int = 0,
    max_side: int | None = DEFAULT_MAX_SIDE,
) -> tuple[Any, Callable[..., Any], DeviceAugment]:
    """The worker transform, collate function and :class:`DeviceAugment` of ``recipe`` for
    ``create_loader(..., augment_on='device')``.

    ``collate_fn`` may be a ``Mixup`` / ``FastCollateMixup``: it then runs on the device, last.

    Raises:
        ConfigError: a combination the device path does not support (named, with the alternative).

    Example:
        >>> from pixelpipe.recipe import AugmentRecipe
        >>> step, collate, aug = device_loader_parts(AugmentRecipe(input_size=32, use_prefetcher=True))
        >>> step, aug.size
        (DecodeOnly(max_side=1024), (32, 32))
    """
    if not isinstance(recipe, AugmentRecipe):
        raise ConfigError(f"device_loader_parts: expected an AugmentRecipe, got {type(recipe).__name__}")
    if not recipe.use_prefetcher:
        raise ConfigError(
            "create_loader: augment_on='device' runs the augmentation in the prefetcher; leave "
            "use_prefetcher=True."
        )
    if num_aug_splits or recipe.separate:
        raise ConfigError(
            "create_loader: num_aug_splits > 0 (AugMix splits with a JSD loss) is not supported with "
            "augment_on='device'; use augment_on='cpu' (auto_augment='augmix-...' without splits works)."
        )
    if recipe.train_crop_mode not in (None, "rrc"):
        raise ConfigError(
            f"create_loader: train_crop_mode={recipe.train_crop_mode!r} is not supported with "
            "augment_on='device' (only the random resized crop, 'rrc'); use augment_on='cpu'."
        )
    if decode_on not in ("worker", "device"):
        raise ConfigError(f"create_loader: decode_on must be 'worker' or 'device', got {decode_on!r}")
    from ..batch.mixup import Mixup

    mixup = None
    if isinstance(collate_fn, Mixup):
        mixup, collate_fn = collate_fn, None
    if collate_fn is not None:
        raise ConfigError(
            "create_loader: with augment_on='device' collate_fn must be None or a Mixup / FastCollateMixup "
            f"(run on the device after the augmentation), got {collate_fn!r}."
        )
    augment = DeviceAugment.from_recipe(recipe, mixup=mixup)
    if decode_on == "device":
        return ReadBytes(), encoded_collate, augment
    return DecodeOnly(max_side=max_side), PadCollate(multiple=32), augment
