"""Random erasing's batched kernels: the boxes of one call and their paste over a ``(N, C, H, W)`` batch.

:class:`~pixelpipe.transforms.RandomErasing` draws the boxes (:class:`ErasingParams`): with a NumPy
generator on the host (its per-image contract), or with a ``torch.Generator`` on the generator's device
through :func:`sample_boxes` (the batched contract, :class:`~pixelpipe.base.BatchTransform`: nothing read
back to the host). It pastes them with :func:`paste_slices` (CPU: one strided slice per erased box) or
:func:`paste_masks` (any device: masked writes over the whole batch, no loop over images). ``'rand'`` /
``'pixel'`` noise comes from a CPU generator seeded by the params (:func:`noise_generator`), so one seed
gives the same pixels on every device and with either paste.

Example:
    >>> import numpy as np, torch
    >>> params = ErasingParams(np.array([[[1, 1, 2, 2]]]), np.array([[True]]), seed=0)
    >>> x = torch.ones(1, 3, 4, 4)
    >>> y = x.clone()
    >>> paste_masks(x, params, "const")
    >>> paste_slices(y, params, "const")
    >>> int((x == 0).sum()), torch.equal(x, y)
    (12, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .._transfer import to_device
from ..base import BatchDesc
from ..memory import advise_huge_pages

__all__ = [
    "ATTEMPTS",
    "ErasingParams",
    "copy_for_erasing",
    "noise_generator",
    "paste_masks",
    "paste_slices",
    "sample_boxes",
]

ATTEMPTS = 10
"""Tries per box to draw one strictly smaller than the image (as the reference)."""


@dataclass(frozen=True)
class ErasingParams:
    """Boxes for one call: NumPy arrays (drawn with a NumPy generator) or tensors (drawn with a
    ``torch.Generator``, on its device).

    Attributes:
        boxes: ``int64`` ``(N, K, 4)`` of ``(top, left, height, width)`` (``N`` images, ``K`` = max count).
        valid: ``bool`` ``(N, K)``: which boxes are erased.
        seed: seed of the torch generator that draws the noise of the ``'rand'`` and ``'pixel'`` modes (an
            int, or an ``int64`` scalar tensor).
    """

    boxes: np.ndarray | torch.Tensor
    valid: np.ndarray | torch.Tensor
    seed: int | torch.Tensor

    def on_host(self) -> ErasingParams:
        """The same parameters as NumPy arrays and an int seed (what the slice paste and the noise need)."""
        if not isinstance(self.boxes, torch.Tensor):
            return self
        valid = torch.as_tensor(self.valid)
        seed = torch.as_tensor(self.seed).to(self.boxes.device, non_blocking=True)
        # one read of the whole params: none for a CPU generator's parameters (the loaders'); a CUDA
        # generator's are read back here, once per batch, by the slice paste and the noise modes only
        packed = torch.cat([self.boxes.reshape(-1), valid.reshape(-1).long(), seed.reshape(1)])
        host = packed.cpu().numpy()  # host-sync: only for parameters drawn on a device, once per batch
        nb = self.boxes.numel()
        boxes = host[:nb].reshape(tuple(self.boxes.shape))
        flags = host[nb:-1].astype(bool).reshape(tuple(valid.shape))
        return ErasingParams(boxes, flags, int(host[-1]))

    def any_erased(self) -> bool:
        """Whether any box is erased; ``True`` without looking, for parameters on a device (no host read)."""
        if isinstance(self.valid, torch.Tensor) and self.valid.device.type != "cpu":
            return True
        return bool(self.valid.any())  # host-sync: none, NumPy or a CPU tensor


def sample_boxes(
    desc: BatchDesc,
    generator: torch.Generator,
    *,
    probability: float,
    area: tuple[float, float],
    log_aspect: tuple[float, float],
    count: tuple[int, int],
    skip: int = 0,
) -> ErasingParams:
    """Random erasing's boxes for a whole batch, drawn from ``generator`` on its device (tensors there).

    The distribution of :meth:`pixelpipe.transforms.RandomErasing.make_params`: each image is erased with
    ``probability``, gets ``U{count}`` boxes of area ``U(area) * H * W / count`` and log-aspect
    ``U(log_aspect)`` (up to :data:`ATTEMPTS` tries for one strictly inside the image), placed uniformly.
    No Python loop over the batch and no read back to the host.

    Args:
        desc: the batch (its size, height and width are used).
        generator: the source of randomness.
        probability: chance that an image is erased.
        area: ``(min, max)`` erased fraction of the image, split between the boxes.
        log_aspect: ``(min, max)`` log aspect ratio of a box.
        count: ``(min, max)`` boxes per image.
        skip: the first ``skip`` images are never erased (``num_splits``' clean split).

    Example:
        >>> from pixelpipe.base import BatchDesc
        >>> p = sample_boxes(BatchDesc(4, 3, 32, 32), torch.Generator().manual_seed(0), probability=1.0,
        ...                  area=(0.02, 1 / 3), log_aspect=(-1.2, 1.2), count=(1, 2))
        >>> tuple(p.boxes.shape), p.valid.dtype, bool(p.valid[:, 0].all())
        ((4, 2, 4), torch.bool, True)
    """
    gen = generator
    dev = gen.device
    n, k, height, width = desc.batch_size, count[1], desc.height, desc.width
    # every uniform of the call in one draw (few ops: sampling is dominated by per-op overhead)
    u = torch.rand(n + 2 * n * k * (ATTEMPTS + 1), generator=gen, device=dev, dtype=torch.float64)
    active = u[:n] <= probability
    if skip:
        active[:skip] = False
    u_area, u_aspect = u[n : n + 2 * n * k * ATTEMPTS].view(2, n, k, ATTEMPTS)
    u_place = u[n + 2 * n * k * ATTEMPTS :].view(2, n, k)
    per_box: torch.Tensor | float
    if count[0] == count[1]:
        per_box = float(count[0])
        in_count = torch.ones(k, dtype=torch.bool, device=dev)
    else:
        drawn = torch.randint(count[0], count[1] + 1, (n,), generator=gen, device=dev)
        in_count = torch.arange(k, device=dev) < drawn[:, None]
        per_box = drawn[:, None, None].to(torch.float64)
    box_area = (area[0] + (area[1] - area[0]) * u_area) * float(height * width) / per_box
    aspect = torch.exp(log_aspect[0] + (log_aspect[1] - log_aspect[0]) * u_aspect)
    hw = torch.stack([box_area * aspect, box_area / aspect]).sqrt_().round_()  # NumPy's rint: half to even
    ok = (hw[0] < height) & (hw[1] < width)
    pick = ok.to(torch.uint8).argmax(dim=-1, keepdim=True)  # the first attempt that fits
    valid = ok.any(dim=-1) & in_count & active[:, None]
    sides = hw.gather(-1, pick.expand(2, n, k, 1)).squeeze(-1).mul_(valid).to(torch.int64)  # (2, N, K)
    room = torch.stack([height + 1 - sides[0], width + 1 - sides[1]])
    corner = torch.minimum((u_place * room).to(torch.int64), room - 1)  # uniform in [0, room)
    seed = torch.randint(0, 2**62, (), generator=gen, device=dev)
    return ErasingParams(torch.stack([corner[0], corner[1], sides[0], sides[1]], dim=-1), valid, seed)


def copy_for_erasing(img: torch.Tensor) -> torch.Tensor:
    """``img.clone()``, asking for huge pages for a large copy before writing it faults its pages in."""
    out = torch.empty_like(img)
    advise_huge_pages(out)
    return out.copy_(img)


def noise_generator(seed: int) -> torch.Generator:
    """The generator of the ``'rand'`` / ``'pixel'`` noise: on the CPU on every device, so a seed gives the
    same noise on the CPU and on a GPU (the noise is drawn on the host, then moved)."""
    gen = torch.Generator()
    gen.manual_seed(seed)
    return gen


def _as_tensor(a: np.ndarray | torch.Tensor) -> torch.Tensor:
    return a if isinstance(a, torch.Tensor) else torch.from_numpy(a)


def _box_colors(x: torch.Tensor, params: ErasingParams, gen: torch.Generator) -> torch.Tensor:
    """``(N, K, C, 1, 1)`` ``'rand'`` colours, drawn on the host, on ``x``'s device and dtype."""
    n, k = params.valid.shape
    colors = torch.randn((n, k, x.shape[1], 1, 1), generator=gen)
    return to_device(colors.to(x.dtype), x.device)


def _box_noise(params: ErasingParams, channels: int, gen: torch.Generator) -> tuple[torch.Tensor, np.ndarray]:
    """The ``'pixel'`` noise of every erased box, drawn on the host in box order (image by image, boxes in
    drawing order), each box ``randn((C, h, w))`` in turn, back to back in one flat float32 tensor; and the
    ``(N, K)`` offset of each box's noise in it (0 for boxes not erased)."""
    sizes = np.where(params.valid, channels * params.boxes[..., 2] * params.boxes[..., 3], 0)
    ends = np.cumsum(sizes.reshape(-1))
    offsets = (ends - sizes.reshape(-1)).reshape(sizes.shape)
    flat = torch.empty(int(ends[-1]) if ends.size else 0)
    for f in np.flatnonzero(params.valid):  # erased boxes, a few per batch (the draws must be in turn)
        i, j = divmod(int(f), params.valid.shape[1])
        _, _, h, w = (int(v) for v in params.boxes[i, j])
        start = int(offsets[i, j])
        torch.randn(
            (channels, h, w), generator=gen, out=flat[start : start + channels * h * w].view(channels, h, w)
        )
    return flat, offsets


def paste_slices(x: torch.Tensor, params: ErasingParams, mode: str) -> None:
    """Write each erased box as a slice (touches only erased pixels); later boxes paint over earlier ones.

    A Python loop over the erased boxes, each a strided view of ``x`` written in place: on a CPU this is
    the fastest way, as only erased pixels are touched and the per-box cost is a couple of microseconds
    (box coordinates are converted to Python ints once, views are made with ``as_strided``).
    """
    params = params.on_host()
    k = params.valid.shape[1]
    flat = np.flatnonzero(params.valid)  # row-major: image by image, boxes in drawing order
    images = (flat // k).tolist()  # host-sync: none, NumPy
    boxes = params.boxes.reshape(-1, 4)[flat].tolist()  # host-sync: none, NumPy
    c = x.shape[1]
    # what each erased box is filled with: "const" zeros, "rand" a colour per box, "pixel" its noise
    colors = noise = torch.empty(0)
    offsets = np.zeros(0, dtype=np.int64)
    if mode != "const":
        gen = noise_generator(int(params.seed))
        if mode == "rand":
            colors = _box_colors(x, params, gen).flatten(0, 1)
        else:
            noise, offsets = _box_noise(params, c, gen)
            noise, offsets = to_device(noise.to(x.dtype), x.device), offsets.reshape(-1)
    sn, sc, sh, sw = x.stride()
    base = x.storage_offset()
    for f, i, (top, left, h, w) in zip(flat.tolist(), images, boxes):  # host-sync: none, NumPy
        region = x.as_strided((c, h, w), (sc, sh, sw), base + i * sn + top * sh + left * sw)
        if mode == "const":
            region.zero_()
        elif mode == "rand":
            region.copy_(colors[f].expand(c, h, w))
        else:
            start = int(offsets[f])
            region.copy_(noise[start : start + c * h * w].view(c, h, w))


def paste_masks(x: torch.Tensor, params: ErasingParams, mode: str) -> None:
    """Write all boxes with masked ops over the batch: no Python loop over images.

    In ``'pixel'`` mode only the images that get a box are worked on (the boxes are known on the host, so
    choosing them costs no device sync), and the noise, drawn on the host box by box as
    :func:`paste_slices` draws it, is moved once and gathered into the boxes: the same pixels as there.
    """
    if mode == "pixel":
        params = params.on_host()
        rows = np.flatnonzero(np.asarray(params.valid).any(axis=1))
        if rows.size < x.shape[0]:
            index = to_device(torch.from_numpy(rows), x.device)
            sub = x.index_select(0, index)
            paste_masks(sub, ErasingParams(params.boxes[rows], params.valid[rows], params.seed), mode)
            x.index_copy_(0, index, sub)
            return
    n, c, height, width = x.shape
    dev = x.device
    boxes = to_device(_as_tensor(params.boxes), dev)
    valid = to_device(_as_tensor(params.valid), dev)
    top, left, h, w = boxes.unbind(-1)
    ys = torch.arange(height, device=dev)
    xs = torch.arange(width, device=dev)
    in_y = (ys >= top[..., None]) & (ys < (top + h)[..., None])  # (N, K, H)
    in_x = (xs >= left[..., None]) & (xs < (left + w)[..., None])  # (N, K, W)
    masks = in_y[..., :, None] & in_x[..., None, :] & valid[..., None, None]  # (N, K, H, W)
    if mode == "const":
        x.masked_fill_(masks.any(1)[:, None], 0)
        return
    if mode == "rand":
        params = params.on_host()  # the noise seed
    gen = noise_generator(int(params.seed))
    if mode == "pixel":
        noise, offsets = _box_noise(params, c, gen)
        noise = to_device(noise.to(x.dtype), dev)
        off = to_device(torch.from_numpy(offsets), dev)
        chan = torch.arange(c, device=dev).view(1, c, 1, 1)
        for j in range(masks.shape[1]):  # boxes per image, not images: later boxes paint over earlier ones
            hj, wj = h[:, j].view(n, 1, 1, 1), w[:, j].view(n, 1, 1, 1)
            rel = (ys.view(1, 1, height, 1) - top[:, j].view(n, 1, 1, 1)) * wj + (
                xs.view(1, 1, 1, width) - left[:, j].view(n, 1, 1, 1)
            )
            idx = off[:, j].view(n, 1, 1, 1) + chan * (hj * wj) + rel  # (N, C, H, W)
            inside = masks[:, j, None]
            vals = noise[torch.where(inside, idx, 0)]
            x.copy_(torch.where(inside, vals, x))
        return
    colors = _box_colors(x, params, gen)
    for j in range(masks.shape[1]):  # later boxes paint over earlier ones, as when drawn in turn
        x.copy_(torch.where(masks[:, j, None], colors[:, j], x))
