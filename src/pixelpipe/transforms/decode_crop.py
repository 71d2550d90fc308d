"""Decode and random-resized-crop in one step, decoding JPEGs at reduced scale when that is lossless for the
output resolution.

The crop window is drawn from the image size in the header, before any pixel is decoded, with the same
distribution as :class:`~pixelpipe.transforms.RandomResizedCropAndInterpolation`. When the window, shrunk by
a JPEG DCT scale factor ``s`` in ``{2, 4, 8}``, is still at least 1.25 times the output size on both axes
(:data:`REDUCING_GAP`), the JPEG is decoded at ``1/s`` scale (PIL ``draft``) and the window is resized from
there; the output is never upsampled from a reduced decode. Otherwise the image is decoded in full
(``torchvision.io``, to a ``uint8`` tensor) and cropped before resizing.

On large photos this decodes up to 64x fewer pixels; the result stays within a few grey levels of the
full-decode path (PSNR above 35 dB, see :data:`REDUCING_GAP` and the tests).

:func:`fuse_decode` turns a ``create_transform`` pipeline into a :class:`DecodePipeline`, which also accepts
an :class:`~pixelpipe.io.EncodedImage` (what :class:`~pixelpipe.datasets.ImageDataset` hands a transform
that declares ``accepts_encoded``): a leading random resized crop is fused with the decode as above, any
other pipeline decodes with :func:`~pixelpipe.io.decode_tensor` and runs on the ``uint8`` tensor.
``create_loader`` uses it for the transforms it builds.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torchvision.transforms.functional as TV1
from PIL import Image
from torchvision.io import ImageReadMode

from ..errors import ConfigError
from ..io.codecs import codec_decode
from ..io.decode import _DECODE_ERRORS, check_image_size, decode_tensor
from ..io.encoded import EncodedImage
from ..io.header import jpeg_frame, read_header
from ..rng import get_rng
from . import functional as F
from .base import Transform
from .compose import Compose, call_with_rng
from .convert import MaybeToTensor, Normalize
from .interpolation import to_pil_interp
from .resize import CropParams, RandomResizedCropAndInterpolation, _choose, _sample_window

__all__ = [
    "REDUCING_GAP",
    "DecodePipeline",
    "DecodeRandomResizedCrop",
    "draft_scale",
    "fuse_decode",
    "jpeg_size",
    "pil_to_tensor",
    "tensor_to_pil",
]

#: A ``1/s`` decode is used only when the window, shrunk by ``s``, stays at least this many times the output
#: size on both axes, so that the final antialiased resize still does part of the filtering (like PIL's
#: ``reducing_gap``). Measured against the full-decode path, windows at the threshold, every scale: at or
#: above 42 dB on the benchmark photos and 36 dB on full-detail textures (photos tiled, not upscaled:
#: ``gravel``, ``grass``, ``china``, ``astronaut``); a gap of 1 would give 33 dB on those textures.
REDUCING_GAP = 1.25

#: Image modes the tensor path runs on; other modes take the PIL path.
_TENSOR_MODES = ("RGB", "L")


def draft_scale(win_h: int, win_w: int, out_h: int, out_w: int) -> int:
    """The largest JPEG scale divisor ``s`` (1, 2, 4 or 8) keeping the window :data:`REDUCING_GAP` times the
    output on both axes.

    Example:
        >>> draft_scale(1400, 1000, 224, 224), draft_scale(2000, 1900, 224, 224)
        (2, 4)
        >>> draft_scale(600, 580, 224, 224), draft_scale(500, 500, 224, 224)
        (2, 1)
    """
    for s in (8, 4, 2):
        if win_h // s >= REDUCING_GAP * out_h and win_w // s >= REDUCING_GAP * out_w:
            return s
    return 1


@dataclass(frozen=True)
class DecodeCropParams:
    """The crop window (in full-resolution pixels), its interpolation and the decode scale divisor."""

    crop: CropParams
    scale: int


class DecodeRandomResizedCrop(Transform):
    """Encoded image bytes in, a random resized crop out as a ``uint8`` ``(C, H, W)`` tensor.

    Args:
        size, scale, ratio, interpolation: as :class:`~pixelpipe.transforms.RandomResizedCropAndInterpolation`
            (or pass ``rrc=`` to reuse one).
        mode: output image mode, ``'RGB'`` or ``'L'``.
        reduced_decode: allow decoding at reduced JPEG scale (set ``False`` for the full-decode path).
        output: ``'tensor'`` (default) for a ``uint8`` ``(C, H, W)`` tensor, ``'pil'`` for a PIL image (for
            a PIL augmentation stage next; cheaper than converting the tensor afterwards).

    Example:
        >>> from PIL import Image
        >>> buf = io.BytesIO()
        >>> Image.new('RGB', (1200, 900), (90, 120, 30)).save(buf, format='JPEG')
        >>> t = DecodeRandomResizedCrop(64)
        >>> p = t.make_params(buf.getvalue(), np.random.default_rng(0))
        >>> t.apply(buf.getvalue(), p).shape
        torch.Size([3, 64, 64])
    """

    def __init__(
        self,
        size: int | tuple[int, int] = 224,
        scale: tuple[float, float] = (0.08, 1.0),
        ratio: tuple[float, float] = (3.0 / 4.0, 4.0 / 3.0),
        interpolation: Any = "bilinear",
        *,
        rrc: RandomResizedCropAndInterpolation | None = None,
        mode: str = "RGB",
        reduced_decode: bool = True,
        output: str = "tensor",
    ) -> None:
        if rrc is None:
            rrc = RandomResizedCropAndInterpolation(size, scale, ratio, interpolation)
        self.rrc = rrc
        if mode not in ("RGB", "L"):
            raise ConfigError(f"DecodeRandomResizedCrop: mode must be 'RGB' or 'L', got {mode!r}")
        self.mode = mode
        self.reduced_decode = reduced_decode
        if output not in ("tensor", "pil"):
            raise ConfigError(f"DecodeRandomResizedCrop: output must be 'tensor' or 'pil', got {output!r}")
        self.output = output

    def make_params(self, img: Any, rng: np.random.Generator) -> DecodeCropParams:
        return self.params_for_size(*_header_size(_as_bytes(img)), rng)

    def params_for_size(
        self, height: int, width: int, is_jpeg: bool, rng: np.random.Generator
    ) -> DecodeCropParams:
        """Draw the window for an image of ``height`` x ``width`` (as :meth:`make_params`, header read)."""
        top, left, h, w = _sample_window(height, width, self.rrc.scale, self.rrc.ratio, rng)
        crop = CropParams(top, left, h, w, _choose(self.rrc.interpolation, rng))
        out_h, out_w = self.rrc.size
        s = draft_scale(h, w, out_h, out_w) if self.reduced_decode and is_jpeg else 1
        return DecodeCropParams(crop, s)

    def apply(self, img: Any, params: DecodeCropParams) -> torch.Tensor | Image.Image:
        data = _as_bytes(img)
        c = params.crop
        if params.scale == 1:
            header = read_header(data)
            if header.format == "jpeg":
                read_mode = ImageReadMode.RGB if self.mode == "RGB" else ImageReadMode.GRAY
                # as stored: the window was drawn on the stored size (TorchCodec's rotation is undone)
                full = codec_decode(data, read_mode, fmt="jpeg", orientation=header.orientation)
            else:  # pixelpipe's decoder: torchvision's PNG decoder can crash the process on corrupt rows
                full = None
            if full is None:  # (or a torchvision without image decoders: Pillow decodes)
                full = decode_tensor(data, self.mode)
            out = F.resized_crop(full, c.top, c.left, c.height, c.width, self.rrc.size, c.interpolation)
            return tensor_to_pil(out) if self.output == "pil" else out
        pil = Image.open(io.BytesIO(data))
        width, height = pil.size
        drafted = pil.draft(self.mode, (max(1, width // params.scale), max(1, height // params.scale)))
        # A 1/s decode maps full-resolution x to x / s exactly (each 8x8 DCT block becomes 8/s pixels); its
        # size is ceil(W / s), so pil.width / W would misplace windows by up to half a pixel towards the
        # right and bottom edges. Pillow returns the exact extent of the original in the drafted image.
        fx, fy = (drafted[1][2] / width, drafted[1][3] / height) if drafted else (1.0, 1.0)
        pil = pil.convert(self.mode) if pil.mode != self.mode else pil  # (convert would copy it)
        box = (c.left * fx, c.top * fy, (c.left + c.width) * fx, (c.top + c.height) * fy)
        out_h, out_w = self.rrc.size
        out = pil.resize((out_w, out_h), to_pil_interp(c.interpolation), box=box)
        return out if self.output == "pil" else TV1.pil_to_tensor(out)

    def __repr__(self) -> str:
        return f"Decode{self.rrc!r}"


class DecodePipeline(Compose):
    """The pipeline ``create_transform`` returns (``backend='tensor'``, the default): a :class:`Compose` that
    runs on ``uint8`` tensors, whatever image it is given.

    * An :class:`~pixelpipe.io.EncodedImage` (what :class:`~pixelpipe.datasets.ImageDataset`,
      :class:`~pixelpipe.datasets.IterableImageDataset` and the ``wds/``, ``hfds/``, ``hfids/`` datasets
      hand a transform that declares ``accepts_encoded``) is decoded to a ``uint8`` tensor first. When the
      pipeline starts with a :class:`~pixelpipe.transforms.RandomResizedCropAndInterpolation` and the image
      is an RGB JPEG (within the pixel limits, without an EXIF rotation to apply;
      ``EncodedImage.crop_decodable``), the crop is fused with the decode (:class:`DecodeRandomResizedCrop`:
      window from the header, same distribution and random draws, reduced-scale decode where it keeps the
      output resolution). Any decode failure ends in :meth:`EncodedImage.decode_tensor
      <pixelpipe.io.EncodedImage.decode_tensor>`, which decodes what PIL can still read or raises
      :class:`~pixelpipe.errors.ImageDecodeError` naming the file and index (the dataset's ``on_error``
      policy then applies).
    * An ``RGB`` or ``L`` PIL image is converted to a ``uint8`` tensor once, on entry (one copy, kept in
      the image's channels-last layout, which the tensor kernels use as it is).
    * Tensors run through the transforms as with :class:`Compose`.

    Images of other modes (``RGBA``, ``P``, ...; also as :class:`~pixelpipe.io.EncodedImage` with such a
    ``mode``) run through the PIL path unchanged. The tensor path matches the PIL path within the
    tolerance the README states (the same random draws; resize rounding, bilinear warps); build the
    pipeline with ``create_transform(..., backend='pil')`` for the reference's bit-exact PIL output.

    Args:
        transforms: a :class:`Compose` (its transforms are used) or an iterable of transforms.
        reduced_decode: allow reduced-scale JPEG decoding in the fused crop.

    Example:
        >>> from PIL import Image
        >>> from pixelpipe.io import EncodedImage
        >>> from pixelpipe.factories import create_transform
        >>> buf = io.BytesIO()
        >>> Image.new('RGB', (80, 60), (90, 120, 30)).save(buf, format='JPEG')
        >>> pipe = create_transform(32, is_training=True, use_prefetcher=True)
        >>> pipe.accepts_encoded, pipe(EncodedImage(buf.getvalue()), rng=np.random.default_rng(0)).shape
        (True, torch.Size([3, 32, 32]))
        >>> pipe(Image.new('RGB', (80, 60)), rng=np.random.default_rng(0)).shape  # converted on entry
        torch.Size([3, 32, 32])
    """

    #: :class:`~pixelpipe.datasets.ImageDataset` hands this transform encoded images.
    accepts_encoded = True
    #: Prints as the Compose it was made from (``print(loader.dataset.transform)`` as with timm).
    repr_name = "Compose"

    def __init__(self, transforms: Any, *, reduced_decode: bool = True) -> None:
        super().__init__(transforms.transforms if isinstance(transforms, Compose) else transforms)
        first = self.transforms[0] if self.transforms else None
        self.decode_crop: DecodeRandomResizedCrop | None = None
        if type(first) is RandomResizedCropAndInterpolation:  # subclasses may draw differently
            self.decode_crop = DecodeRandomResizedCrop(rrc=first, reduced_decode=reduced_decode)
        self._plan: tuple[tuple[int, ...], list[Any]] = ((), [])

    def _steps(self) -> list[Any]:
        """The transforms to run, ``MaybeToTensor`` + ``Normalize`` fused (rebuilt when the list changes)."""
        key = tuple(map(id, self.transforms))
        if self._plan[0] != key:
            steps: list[Any] = []
            for t in self.transforms:
                if type(t) is Normalize and steps and type(steps[-1]) is MaybeToTensor:
                    steps[-1] = _ScaleNormalize(steps[-1], t)
                else:
                    steps.append(t)
            self._plan = (key, steps)
        return self._plan[1]

    def __call__(self, img: Any, *, rng: np.random.Generator | None = None) -> Any:
        if isinstance(img, Image.Image):
            if img.mode in _TENSOR_MODES:
                img = pil_to_tensor(img)
        elif isinstance(img, EncodedImage) and img.mode not in _TENSOR_MODES:  # RGBA, P, file's own mode
            return self(img.decode_pil(), rng=rng)  # decoded by PIL; an RGB or L result takes the tensor path
        rng = rng if rng is not None else get_rng()
        steps = self._steps()
        if isinstance(img, EncodedImage):
            dc = self.decode_crop
            if dc is not None and self.transforms and self.transforms[0] is dc.rrc and img.crop_decodable:
                img = self._decode_crop(img, dc, rng)
                steps = steps[1:]
            else:
                img = img.decode_tensor()
        for t in steps:
            img = call_with_rng(t, img, rng)
        return img

    @staticmethod
    def _decode_crop(img: EncodedImage, dc: DecodeRandomResizedCrop, rng: np.random.Generator) -> Any:
        header = img.header  # read once (and cached) by ``crop_decodable``
        if header.width is None or header.height is None:  # no readable frame header: decode (or raise)
            return call_with_rng(dc.rrc, img.decode_tensor(), rng)
        params = dc.params_for_size(header.height, header.width, True, rng)
        try:
            return dc.apply(img.data, params)
        except (RuntimeError, *_DECODE_ERRORS):
            full = img.decode_tensor()  # what PIL can still decode, else ImageDecodeError (file, index)
            c = params.crop
            return F.resized_crop(full, c.top, c.left, c.height, c.width, dc.rrc.size, c.interpolation)


class _ScaleNormalize(Transform):
    """``Normalize(MaybeToTensor(x))`` in one step for ``uint8`` tensors: ``x * (1 / (255 std)) - mean / std``
    on a planar float copy (two passes instead of four; equal within float rounding). Anything else goes
    through the two transforms."""

    def __init__(self, to_tensor: MaybeToTensor, normalize: Normalize) -> None:
        self.to_tensor, self.normalize = to_tensor, normalize
        mean, std = normalize.mean.view(-1, 1, 1), normalize.std.view(-1, 1, 1)
        self.scale, self.shift = 1.0 / (255.0 * std), -mean / std

    def apply(self, img: Any, params: Any) -> Any:
        if isinstance(img, torch.Tensor) and img.dtype == torch.uint8 and img.device.type == "cpu":
            return img.contiguous().float().mul_(self.scale).add_(self.shift)
        return self.normalize(self.to_tensor(img))


def fuse_decode(transform: Any, *, reduced_decode: bool = True) -> Any:
    """Make a :class:`Compose` built with ``create_transform(..., backend='pil')`` (or by hand) a
    :class:`DecodePipeline` with the same transforms (what ``backend='tensor'`` gives directly).

    Each of the ``(primary, secondary, final)`` stages of ``create_transform(..., separate=True)`` is
    converted. A :class:`DecodePipeline` and anything that is not a plain :class:`Compose` are returned
    unchanged, so a pipeline you built yourself is used as is.

    Example:
        >>> from pixelpipe.factories import create_transform
        >>> stages = fuse_decode(create_transform(32, is_training=True, separate=True, backend='pil'))
        >>> [type(s).__name__ for s in stages]
        ['DecodePipeline', 'DecodePipeline', 'DecodePipeline']
    """
    if isinstance(transform, tuple) and len(transform) == 3:
        return tuple(fuse_decode(t, reduced_decode=reduced_decode) for t in transform)
    if type(transform) is Compose:
        return DecodePipeline(transform, reduced_decode=reduced_decode)
    return transform


def pil_to_tensor(img: Image.Image) -> torch.Tensor:
    """An ``RGB`` / ``L`` PIL image to a ``uint8`` ``(C, H, W)`` tensor (one copy, channels-last strides).

    The same values as ``torchvision.transforms.functional.pil_to_tensor``, without its second copy into
    planar layout: the tensor kernels run on channels-last memory, as ``torchvision.io`` decodes.

    Example:
        >>> t = pil_to_tensor(Image.new('RGB', (5, 4), (1, 2, 3)))
        >>> t.shape, t[:, 0, 0].tolist(), t.stride()
        (torch.Size([3, 4, 5]), [1, 2, 3], (1, 15, 3))
    """
    arr = np.array(img)  # a writable copy: torch.from_numpy warns about read-only arrays
    t = torch.from_numpy(arr)
    return t.unsqueeze(0) if t.ndim == 2 else t.permute(2, 0, 1)


def tensor_to_pil(img: torch.Tensor) -> Image.Image:
    """A ``uint8`` ``(C, H, W)`` tensor with 1 or 3 channels to an ``L`` / ``RGB`` PIL image (a copy).

    Interleaves the planes with ``Image.merge``, several times cheaper than making the tensor channels-last
    contiguous for ``Image.fromarray``.

    Example:
        >>> tensor_to_pil(torch.tensor([[[1, 2]], [[3, 4]], [[5, 6]]], dtype=torch.uint8)).getpixel((1, 0))
        (2, 4, 6)
    """
    arr = img.detach().cpu().numpy()
    if arr.ndim != 3 or arr.shape[0] not in (1, 3) or arr.dtype != np.uint8:
        raise TypeError(
            f"tensor_to_pil: expected a uint8 (1|3, H, W) tensor, got {tuple(arr.shape)} {arr.dtype}"
        )
    if arr.shape[0] == 1:
        return Image.fromarray(arr[0])
    size = (arr.shape[2], arr.shape[1])
    bands = [Image.frombuffer("L", size, np.ascontiguousarray(plane), "raw", "L", 0, 1) for plane in arr]
    return Image.merge("RGB", bands)


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """``(height, width)`` from a JPEG's frame header, or ``None`` when ``data`` is not a readable JPEG.

    Reads markers up to the first start-of-frame segment; much cheaper than opening the file with PIL.

    Example:
        >>> buf = io.BytesIO()
        >>> Image.new('RGB', (30, 20)).save(buf, format='JPEG')
        >>> jpeg_size(buf.getvalue())
        (20, 30)
    """
    frame = jpeg_frame(data)
    return (frame[0], frame[1]) if frame is not None and frame[0] and frame[1] else None


def _header_size(data: bytes) -> tuple[int, int, bool]:
    """``(height, width, is_jpeg)`` from the header; the size is checked against the pixel limit."""
    header = read_header(data)
    is_jpeg = header.format == "jpeg" and header.width is not None
    if header.width is None or header.height is None:
        with warnings.catch_warnings():  # header only; the limit is checked below, Pillow's not needed
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as pil:
                header = header._replace(width=pil.width, height=pil.height)
    check_image_size(header.width, header.height)
    return header.height, header.width, is_jpeg


def _as_bytes(img: Any) -> bytes:
    if isinstance(img, (bytes, bytearray, memoryview)):
        return bytes(img)
    if isinstance(img, np.ndarray) and img.dtype == np.uint8:
        return img.tobytes()
    if isinstance(img, torch.Tensor) and img.dtype == torch.uint8 and img.ndim == 1:
        return img.numpy().tobytes()
    raise TypeError(f"DecodeRandomResizedCrop: expected encoded image bytes, got {type(img).__name__}")
