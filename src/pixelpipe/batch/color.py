"""Batched colour jitter, greyscale and Gaussian blur on ``uint8`` batches, per-sample parameters.

The training recipe's colour stage (``create_transform(..., color_jitter=..., grayscale_prob=...,
gaussian_blur_prob=...)``, torchvision's ``ColorJitter``, ``RandomGrayscale`` and ``GaussianBlur`` with
timm's arguments) on whole ``(B, C, H, W)`` batches:

* :class:`BatchColorJitter`: every sample its own factors and its own random order of the four
  adjustments (as torchvision draws them per image). The order is applied as four steps; at each step every
  enabled adjustment runs on the whole batch with a per-sample factor that is the identity for samples whose
  step it is not (factor 1, or hue shift 0), so there is no Python loop over the batch. Arithmetic follows
  torchvision's ``uint8`` kernels (float blend, clamp, truncation back to ``uint8`` after every step);
* :func:`batch_grayscale`: ITU-R 601-2 luma, truncated, for the masked samples;
* :func:`batch_gaussian_blur`: one separable Gaussian per sample (a grouped convolution over the batch,
  reflect padding, rounded), identity kernels for unmasked samples.

They match the per-sample transforms on the same parameters to within one grey level (hue: a few levels
at most, from the HSV round trip in float).

Example:
    >>> import torch
    >>> jitter = BatchColorJitter(0.4, 0.4, 0.4)
    >>> x = torch.randint(0, 256, (4, 3, 8, 8), dtype=torch.uint8)
    >>> p = jitter.sample(4, torch.Generator().manual_seed(0), 'cpu')
    >>> sorted(p), jitter.apply(x, p).dtype
    (['applied', 'factors', 'order'], torch.uint8)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as TNF

from .._checks import check_jitter_range
from .._transfer import cached_constant, to_device
from ..base import BatchDesc, BatchTransform
from ..errors import ConfigError
from ..rng import torch_generator

__all__ = ["BatchColorJitter", "batch_gaussian_blur", "batch_grayscale"]

_IDENTITY = (1.0, 1.0, 1.0, 0.0)  # brightness, contrast, saturation, hue
_HSV_SELECT = [[0, 2, 1, 1, 3, 0], [3, 0, 0, 2, 1, 1], [1, 1, 3, 0, 0, 2]]  # (v, p, q, t) per sector


def _gray(x: torch.Tensor) -> torch.Tensor:
    """Luma of a float ``(B, 3, H, W)`` batch holding ``uint8`` values, floored, ``(B, 1, H, W)``."""
    r, g, b = x.unbind(1)
    return (r * 0.2989 + g * 0.587 + b * 0.114).floor_().unsqueeze(1)


def _to_uint8_values(x: torch.Tensor) -> torch.Tensor:
    return x.clamp_(0.0, 255.0).trunc_()


def _rgb_to_hsv(x: torch.Tensor) -> torch.Tensor:
    r, g, _ = x.unbind(1)
    maxc, _i = x.max(dim=1)
    minc, _j = x.min(dim=1)
    eqc = maxc == minc
    rng = maxc - minc
    ones = torch.ones_like(maxc)
    s = rng / torch.where(eqc, ones, maxc)
    div = torch.where(eqc, ones, rng).unsqueeze(1)
    rc, gc, bc = ((maxc.unsqueeze(1) - x) / div).unbind(1)
    neq_r = maxc != r
    eq_g = maxc == g
    hr = (bc - gc) * (~neq_r)
    hg = (2.0 + rc - bc) * (eq_g & neq_r)
    hb = (4.0 + gc - rc) * (neq_r & ~eq_g)
    h = ((hr + hg + hb) / 6.0 + 1.0).fmod(1.0)
    return torch.stack((h, s, maxc), dim=1)


def _hsv_to_rgb(x: torch.Tensor) -> torch.Tensor:
    h, s, v = x.unbind(1)
    h6 = h * 6.0
    i = h6.floor()
    f = h6 - i
    i = i.to(torch.int64).remainder(6)
    p = (v * (1.0 - s)).clamp(0.0, 1.0)
    q = (v * (1.0 - s * f)).clamp(0.0, 1.0)
    t = (v * (1.0 - s * (1.0 - f))).clamp(0.0, 1.0)
    vpqt = torch.stack((v, p, q, t), dim=1)
    select = cached_constant("hsv-select", _HSV_SELECT, torch.int64, x.device)
    idx = select[:, i].movedim(0, 1)  # (B, 3, H, W)
    return vpqt.gather(1, idx)


def _adjust(x: torch.Tensor, op: int, factor: torch.Tensor) -> torch.Tensor:
    """One adjustment on a float batch of ``uint8`` values with ``(B,)`` factors."""
    f = factor.to(x.dtype).view(-1, 1, 1, 1)
    if op == 0:  # brightness
        return _to_uint8_values(x * f)
    if x.shape[1] == 1 and op in (2, 3):  # saturation and hue leave greyscale images alone (like PIL)
        return x
    if op == 1:  # contrast: blend with the mean luma
        gray = _gray(x) if x.shape[1] == 3 else x
        mean = gray.mean(dim=(1, 2, 3), keepdim=True)
        return _to_uint8_values(x * f + mean * (1.0 - f))
    if op == 2:  # saturation: blend with the luma
        return _to_uint8_values(x * f + _gray(x) * (1.0 - f))
    hsv = _rgb_to_hsv(x / 255.0)
    hsv[:, 0] = (hsv[:, 0] + f.view(-1, 1, 1)).remainder(1.0)
    return _to_uint8_values(_hsv_to_rgb(hsv) * (255.0 + 1.0 - 1e-3))


class BatchColorJitter(BatchTransform):
    """Per-sample colour jitter (torchvision ``ColorJitter`` semantics) on ``uint8`` batches.

    Args:
        brightness, contrast, saturation, hue: as :class:`pixelpipe.transforms.ColorJitter`.
        p: probability that a sample is jittered at all (``color_jitter_prob``; 1 = always).

    Example:
        >>> BatchColorJitter(0.4, 0.4, 0.4)
        BatchColorJitter(brightness=(0.6, 1.4), contrast=(0.6, 1.4), saturation=(0.6, 1.4), hue=None, p=1.0)
    """

    def __init__(
        self, brightness: Any = 0, contrast: Any = 0, saturation: Any = 0, hue: Any = 0, p: float = 1.0
    ):
        self.ranges = (
            check_jitter_range("brightness", brightness),
            check_jitter_range("contrast", contrast),
            check_jitter_range("saturation", saturation),
            check_jitter_range("hue", hue, center=0.0, bound=(-0.5, 0.5), clip=False),
        )
        if not 0.0 <= float(p) <= 1.0:
            raise ConfigError(f"BatchColorJitter: p must be in [0, 1], got {p!r}")
        self.p = float(p)

    @property
    def enabled(self) -> tuple[int, ...]:
        """The adjustments with a range (0 brightness, 1 contrast, 2 saturation, 3 hue)."""
        return tuple(i for i, r in enumerate(self.ranges) if r is not None)

    def make_params(self, desc: BatchDesc, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """The batched contract: ``order`` ``(B, 4)`` (a permutation per sample), ``factors`` ``(B, 4)``,
        ``applied`` ``(B,)``, drawn on the generator's device and left there (no host read)."""
        n = desc.batch_size
        gen = generator
        gdev = gen.device
        u = torch.rand((n, 9), generator=gen, device=gdev)
        order = u[:, :4].argsort(dim=1)
        lo = torch.tensor([r[0] if r else v for r, v in zip(self.ranges, _IDENTITY)])
        hi = torch.tensor([r[1] if r else v for r, v in zip(self.ranges, _IDENTITY)])
        lo, hi = to_device(lo, gdev), to_device(hi, gdev)
        factors = lo + (hi - lo) * u[:, 4:8]
        applied = u[:, 8] < self.p
        return {"order": order, "factors": factors, "applied": applied}

    def sample(
        self, batch_size: int, generator: torch.Generator | None = None, device: Any = None
    ) -> dict[str, torch.Tensor]:
        """:meth:`make_params` for ``batch_size`` samples.

        The numbers are drawn on the generator's device (``None``: a CPU generator seeded from
        pixelpipe's generator, :func:`pixelpipe.rng.torch_generator`, never torch's global CUDA one), so a
        seed gives the same parameters whatever ``device`` is; they are then moved to ``device``
        (``None``: left on the generator's device) without a host sync.
        """
        gen = generator if generator is not None else torch_generator()
        out = self.make_params(BatchDesc(int(batch_size), 3, 1, 1), gen)
        if device is not None:
            out = {k: to_device(v, device) for k, v in out.items()}
        return out

    def apply(self, images: torch.Tensor, params: dict[str, torch.Tensor]) -> torch.Tensor:
        """Jitter a ``uint8`` ``(B, C, H, W)`` batch with sampled parameters (a new tensor)."""
        enabled = self.enabled
        if not enabled:
            return images.clone()
        dev = images.device
        identity = cached_constant("jitter-identity", list(_IDENTITY), torch.float32, dev)
        p = {k: to_device(v, dev) for k, v in params.items()}
        factors = torch.where(p["applied"][:, None], p["factors"], identity)
        x = images.float()
        for step in range(4):
            op_now = p["order"][:, step]
            for op in enabled:
                f = torch.where(op_now == op, factors[:, op], identity[op])
                y = _adjust(x, op, f)
                x = torch.where((op_now == op).view(-1, 1, 1, 1), y, x) if op == 3 else y
        return x.to(torch.uint8)

    def __repr__(self) -> str:
        b, c, s, h = self.ranges
        return f"{type(self).__name__}(brightness={b}, contrast={c}, saturation={s}, hue={h}, p={self.p})"


def batch_grayscale(images: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Greyscale (kept at ``C`` channels) for the samples where ``mask`` ``(B,)`` is true; ``uint8`` in/out.

    Example:
        >>> x = torch.tensor([[[[255]], [[0]], [[0]]]], dtype=torch.uint8)
        >>> batch_grayscale(x, torch.tensor([True])).flatten().tolist()
        [76, 76, 76]
    """
    if images.shape[1] == 1:
        return images.clone()
    gray = _gray(images.float()).to(torch.uint8).expand_as(images)
    return torch.where(to_device(mask, images.device).view(-1, 1, 1, 1), gray, images)


def batch_gaussian_blur(
    images: torch.Tensor, sigma: torch.Tensor, mask: torch.Tensor, kernel_size: int | Sequence[int] = 23
) -> torch.Tensor:
    """Gaussian blur with a per-sample ``sigma`` ``(B,)`` for the samples where ``mask`` is true.

    torchvision's ``gaussian_blur`` per sample (separable kernel on ``linspace(-k//2, k//2)``, reflect
    padding, rounded back to ``uint8``), as one grouped convolution per axis over the whole batch.

    Example:
        >>> x = torch.zeros(2, 1, 5, 5, dtype=torch.uint8); x[:, :, 2, 2] = 255
        >>> out = batch_gaussian_blur(x, torch.tensor([1.0, 1.0]), torch.tensor([True, False]), 3)
        >>> int(out[0, 0, 2, 2]) < 255, int(out[1, 0, 2, 2])
        (True, 255)
    """
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
    b, c, h, w = images.shape
    dev = images.device
    sigma = to_device(sigma, dev).to(torch.float32).clamp(min=1e-6)
    mask = to_device(mask, dev)

    def kernels(k: int) -> torch.Tensor:
        x = torch.linspace(-(k // 2), k // 2, steps=k, device=dev)
        pdf = torch.exp(-0.5 * (x[None, :] / sigma[:, None]) ** 2)
        gauss = pdf / pdf.sum(dim=1, keepdim=True)
        delta = (torch.arange(k, device=dev) == k // 2).float().expand(b, k)
        return torch.where(mask.view(-1, 1), gauss, delta).repeat_interleave(c, dim=0)  # (B*C, k)

    x = images.float().reshape(1, b * c, h, w)
    x = TNF.pad(x, [kw // 2, kw // 2, kh // 2, kh // 2], mode="reflect")
    x = TNF.conv2d(x, kernels(kh).view(b * c, 1, kh, 1), groups=b * c)
    x = TNF.conv2d(x, kernels(kw).view(b * c, 1, 1, kw), groups=b * c)
    return x.view(b, c, h, w).round_().clamp_(0, 255).to(torch.uint8)
