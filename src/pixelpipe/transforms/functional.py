"""Pure image operations on PIL images and ``uint8`` tensors shaped ``(C, H, W)`` (or ``(..., C, H, W)``).

Each function returns the kind of image it was given. On PIL images they do exactly what torchvision's
functional ops do (so results equal the reference pixel for pixel); on tensors they stay in ``uint8`` and use
torch's antialiased resize kernels, whose results are within about one grey level of PIL's on average.
Filters torch has no kernel for (``box``, ``hamming``, ``lanczos``) take a round trip through PIL.
"""

from __future__ import annotations

import platform
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import torch
import torchvision.transforms.v2.functional as TF
from PIL import Image
from torchvision.transforms import InterpolationMode

from .._checks import check_size
from ..errors import ConfigError
from .interpolation import interp_mode_to_str, str_to_interp_mode, to_pil_interp

__all__ = [
    "center_crop",
    "crop",
    "get_dimensions",
    "hflip",
    "is_tensor",
    "pad",
    "resize",
    "resized_crop",
    "setup_size",
    "shorter_side_size",
    "vflip",
]

_TORCH_MODES = (InterpolationMode.NEAREST, InterpolationMode.BILINEAR, InterpolationMode.BICUBIC)


def is_tensor(img: Any) -> bool:
    """Whether ``img`` is a tensor (rather than a PIL image)."""
    return isinstance(img, torch.Tensor)


def get_dimensions(img: Any) -> tuple[int, int, int]:
    """``(channels, height, width)`` of a PIL image or a ``(..., C, H, W)`` tensor.

    Example:
        >>> get_dimensions(torch.zeros(3, 4, 5, dtype=torch.uint8))
        (3, 4, 5)
    """
    if isinstance(img, torch.Tensor):
        if img.ndim < 2:
            raise TypeError(f"expected an image tensor shaped (..., C, H, W), got shape {tuple(img.shape)}")
        c = 1 if img.ndim == 2 else int(img.shape[-3])
        return c, int(img.shape[-2]), int(img.shape[-1])
    if isinstance(img, Image.Image):
        return len(img.getbands()), img.height, img.width
    raise TypeError(f"expected a PIL image or a tensor, got {type(img).__name__}")


def setup_size(size: int | Sequence[int], name: str = "size", owner: str = "") -> tuple[int, int]:
    """``(height, width)`` from a positive int or a one- or two-element sequence of them.

    Raises:
        ConfigError: not a positive int (``224.0`` is accepted) or a sequence of one or two of them; the
            message names ``owner`` and ``name``.

    Example:
        >>> setup_size(224), setup_size([7]), setup_size((3, 4))
        ((224, 224), (7, 7), (3, 4))
    """
    return check_size(size, name, owner)


def shorter_side_size(height: int, width: int, size: int) -> tuple[int, int]:
    """Output ``(height, width)`` when the shorter side becomes ``size`` (long side truncated)."""
    short, long = (width, height) if width <= height else (height, width)
    if short == size:
        return height, width
    new_short, new_long = size, int(size * long / short)
    return (new_long, new_short) if width <= height else (new_short, new_long)


def crop(img: Any, top: int, left: int, height: int, width: int) -> Any:
    """Crop a window; parts outside the image are zero (a tensor view when the window is inside)."""
    if isinstance(img, torch.Tensor):
        h, w = img.shape[-2:]
        if top >= 0 and left >= 0 and top + height <= h and left + width <= w:
            return img[..., top : top + height, left : left + width]
    return TF.crop(img, top, left, height, width)


def center_crop(img: Any, size: int | Sequence[int]) -> Any:
    """Crop the centre ``(height, width)`` window, zero-padding where the image is smaller."""
    return TF.center_crop(img, list(setup_size(size)))


_NATIVE_UINT8: dict[InterpolationMode, bool] = {}


def _native_uint8(mode: InterpolationMode) -> bool:
    """Whether torch has a native antialiased ``uint8`` CPU kernel for ``mode`` (bilinear needs AVX2 or
    ARM; bicubic always), as ``torchvision.transforms.v2.functional.resize`` decides."""
    ok = _NATIVE_UINT8.get(mode)
    if ok is None:
        if mode is InterpolationMode.BILINEAR:
            ok = torch.backends.cpu.get_cpu_capability() in ("AVX2", "AVX512") or platform.machine() in (
                "aarch64",
                "arm64",
            )
        else:
            ok = mode is InterpolationMode.BICUBIC
        _NATIVE_UINT8[mode] = ok
    return ok


def _interpolate_channels_last(x: torch.Tensor, h: int, w: int, mode: InterpolationMode) -> torch.Tensor:
    """Antialiased resize of a ``(1, C, H, W)`` channels-last ``uint8`` CPU tensor, output channels-last.

    What ``torchvision``'s tensor resize does for this input, without its per-call dispatch (about 30 µs):
    the batch stride is set to the tensor's size so that ``interpolate`` sees unambiguous channels-last
    memory and allocates its output the same way (for a single image it would otherwise pick contiguous
    memory and repack).
    """
    x = x.as_strided(x.shape, (x.numel(), *x.stride()[1:]))
    return torch.nn.functional.interpolate(
        x, size=[h, w], mode=mode.value, align_corners=False, antialias=True
    )


def resize(img: Any, size: Sequence[int], interpolation: Any = InterpolationMode.BILINEAR) -> Any:
    """Resize to exactly ``(height, width)`` with antialiasing.

    Example:
        >>> t = torch.randint(0, 256, (3, 40, 60), dtype=torch.uint8)
        >>> resize(t, (20, 30)).shape
        torch.Size([3, 20, 30])
    """
    h, w = int(size[0]), int(size[1])
    mode = str_to_interp_mode(interp_mode_to_str(interpolation))
    if isinstance(img, Image.Image):
        return img.resize((w, h), to_pil_interp(mode))  # a copy when the size is unchanged
    if mode in _TORCH_MODES or img.dtype != torch.uint8 or img.ndim != 3 or img.shape[0] not in (1, 3):
        if mode is InterpolationMode.NEAREST:
            mode = InterpolationMode.NEAREST_EXACT  # PIL samples pixel centres, torch's 'nearest' does not
        if h == w == 1 and img.dtype == torch.uint8 and mode is not InterpolationMode.NEAREST_EXACT:
            # torch's uint8 antialiased kernel fails an internal assert for a 1x1 output with 3 channels
            out = TF.resize(img.float(), [1, 1], interpolation=mode, antialias=True)
            return out.round_().clamp_(0, 255).to(torch.uint8)
        if img.ndim == 3 and img.shape[0] == 3 and img.stride(0) == 1 and img.dtype == torch.uint8:
            # channels-last memory (decoded images, crops of them): torch's fastest uint8 kernel, and the
            # result stays channels-last for the augmentation ops that follow
            if (h, w) == tuple(img.shape[-2:]):
                return img
            x = img.unsqueeze(0).contiguous(memory_format=torch.channels_last)
            if img.device.type == "cpu" and _native_uint8(mode):
                return _interpolate_channels_last(x, h, w, mode)[0]
            return TF.resize(x, [h, w], interpolation=mode, antialias=True)[0]
        return TF.resize(img, [h, w], interpolation=mode, antialias=True)
    # no torch kernel for this filter: round trip through PIL
    arr = img.permute(1, 2, 0).numpy()
    pil = Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr)
    out = np.asarray(pil.resize((w, h), to_pil_interp(mode)))
    out = out[..., None] if out.ndim == 2 else out
    return torch.from_numpy(out.copy()).permute(2, 0, 1).contiguous()


def resized_crop(
    img: Any, top: int, left: int, height: int, width: int, size: Sequence[int], interpolation: Any
) -> Any:
    """Crop a window, then resize it to ``size`` ``(height, width)``."""
    return resize(crop(img, top, left, height, width), size, interpolation)


def pad(img: Any, padding: Sequence[int], fill: Any = 0, padding_mode: str = "constant") -> Any:
    """Pad by ``(left, top, right, bottom)`` pixels; ``fill`` may be a number or one value per channel."""
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ConfigError(
            f"padding_mode: got {padding_mode!r}; expected constant, edge, reflect or symmetric"
        )
    padding = [int(p) for p in padding]
    if not any(padding):
        return img.copy() if isinstance(img, Image.Image) else img
    if isinstance(fill, (list, tuple)) and isinstance(img, torch.Tensor) and padding_mode == "constant":
        _, h, w = get_dimensions(img)
        left, top, right, bottom = padding
        shape = (*img.shape[:-2], h + top + bottom, w + left + right)
        out = torch.empty(shape, dtype=img.dtype, device=img.device)
        out[...] = torch.tensor(fill, dtype=img.dtype, device=img.device).view(-1, 1, 1)
        out[..., top : top + h, left : left + w] = img
        return out
    if isinstance(img, torch.Tensor) and padding_mode in ("reflect", "symmetric"):
        _, h, w = get_dimensions(img)
        r = 1 if padding_mode == "reflect" else 0  # reflect does not repeat the edge pixel
        left, top, right, bottom = padding
        if max(top, bottom) > h - r or max(left, right) > w - r:
            # torch reflects at most once (and not at all a 1-pixel side); NumPy, which PIL images go
            # through, repeats the reflection, so both backends give the same pixels
            arr = img.cpu().numpy()
            widths = [(0, 0)] * (arr.ndim - 2) + [(top, bottom), (left, right)]
            mode: Literal["reflect", "symmetric"] = "reflect" if r else "symmetric"
            return torch.from_numpy(np.pad(arr, widths, mode=mode)).to(img.device)
    if isinstance(fill, (list, tuple)) and len(fill) == 1:
        fill = fill[0]
    return TF.pad(img, padding, fill=fill, padding_mode=padding_mode)


def hflip(img: Any) -> Any:
    """Mirror left to right."""
    if isinstance(img, torch.Tensor):
        return img.flip(-1)
    return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)


def vflip(img: Any) -> Any:
    """Mirror top to bottom."""
    if isinstance(img, torch.Tensor):
        return img.flip(-2)
    return img.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
