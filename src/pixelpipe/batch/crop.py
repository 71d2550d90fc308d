"""Batched crop boxes and resized crops on the device: every sample its own box, one set of kernels per batch.

The random resized crop (Szegedy et al., "Going Deeper with Convolutions", 2015) of the reference
(``timm.data.transforms.RandomResizedCropAndInterpolation``, REFERENCE §5.2) draws a window per image and
resizes it with torchvision's antialiased resize. Here both steps run on whole batches:

* :func:`sample_crop_boxes` draws the 10 attempts of every sample at once (area ``U(scale)·H·W``,
  ``log(aspect) ~ U(log ratio)``, rounded half-to-even), takes each sample's first attempt that fits and
  falls back to the reference's centre crop where none does: the same distribution as the per-sample
  sampler, from one ``torch.Generator`` on the device;
* :func:`resized_crop` resamples each window to the output size with two batched matrix products,
  ``Wy @ img @ Wx^T``. ``Wy`` ``(B, out_h, H)`` and ``Wx`` ``(B, out_w, W)`` hold, per sample, the separable
  filter weights PIL and torch's ``antialias=True`` resize use (support scaled by the downscale factor,
  pixel centres at ``+0.5``, weights outside the window dropped and each row renormalised), so the result
  is the antialiased resize of the cropped window, to float rounding. Flips are folded into the weights
  (a flipped sample's rows are reversed), so they cost nothing.

Images of different sizes come padded into one ``(B, C, H, W)`` batch with their sizes (see
:mod:`pixelpipe.device.collate`); a window never reaches into the padding.

Example:
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> sizes = torch.tensor([[40, 60], [30, 30]])
    >>> boxes = sample_crop_boxes(sizes, generator=g)
    >>> boxes.shape, bool((boxes[:, 0] + boxes[:, 2] <= sizes[:, 0]).all())
    (torch.Size([2, 4]), True)
    >>> imgs = torch.randint(0, 256, (2, 3, 40, 60), dtype=torch.uint8)
    >>> resized_crop(imgs, boxes, (16, 16)).shape
    torch.Size([2, 3, 16, 16])
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from typing import Any

import torch

from .._transfer import to_device
from ..errors import ConfigError
from ..rng import torch_generator

__all__ = [
    "FILTERS",
    "CropWorkspace",
    "center_crop_boxes",
    "exact_fp32_matmul",
    "filter_ids",
    "flip",
    "resample_weights",
    "resized_crop",
    "sample_crop_boxes",
]

#: Interpolation names understood by :func:`resized_crop`, in the order of their integer ids.
FILTERS = ("nearest", "bilinear", "bicubic", "box", "hamming", "lanczos")
_ATTEMPTS = 10


def _float_dtype(device: torch.device) -> torch.dtype:
    return torch.float32 if device.type == "mps" else torch.float64


def _tdiv(a: torch.Tensor, b: float) -> torch.Tensor:
    """``a / b`` as a true division on every device (CUDA computes ``tensor / number`` as a product with
    the reciprocal, which can round the other way than the CPU)."""
    return a / torch.full_like(a, b)


@contextlib.contextmanager
def exact_fp32_matmul(device: torch.device) -> Iterator[None]:
    """float32 matrix products in full IEEE precision on CUDA inside the block, whatever the process set.

    Training scripts often allow TF32 (``torch.set_float32_matmul_precision('high')``), which rounds the
    operands of float32 products to 10 mantissa bits: the crop's weights and pixels would lose about 3
    decimal digits, far past the documented agreement with the per-sample path (about 0.01 grey level on
    average). The crop's products therefore run with ``torch.backends.cuda.matmul.fp32_precision =
    'ieee'`` and the previous setting is restored afterwards (the setting is read when each product is
    launched, so the caller's own products are unaffected). Other devices: no change.
    """
    matmul = torch.backends.cuda.matmul
    if device.type != "cuda":
        yield
        return
    if hasattr(matmul, "fp32_precision"):
        prev = matmul.fp32_precision
        matmul.fp32_precision = "ieee"
        try:
            yield
        finally:
            matmul.fp32_precision = prev
        return
    prev_tf32 = matmul.allow_tf32  # older torch: the legacy switch
    matmul.allow_tf32 = False
    try:
        yield
    finally:
        matmul.allow_tf32 = prev_tf32


class CropWorkspace:
    """Reusable device buffers for :func:`resized_crop`'s float64 filter arguments, one per device, dtype
    and stream, grown to the largest batch seen and reused as views.

    The per-sample weights take ``batch x output x padded input`` values per axis (float64: 470 MB for 256
    images of up to 1024 px to 224 px); allocating them afresh every batch on the prefetcher's side stream
    churns the caching allocator, whose blocks the training stream cannot reuse. A :class:`DeviceAugment`
    (one per loader) keeps one workspace. Reuse is safe because a buffer is only reused by later work on
    the same stream. Not pickled (the buffers are dropped).

    Example:
        >>> ws = CropWorkspace()
        >>> ws.take("x", (2, 3), torch.float64, torch.device("cpu")).shape
        torch.Size([2, 3])
    """

    def __init__(self) -> None:
        self._buffers: dict[tuple[Any, ...], torch.Tensor] = {}

    def take(self, name: str, shape: Sequence[int], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        """An uninitialised ``shape`` view of buffer ``name`` (regrown when too small)."""
        stream = torch.cuda.current_stream(device).cuda_stream if device.type == "cuda" else 0
        key = (name, dtype, device, stream)
        numel = math.prod(shape)
        buf = self._buffers.get(key)
        if buf is None or buf.numel() < numel:
            buf = torch.empty(numel, dtype=dtype, device=device)
            self._buffers[key] = buf
        return buf[:numel].view(*shape)

    def __getstate__(self) -> dict[str, Any]:
        return {"_buffers": {}}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self._buffers)} buffers)"


def _check_sizes(sizes: torch.Tensor) -> torch.Tensor:
    if not isinstance(sizes, torch.Tensor) or sizes.ndim != 2 or sizes.shape[1] != 2:
        got = tuple(sizes.shape) if isinstance(sizes, torch.Tensor) else type(sizes).__name__
        raise ConfigError(f"sizes must be a (B, 2) tensor of (height, width), got {got}")
    return sizes


def sample_crop_boxes(
    sizes: torch.Tensor,
    scale: Sequence[float] = (0.08, 1.0),
    ratio: Sequence[float] = (3.0 / 4.0, 4.0 / 3.0),
    *,
    generator: torch.Generator | None = None,
    attempts: int = _ATTEMPTS,
) -> torch.Tensor:
    """Random resized crop windows for a batch, with the per-sample sampler's distribution.

    Args:
        sizes: ``(B, 2)`` ``(height, width)`` of each image (any integer or float dtype, any device).
        scale: range of the window's area as a fraction of the image.
        ratio: range of the window's aspect ratio (width / height), sampled log-uniformly.
        generator: a ``torch.Generator``; the numbers are drawn on its device and moved to ``sizes``'
            (so a CPU generator gives the same boxes on every device). ``None``: a CPU generator seeded
            from pixelpipe's generator (:func:`pixelpipe.rng.torch_generator`), not torch's global one.
        attempts: tries per sample before the centre-crop fallback (the reference's 10).

    Returns:
        ``int64`` ``(B, 4)`` ``(top, left, height, width)`` on ``sizes``' device.

    Example:
        >>> b = sample_crop_boxes(torch.tensor([[100, 100]]), scale=(1.0, 1.0), ratio=(1.0, 1.0))
        >>> b.tolist()
        [[0, 0, 100, 100]]
    """
    sizes = _check_sizes(sizes)
    dev = sizes.device
    fdt = _float_dtype(dev)
    n = sizes.shape[0]
    height, width = sizes.to(fdt).unbind(1)
    area = (height * width)[:, None]
    lo_r, hi_r = math.log(ratio[0]), math.log(ratio[1])
    gen = generator if generator is not None else torch_generator()
    gdev, gdt = gen.device, _float_dtype(gen.device)
    u = to_device(torch.rand((n, 2, attempts), generator=gen, device=gdev, dtype=gdt), dev).to(fdt)
    target = (scale[0] + (scale[1] - scale[0]) * u[:, 0]) * area
    aspect = torch.exp(lo_r + (hi_r - lo_r) * u[:, 1])
    ws = torch.sqrt(target * aspect).round()
    hs = torch.sqrt(target / aspect).round()
    ok = (ws <= width[:, None]) & (hs <= height[:, None])
    first = ok.to(torch.uint8).argmax(dim=1, keepdim=True)  # first attempt that fits (0 if none)
    found = ok.any(dim=1)
    w = ws.gather(1, first).squeeze(1)
    h = hs.gather(1, first).squeeze(1)
    # fallback: centre crop clamped to the ratio range
    in_ratio = width / height
    r_min, r_max = min(ratio), max(ratio)
    fb_w = torch.where(in_ratio > r_max, (height * r_max).round(), width)
    fb_h = torch.where(in_ratio < r_min, (width / r_min).round(), height)
    w = torch.where(found, w, fb_w)
    h = torch.where(found, h, fb_h)
    pos = to_device(torch.rand((n, 2), generator=gen, device=gdev, dtype=gdt), dev).to(fdt)
    top = torch.where(found, (pos[:, 0] * (height - h + 1)).floor(), torch.div(height - h, 2).floor())
    left = torch.where(found, (pos[:, 1] * (width - w + 1)).floor(), torch.div(width - w, 2).floor())
    return torch.stack([top, left, h, w], dim=1).to(torch.int64)


def center_crop_boxes(
    sizes: torch.Tensor,
    size: Sequence[int],
    crop_pct: float | None = None,
    crop_mode: str | None = None,
    border: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The evaluation resize + centre crop as fractional source windows (no randomness).

    ``create_transform(size, crop_pct=..., crop_mode=...)`` resizes to ``floor(size / crop_pct)`` (the
    shorter side for ``'center'`` with a square target, both sides for ``'squash'``, keeping the aspect
    for ``'center'`` with a non-square one) and crops the centre ``size``; after an optional
    ``crop_border_pixels`` trim. The same output pixels are those of a resize whose window starts part-way
    into the image, with the filter clipped at the (trimmed) image edges rather than the window's.

    Returns:
        ``(boxes, bounds)``: ``float64`` ``(B, 4)`` ``(top, left, height, width)`` source windows and
        ``(B, 4)`` ``(top, left, bottom, right)`` limits of the pixels the filter may read.
    """
    from ..constants import DEFAULT_CROP_PCT

    sizes = _check_sizes(sizes)
    dev = sizes.device
    fdt = _float_dtype(dev)
    out_h, out_w = int(size[0]), int(size[1])
    crop_pct = crop_pct or DEFAULT_CROP_PCT
    scale_h, scale_w = math.floor(out_h / crop_pct), math.floor(out_w / crop_pct)
    height, width = sizes.to(fdt).unbind(1)
    height = (height - 2 * border).clamp(min=1)
    width = (width - 2 * border).clamp(min=1)
    if crop_mode == "squash":
        rh = torch.full_like(height, scale_h)
        rw = torch.full_like(width, scale_w)
    elif scale_h == scale_w:  # Resize(int): the shorter side becomes scale, the longer one is truncated
        s = float(scale_h)
        tall = width <= height
        short = torch.where(tall, width, height)
        long_ = torch.where(tall, height, width)
        new_long = torch.where(short == s, long_, (s * long_ / short).floor())
        new_short = torch.where(short == s, short, torch.full_like(short, s))
        rh = torch.where(tall, new_long, new_short)
        rw = torch.where(tall, new_short, new_long)
    else:  # ResizeKeepRatio(scale_size, longest=0)
        ratio = torch.minimum(height / scale_h, width / scale_w)
        rh, rw = (height / ratio).round(), (width / ratio).round()
    ct = ((rh - out_h) / 2).round()
    cl = ((rw - out_w) / 2).round()
    fy, fx = height / rh, width / rw
    boxes = torch.stack([border + ct * fy, border + cl * fx, out_h * fy, out_w * fx], dim=1)
    bounds = torch.stack([torch.full_like(height, border), torch.full_like(width, border)], dim=1)
    bounds = torch.cat([bounds, bounds + torch.stack([height, width], dim=1)], dim=1)
    return boxes, bounds


def filter_ids(names: str | Sequence[str]) -> tuple[int, ...]:
    """Integer ids (indices into :data:`FILTERS`) of interpolation names (``'random'``: bilinear, bicubic).

    Example:
        >>> filter_ids('random'), filter_ids(['bicubic'])
        ((1, 2), (2,))
    """
    if isinstance(names, str):
        names = ("bilinear", "bicubic") if names == "random" else (names,)
    out = []
    for name in names:
        name = getattr(name, "value", name)  # torchvision InterpolationMode
        if name not in FILTERS:
            raise ConfigError(f"interpolation: unknown name {name!r}; expected one of {', '.join(FILTERS)}")
        out.append(FILTERS.index(name))
    return tuple(out)


def _sinc(x: torch.Tensor) -> torch.Tensor:
    px = math.pi * x
    return torch.where(x == 0, torch.ones_like(x), torch.sin(px) / torch.where(x == 0, 1.0, px))


def _filter(fid: int, x: torch.Tensor) -> torch.Tensor:
    """PIL's filter ``fid`` (see :data:`FILTERS`) at ``x`` (``nearest`` is handled by the caller)."""
    a = x.abs()
    if fid == 1:  # bilinear: triangle, support 1
        return (1.0 - a).clamp_(min=0.0)
    if fid == 2:  # bicubic, a = -0.5 (PIL and torch's antialiased kernel), support 2
        c = -0.5
        near = ((c + 2.0) * a - (c + 3.0)) * a * a + 1.0
        far = (((a - 5.0) * a + 8.0) * a - 4.0) * c
        return torch.where(a < 1.0, near, torch.where(a < 2.0, far, torch.zeros_like(a)))
    if fid == 3:  # box, support 0.5
        return ((x > -0.5) & (x <= 0.5)).to(x.dtype)
    if fid == 4:  # hamming, support 1
        return torch.where(a < 1.0, _sinc(a) * (0.54 + 0.46 * torch.cos(math.pi * a)), torch.zeros_like(a))
    if fid == 5:  # lanczos, support 3
        return torch.where(a < 3.0, _sinc(a) * _sinc(_tdiv(a, 3.0)), torch.zeros_like(a))
    raise ConfigError(f"unknown filter id {fid}")


def resample_weights(
    start: torch.Tensor,
    length: torch.Tensor,
    lo: torch.Tensor,
    hi: torch.Tensor,
    out_size: int,
    in_size: int,
    filters: torch.Tensor | int = 1,
    choices: Sequence[int] | None = None,
    flip: torch.Tensor | None = None,
    dtype: torch.dtype = torch.float32,
    workspace: CropWorkspace | None = None,
) -> torch.Tensor:
    """Per-sample 1-D resampling matrices ``(B, out_size, in_size)``.

    Output pixel ``i`` of sample ``b`` is centred at ``start[b] + (i + 0.5) * length[b] / out_size`` in
    input pixels; a downscale by ``s > 1`` stretches the filter by ``s`` (antialiasing); input pixels
    outside ``[lo[b], hi[b])`` get no weight and each row sums to 1 (PIL's and torch's convention).

    Args:
        start, length: ``(B,)`` the window along this axis (may be fractional).
        lo, hi: ``(B,)`` the pixels the filter may read.
        out_size, in_size: output length, and the (padded) input length.
        filters: ``(B,)`` filter ids (see :data:`FILTERS`) or one id for all.
        choices: the ids that may occur in ``filters`` (default: all that do; pass it to avoid a sync).
        flip: ``(B,)`` bool, reverse the output along this axis.
        dtype: dtype of the weights.
        workspace: reusable buffers for the float64 filter arguments (see :class:`CropWorkspace`).
    """
    dev = start.device
    fdt = _float_dtype(dev)
    start, length = start.to(fdt), length.to(fdt)
    lo, hi = lo.to(fdt), hi.to(fdt)
    scale = _tdiv(length, out_size)  # a true division: the same double on the CPU and on CUDA
    inv = torch.ones_like(scale) / scale.clamp(min=1.0)
    i = torch.arange(out_size, device=dev, dtype=fdt)
    center = start[:, None] + (i + 0.5) * scale[:, None]  # (B, out)
    j = torch.arange(in_size, device=dev, dtype=fdt)
    inside = (j >= lo[:, None]) & (j < hi[:, None])  # (B, in)
    ids: tuple[int, ...]
    if isinstance(filters, int):
        ids = (filters,)
    elif choices is not None:
        ids = tuple(choices)
    else:  # the ids present, read back (DeviceAugment passes ``choices``)
        ids = tuple(int(v) for v in filters.unique().tolist())  # host-sync: without choices, once per call
    shape = (start.shape[0], out_size, in_size)
    if workspace is None:
        x64 = torch.empty(shape, dtype=fdt, device=dev)
        x = None
    else:  # reused buffers (nothing returned aliases them)
        x64 = workspace.take("x64", shape, fdt, dev)
        x = workspace.take("x", shape, dtype, dev) if dtype != fdt else x64
    torch.sub((j + 0.5)[None, None, :], center[:, :, None], out=x64)
    x64.mul_(inv[:, None, None])  # (B, out, in), PIL's filter argument
    x = x64.to(dtype) if x is None else (x if x is x64 else x.copy_(x64))
    weights = torch.zeros_like(x)
    for k, fid in enumerate(ids):
        if fid == 0:  # nearest (torch's NEAREST_EXACT): the pixel under the centre, clamped to the window
            src = center.floor().clamp(min=lo[:, None], max=(hi - 1)[:, None])
            w = (j == src[:, :, None]).to(dtype)
        else:  # the box filter's edges are ties: decide them in double precision, as PIL does
            w = _filter(fid, x64).to(dtype) if fid == 3 else _filter(fid, x)
        if k == 0 or isinstance(filters, int):  # (one filter for the batch: one id, k == 0)
            weights = w
        else:
            weights = torch.where((filters == fid)[:, None, None], w, weights)
    weights = weights * inside[:, None, :].to(dtype)
    weights = weights / weights.sum(-1, keepdim=True).clamp(min=1e-12)
    if flip is not None:
        weights = torch.where(flip[:, None, None], weights.flip(1), weights)
    return weights


def resized_crop(
    images: torch.Tensor,
    boxes: torch.Tensor,
    size: int | Sequence[int],
    interpolation: str | Sequence[str] | torch.Tensor = "bilinear",
    *,
    hflip: torch.Tensor | None = None,
    vflip: torch.Tensor | None = None,
    bounds: torch.Tensor | None = None,
    choices: Sequence[int] | None = None,
    out_dtype: torch.dtype | None = None,
    compute_dtype: torch.dtype = torch.float32,
    workspace: CropWorkspace | None = None,
) -> torch.Tensor:
    """Crop each sample's box and resize it to ``size``, antialiased, optionally flipped: two batched matmuls.

    Args:
        images: ``(B, C, H, W)`` batch (``uint8`` or floating; padded images are fine).
        boxes: ``(B, 4)`` ``(top, left, height, width)`` windows in each image's own pixels (may be
            fractional, see :func:`center_crop_boxes`).
        size: output ``(height, width)`` or one side.
        interpolation: a name from :data:`FILTERS` for all samples, or a ``(B,)`` tensor of filter ids
            (then pass ``choices``, the ids that may occur, to avoid a device sync).
        hflip, vflip: ``(B,)`` bool masks: mirror those samples' outputs.
        bounds: ``(B, 4)`` ``(top, left, bottom, right)`` pixels the filter may read (default: the box,
            rounded outwards, as when cropping first).
        out_dtype: output dtype; default the input's. Integer outputs are rounded and clamped, after each
            pass, as the reference's ``uint8`` kernels do.
        compute_dtype: dtype of the weights and products. float32 products run in full IEEE precision on
            CUDA even where the process allows TF32 (:func:`exact_fp32_matmul`).
        workspace: reusable buffers for the per-sample weights' arguments (see :class:`CropWorkspace`).

    Returns:
        ``(B, C, out_h, out_w)``.

    Example:
        >>> x = torch.arange(16.0).view(1, 1, 4, 4)
        >>> resized_crop(x, torch.tensor([[0, 0, 4, 4]]), 2)[0, 0]  # as torch's antialiased resize
        tensor([[ 3.5714,  5.1429],
                [ 9.8571, 11.4286]])
        >>> resized_crop(x, torch.tensor([[1, 1, 2, 2]]), 2, hflip=torch.tensor([True]))[0, 0]
        tensor([[ 6.,  5.],
                [10.,  9.]])
    """
    if images.ndim != 4:
        raise ConfigError(f"resized_crop: images must be (B, C, H, W), got {tuple(images.shape)}")
    if boxes.shape != (images.shape[0], 4):
        raise ConfigError(
            f"resized_crop: boxes must be ({images.shape[0]}, 4) for this batch, got {tuple(boxes.shape)}"
        )
    out_h, out_w = (int(size), int(size)) if isinstance(size, int) else (int(size[0]), int(size[1]))
    in_h, in_w = images.shape[-2:]
    if isinstance(interpolation, torch.Tensor):
        filters: torch.Tensor | int = to_device(interpolation, images.device)
    else:
        ids = filter_ids(interpolation)
        if len(ids) != 1:
            raise ConfigError("resized_crop: pass one interpolation name, or a (B,) tensor of filter ids")
        filters = ids[0]
    dev = images.device
    fdt = _float_dtype(dev)
    # per-sample parameters given on the host are moved here (pinned, non-blocking)
    b = to_device(boxes, dev).to(fdt)
    hflip = None if hflip is None else to_device(hflip, dev)
    vflip = None if vflip is None else to_device(vflip, dev)
    top, left, h, w = b.unbind(1)
    if bounds is None:
        lo_y, lo_x, hi_y, hi_x = top.floor(), left.floor(), (top + h).ceil(), (left + w).ceil()
    else:
        lo_y, lo_x, hi_y, hi_x = to_device(bounds, dev).to(fdt).unbind(1)
    wy = resample_weights(top, h, lo_y, hi_y, out_h, in_h, filters, choices, vflip, compute_dtype, workspace)
    wx = resample_weights(left, w, lo_x, hi_x, out_w, in_w, filters, choices, hflip, compute_dtype, workspace)
    x = images.to(compute_dtype)
    wy, wxt = wy[:, None], wx.transpose(1, 2)[:, None]
    out_dtype = out_dtype or images.dtype
    with exact_fp32_matmul(images.device):
        if not out_dtype.is_floating_point:
            # as PIL and torch's uint8 kernels: the horizontal pass first, rounded and clamped to the integer
            # range in between (bicubic and lanczos overshoot); this matches them to about 0.01 level on
            # average
            info = torch.iinfo(out_dtype)
            tmp = torch.matmul(x, wxt).round_().clamp_(info.min, info.max)
            return torch.matmul(wy, tmp).round_().clamp_(info.min, info.max).to(out_dtype)
        # floating output: the cheaper order of the two products (shapes are known on the host)
        if out_h * in_w * (in_h + out_w) <= out_w * in_h * (in_w + out_h):
            out = torch.matmul(torch.matmul(wy, x), wxt)
        else:
            out = torch.matmul(wy, torch.matmul(x, wxt))
    return out.to(out_dtype)


def flip(
    images: torch.Tensor, hflip: torch.Tensor | None = None, vflip: torch.Tensor | None = None
) -> torch.Tensor:
    """Mirror the samples of a ``(B, C, H, W)`` batch selected by ``(B,)`` bool masks (a new tensor).

    Example:
        >>> x = torch.arange(4).view(2, 1, 1, 2)
        >>> flip(x, hflip=torch.tensor([True, False])).flatten().tolist()
        [1, 0, 2, 3]
    """
    out = images
    if hflip is not None:
        out = torch.where(to_device(hflip, images.device)[:, None, None, None], out.flip(-1), out)
    if vflip is not None:
        out = torch.where(to_device(vflip, images.device)[:, None, None, None], out.flip(-2), out)
    return out if out is not images else images.clone()
