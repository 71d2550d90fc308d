""":class:`DeviceAugment`: the whole training (or evaluation) recipe on a batch, on the batch's device.

What ``create_transform(..., use_prefetcher=True)`` does to one image in a CPU worker plus what the
prefetcher and Mixup do to the batch, done to a whole batch of decoded ``uint8`` images of any sizes
(:class:`~pixelpipe.device.collate.PaddedBatch`) wherever the batch is, in the reference's order:

1. random resized crop (or, for evaluation and ``no_aug``, the resize + centre crop), antialiased, with
   the flips folded into the resampling weights (:mod:`pixelpipe.batch.crop`), rounded to ``uint8``;
2. RandAugment / AutoAugment / AugMix (:func:`pixelpipe.batch.augment.batch_augment_from_config`), colour
   jitter, greyscale and Gaussian blur (:mod:`pixelpipe.batch.color`), per-sample, on ``uint8``;
3. conversion to ``img_dtype`` and normalisation;
4. random erasing (:class:`pixelpipe.transforms.RandomErasing`, masked paste) and Mixup / CutMix
   (:class:`pixelpipe.batch.Mixup`).

Sampling apart from applying: :class:`DeviceAugment` is a :class:`~pixelpipe.base.BatchTransform`.
:meth:`DeviceAugment.make_params` (or :meth:`~DeviceAugment.sample`, the same from the images' sizes)
draws every random number of a batch from one ``torch.Generator``, on the generator's device and without
reading anything back, into a :class:`DeviceAugmentParams` (each step's own parameters: crop, flips,
:meth:`BatchAugment.make_params <pixelpipe.batch.augment.BatchAugment.make_params>`,
:meth:`BatchColorJitter.make_params <pixelpipe.batch.color.BatchColorJitter.make_params>`,
:meth:`RandomErasing.make_params <pixelpipe.transforms.RandomErasing.make_params>` and
:meth:`Mixup.make_params <pixelpipe.batch.Mixup.make_params>`), and :meth:`DeviceAugment.apply` is pure.
A CPU generator (the loaders') is best: a few numbers per sample are drawn on the host, they reach the
device by non-blocking copies from pinned memory (:func:`pixelpipe._transfer.to_device`), the
augmentation ops are grouped by the op each sample drew with the choices already on the host, and a seed
gives the same augmentation on the CPU and on a GPU (the erasing noise is drawn on the host too). With a
CUDA generator sampling stays free of host syncs too, but :meth:`~DeviceAugment.apply` then reads back the
op choices (and, for the noise modes, the erasing boxes), once per batch. The crop's float32
products ignore a process-wide TF32 setting (:func:`pixelpipe.batch.crop.exact_fp32_matmul`) and its
buffers are reused from batch to batch (:class:`pixelpipe.batch.crop.CropWorkspace`). Nothing in
:meth:`~DeviceAugment.apply` loops over the batch in
Python (the op kinds, layers, jitter steps and erasing boxes are looped over, a number independent of the
batch size). On the CPU, :class:`~pixelpipe.batch.Mixup` mixes large samples pair by pair, its fastest
path there; on accelerators it is one batched kernel.

Differences from the per-sample CPU path, on the same parameters: the crop is the antialiased resize of
the window computed in float32 (torch's ``uint8`` kernels round between the two passes): within 1 grey
level, about 0.2 on average; colour jitter, greyscale and blur: within 1 level (hue: 2); augmentation ops:
see :mod:`pixelpipe.batch.augment`. The distributions are the same; the random streams are not (a seed
gives other crops than the CPU path, as it gives other crops with another batch size).

Example:
    >>> import torch
    >>> aug = DeviceAugment(32, hflip=0.5, color_jitter=0.4, re_prob=0.25, mean=(0.5,) * 3, std=(0.5,) * 3)
    >>> images = torch.randint(0, 256, (4, 3, 50, 60), dtype=torch.uint8)
    >>> sizes = torch.tensor([[50, 60], [40, 60], [50, 30], [20, 20]])
    >>> x = aug(images, sizes, generator=torch.Generator().manual_seed(0))
    >>> x.shape, x.dtype
    (torch.Size([4, 3, 32, 32]), torch.float32)
    >>> p = aug.sample(sizes, torch.Generator().manual_seed(0))
    >>> torch.equal(aug.apply(images, p)[0], x)  # replay
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import torch

from .._transfer import to_device
from ..base import BatchDesc, BatchTransform
from ..batch.color import BatchColorJitter, batch_gaussian_blur, batch_grayscale
from ..batch.crop import CropWorkspace, center_crop_boxes, filter_ids, resized_crop, sample_crop_boxes
from ..constants import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from ..errors import ConfigError
from ..recipe import AugmentRecipe
from ..rng import torch_generator

__all__ = ["DeviceAugment", "DeviceAugmentParams"]

_BLUR_KERNEL = 23  # the reference's GaussianBlur(kernel_size=23)
_BLUR_SIGMA = (0.1, 2.0)


@dataclass(frozen=True)
class DeviceAugmentParams:
    """Every random draw of one :class:`DeviceAugment` call, on the generator's device (host tensors for a
    CPU generator) unless moved with :meth:`to`.

    Attributes:
        boxes: ``float64`` ``(B, 4)`` ``(top, left, height, width)`` source windows.
        bounds: ``(B, 4)`` ``(top, left, bottom, right)`` pixels the resampling may read, or ``None``
            (the window itself).
        filters: ``int64`` ``(B,)`` interpolation ids (:data:`pixelpipe.batch.crop.FILTERS`).
        hflip, vflip: ``bool`` ``(B,)`` flips.
        augment: the augmentation's parameters (:mod:`pixelpipe.batch.augment`), or ``None``.
        jitter: colour jitter parameters (:meth:`BatchColorJitter.make_params`), or ``None``.
        grayscale: ``bool`` ``(B,)``, or ``None``.
        blur_sigma, blur: ``(B,)`` sigmas and ``bool`` mask of the Gaussian blur, or ``None``.
        erasing: :class:`~pixelpipe.transforms.erasing.ErasingParams`, or ``None``.
        mixup: :class:`~pixelpipe.batch.MixupParams`, or ``None``.
    """

    boxes: torch.Tensor
    bounds: torch.Tensor | None
    filters: torch.Tensor
    hflip: torch.Tensor
    vflip: torch.Tensor
    augment: Any = None
    jitter: dict[str, torch.Tensor] | None = None
    grayscale: torch.Tensor | None = None
    blur_sigma: torch.Tensor | None = None
    blur: torch.Tensor | None = None
    erasing: Any = None
    mixup: Any = None

    @property
    def batch_size(self) -> int:
        return int(self.boxes.shape[0])

    def to(self, device: torch.device | str, non_blocking: bool = False) -> DeviceAugmentParams:
        """The same parameters with their tensors on ``device`` (the augmentation's and the erasing boxes stay
        where they were drawn: their ``apply`` moves what it needs itself)."""

        def move(v: Any) -> Any:
            if isinstance(v, torch.Tensor):
                return to_device(v, device)
            if isinstance(v, dict):
                return {k: move(t) for k, t in v.items()}
            return v

        changes = {
            f.name: move(getattr(self, f.name)) for f in fields(self) if f.name not in ("augment", "erasing")
        }
        if self.mixup is not None:
            changes["mixup"] = self.mixup.to(device, non_blocking=True)
        return replace(self, **changes)


def _range(name: str, value: Sequence[float] | None, default: tuple[float, float]) -> tuple[float, float]:
    if value is None:
        return default
    if not isinstance(value, Sequence) or len(value) != 2:
        raise ConfigError(f"DeviceAugment: {name} must be a (min, max) pair, got {value!r}")
    return float(value[0]), float(value[1])


def _augment_hparams(size: tuple[int, int], interpolation: str, mean: Sequence[float], augmix: bool) -> dict:
    """The op hyper-parameters ``create_transform`` gives the augmentation (translate, fill, filter)."""
    from ..transforms.interpolation import str_to_pil_interp

    hparams: dict[str, Any] = {
        "translate_const": int(min(size) * 0.45),
        "img_mean": tuple(min(255, round(255 * x)) for x in mean),
    }
    if interpolation and interpolation != "random":
        hparams["interpolation"] = str_to_pil_interp(interpolation)
    if augmix:
        hparams["translate_pct"] = 0.3
    return hparams


class DeviceAugment(BatchTransform):
    """Crop, flip, augment, jitter, normalise, erase and mix a batch on its device (see the module docs).

    The arguments are ``create_transform``'s / ``create_loader``'s, with their meanings and defaults
    (except ``is_training``, ``True`` here); they become an :class:`~pixelpipe.recipe.AugmentRecipe`
    (:attr:`recipe`). :meth:`from_recipe` builds one from a recipe, the same one ``create_transform``
    builds its per-image pipeline from.

    Args:
        size: output ``(H, W)`` (an int, ``(H, W)`` or ``(C, H, W)``).
        is_training: the training recipe; ``False``: the evaluation resize + centre crop.
        no_aug: training without augmentation (resize + centre crop, as ``transforms_noaug_train``).
        scale, ratio: random resized crop area and aspect ranges.
        interpolation: resampling filter name, or ``'random'`` (bilinear or bicubic per sample, training).
        hflip, vflip: flip probabilities.
        auto_augment: a RandAugment / AutoAugment / AugMix config string, or ``None``.
        color_jitter: a number or 3-4 values; off when ``auto_augment`` is set (unless
            ``force_color_jitter`` or a ``3a`` policy), as in the reference.
        color_jitter_prob: probability of jittering a sample at all (``None``: always).
        force_color_jitter: keep colour jitter with ``auto_augment``.
        grayscale_prob, gaussian_blur_prob: probabilities of greyscale and of a Gaussian blur (kernel 23,
            sigma in ``[0.1, 2]``).
        mean, std: normalisation statistics in ``[0, 1]`` units.
        img_dtype: floating dtype of the output.
        re_prob, re_mode, re_count, re_num_splits: random erasing (after normalisation), as the prefetcher.
        mixup: a :class:`~pixelpipe.batch.Mixup` to apply last (``FastCollateMixup`` is converted), or
            ``None``.
        crop_pct, crop_mode, crop_border_pixels: the evaluation crop (``'center'`` or ``'squash'``).
        channels_last: return images in ``torch.channels_last`` memory format.
        compute_dtype: dtype of the resampling products (``float32``; ``float16`` / ``bfloat16`` trade
            about a grey level of accuracy for speed on GPUs).

    Raises:
        ConfigError: an invalid argument, or one the device path does not implement (named).
    """

    def __init__(
        self,
        size: int | Sequence[int],
        *,
        is_training: bool = True,
        no_aug: bool = False,
        scale: Sequence[float] | None = None,
        ratio: Sequence[float] | None = None,
        interpolation: str = "bilinear",
        hflip: float = 0.5,
        vflip: float = 0.0,
        auto_augment: str | None = None,
        color_jitter: float | Sequence[float] | None = 0.4,
        color_jitter_prob: float | None = None,
        force_color_jitter: bool = False,
        grayscale_prob: float | None = 0.0,
        gaussian_blur_prob: float | None = 0.0,
        mean: Sequence[float] = IMAGENET_DEFAULT_MEAN,
        std: Sequence[float] = IMAGENET_DEFAULT_STD,
        img_dtype: torch.dtype = torch.float32,
        re_prob: float = 0.0,
        re_mode: str = "const",
        re_count: int = 1,
        re_num_splits: int = 0,
        mixup: Any = None,
        crop_pct: float | None = None,
        crop_mode: str | None = None,
        crop_border_pixels: int | None = None,
        channels_last: bool = False,
        compute_dtype: torch.dtype = torch.float32,
    ) -> None:
        args = dict(locals())
        del args["self"]
        mixup, compute_dtype = args.pop("mixup"), args.pop("compute_dtype")
        args["input_size"] = args.pop("size")
        self._setup(AugmentRecipe(**args), mixup, compute_dtype)

    @classmethod
    def from_recipe(
        cls, recipe: AugmentRecipe, *, mixup: Any = None, compute_dtype: torch.dtype = torch.float32
    ) -> DeviceAugment:
        """The device augmentation of ``recipe`` (what ``create_transform`` builds per image from the same
        recipe, plus the prefetcher's normalisation and erasing).

        Args:
            recipe: the settings; ``use_prefetcher``, ``normalize``, ``backend`` and ``separate`` do not
                apply to a batch.
            mixup, compute_dtype: as in the constructor.

        Example:
            >>> from pixelpipe.recipe import AugmentRecipe
            >>> recipe = AugmentRecipe(input_size=32, is_training=True, hflip=0.25)
            >>> aug = DeviceAugment.from_recipe(recipe)
            >>> aug.recipe is recipe, aug.size, aug.hflip
            (True, (32, 32), 0.25)
        """
        if not isinstance(recipe, AugmentRecipe):
            raise ConfigError(
                f"DeviceAugment.from_recipe: expected an AugmentRecipe, got {type(recipe).__name__}"
            )
        self = cls.__new__(cls)
        self._setup(recipe, mixup, compute_dtype)
        return self

    def _setup(self, recipe: AugmentRecipe, mixup: Any, compute_dtype: torch.dtype) -> None:
        r = self.recipe = recipe
        size = r.img_size  # the recipe checked it: an int, or one or two positive ints
        hw = [size] if isinstance(size, int) else list(size)
        self.size = (int(hw[0]), int(hw[-1]))
        size_is_int = len(hw) == 1
        self.is_training = bool(r.is_training)
        self.no_aug = bool(r.no_aug)
        self.training_crop = r.training_aug
        interpolation = getattr(r.interpolation, "value", r.interpolation) or "bilinear"
        if not self.training_crop and interpolation == "random":  # evaluation refuses it (the recipe)
            interpolation = "bilinear"  # training without augmentation, as transforms_noaug_train
        self.interpolation = interpolation
        self.filter_choices = filter_ids(interpolation)
        self.scale = _range("scale", r.scale, (0.08, 1.0))
        self.ratio = _range("ratio", r.ratio, (3.0 / 4.0, 4.0 / 3.0))
        if self.training_crop and not (self.ratio[0] > 0 and self.scale[1] > 0):
            raise ConfigError(
                f"DeviceAugment: scale and ratio must be positive, got {r.scale!r}, {r.ratio!r}"
            )
        if r.crop_mode not in (None, "center", "squash"):
            raise ConfigError(
                f"DeviceAugment: crop_mode={r.crop_mode!r} is not supported on the device (its padding is "
                "not implemented); use 'center' or 'squash', or augment_on='cpu'."
            )
        if r.crop_pct is not None and not 0 < float(r.crop_pct) <= 1.5:
            raise ConfigError(f"DeviceAugment: crop_pct must be in (0, 1.5], got {r.crop_pct!r}")
        self.crop_pct = r.crop_pct
        self.crop_mode = r.crop_mode
        self.crop_border = int(r.crop_border_pixels or 0)
        if self.no_aug and self.is_training:  # transforms_noaug_train: Resize(size) + CenterCrop(size)
            self.crop_pct, self.crop_mode, self.crop_border = 1.0, (None if size_is_int else "squash"), 0
        aug_on = self.training_crop  # the recipe checked the training settings' values
        self.hflip = float(r.hflip) if aug_on else 0.0
        self.vflip = float(r.vflip) if aug_on else 0.0

        self.auto_augment = r.auto_augment if aug_on else None
        self.augment = None
        if self.auto_augment:
            from ..batch.augment import batch_augment_from_config

            hparams = _augment_hparams(
                self.size, interpolation, r.mean, self.auto_augment.startswith("augmix")
            )
            self.augment = batch_augment_from_config(self.auto_augment, hparams)
        self.jitter = None
        disable_jitter = bool(self.auto_augment) and not (
            r.force_color_jitter or "3a" in str(self.auto_augment)
        )
        if aug_on and r.color_jitter is not None and not disable_jitter:
            cj = r.color_jitter if isinstance(r.color_jitter, tuple) else (float(r.color_jitter),) * 3
            p = 1.0 if r.color_jitter_prob is None else float(r.color_jitter_prob)
            hue = cj[3] if len(cj) > 3 else 0
            jitter = BatchColorJitter(cj[0], cj[1], cj[2], hue, p=p)
            self.jitter = jitter if jitter.enabled else None
        self.grayscale_prob = float(r.grayscale_prob or 0.0) if aug_on else 0.0
        self.blur_prob = float(r.gaussian_blur_prob or 0.0) if aug_on else 0.0

        self.mean = r.mean
        self.std = r.std
        self.img_dtype = r.img_dtype
        self.erasing = None
        if aug_on and r.re_prob > 0:
            from ..transforms.erasing import RandomErasing

            self.erasing = RandomErasing(
                r.re_prob,
                mode=r.re_mode,
                max_count=r.re_count,
                num_splits=r.re_num_splits,
                device="cpu",
                inplace=True,  # the normalised batch is ours
                paste="masks",  # batched on every device: no loop over the erased boxes
            )
        self.mixup = _device_mixup(mixup)
        self.channels_last = bool(r.channels_last)
        self.compute_dtype = compute_dtype
        self._stats: dict[tuple[torch.device, torch.dtype, int], tuple[torch.Tensor, torch.Tensor]] = {}
        self._workspace = CropWorkspace()  # the crop's per-batch buffers, reused batch after batch

    # --- sampling

    def make_params(self, desc: BatchDesc, generator: torch.Generator) -> DeviceAugmentParams:
        """Draw every random number of one batch, on ``generator``'s device, with no host read.

        Args:
            desc: the batch: its size, channels (for the erasing noise and Mixup) and each image's size
                (:attr:`~pixelpipe.base.BatchDesc.sizes` ``(B, 2)`` ``(height, width)``, padding excluded;
                ``None``: the whole tensor).
            generator: the one source of randomness. A CPU generator (the loaders') draws on the host: the
                parameters are host tensors, moved to the batch's device by :meth:`apply` without a host
                sync. A CUDA generator draws on the device and the parameters stay there (nothing is read
                back while sampling; :meth:`apply` then reads back the op choices it groups samples by).
        """
        gen = generator
        gdev = gen.device
        sizes = to_device(desc.image_sizes(), gdev)
        b = desc.batch_size
        if self.training_crop:
            boxes = sample_crop_boxes(sizes, self.scale, self.ratio, generator=gen).double()
            bounds = None
        else:
            boxes, bounds = center_crop_boxes(
                sizes, self.size, self.crop_pct, self.crop_mode, self.crop_border
            )
        choices = to_device(torch.tensor(self.filter_choices), gdev)
        if len(self.filter_choices) > 1:
            filters = choices[torch.randint(0, len(self.filter_choices), (b,), generator=gen, device=gdev)]
        else:
            filters = choices.expand(b).clone()
        u = torch.rand((b, 6), generator=gen, device=gdev)
        hflip = u[:, 0] < self.hflip
        vflip = u[:, 1] < self.vflip
        out = BatchDesc(b, desc.channels, *self.size, device=desc.device)
        augment = self.augment.make_params(out, gen) if self.augment is not None else None
        jitter = self.jitter.make_params(out, gen) if self.jitter is not None else None
        grayscale = u[:, 2] < self.grayscale_prob if self.grayscale_prob > 0 else None
        blur_sigma = blur = None
        if self.blur_prob > 0:
            blur = u[:, 3] < self.blur_prob
            blur_sigma = _BLUR_SIGMA[0] + (_BLUR_SIGMA[1] - _BLUR_SIGMA[0]) * u[:, 4]
        erasing = self.erasing.make_params(out, gen) if self.erasing is not None else None
        mixup = self.mixup.make_params(out, gen) if self.mixup is not None else None
        return DeviceAugmentParams(
            boxes, bounds, filters, hflip, vflip, augment, jitter, grayscale, blur_sigma, blur, erasing, mixup
        )

    def sample(
        self,
        sizes: torch.Tensor,
        generator: torch.Generator | None = None,
        channels: int = 3,
    ) -> DeviceAugmentParams:
        """:meth:`make_params` for images of ``sizes`` ``(B, 2)`` ``(height, width)``.

        Args:
            sizes: each image's size (padding excluded).
            generator: see :meth:`make_params`; ``None``: a CPU generator seeded from
                :func:`pixelpipe.rng.get_rng`.
            channels: the images' channel count (for the erasing noise and Mixup).
        """
        b = int(sizes.shape[0])
        desc = BatchDesc(b, int(channels), *self.size, sizes=sizes)
        return self.make_params(desc, generator if generator is not None else torch_generator())

    # --- applying

    def _normalize(self, x: torch.Tensor) -> torch.Tensor:
        key = (x.device, self.img_dtype, x.shape[1])
        if key not in self._stats:
            from ..config import adapt_to_chs

            c = x.shape[1]
            mean = torch.tensor([v * 255 for v in adapt_to_chs(self.mean, c)], dtype=self.img_dtype)
            std = torch.tensor([v * 255 for v in adapt_to_chs(self.std, c)], dtype=self.img_dtype)
            dev = x.device
            # blocking, once per device: ready for any stream that reads them later
            mean = mean.view(1, c, 1, 1).to(dev)  # host-sync: once per device
            std = std.view(1, c, 1, 1).to(dev)  # host-sync: once per device
            self._stats[key] = (mean, std)
        mean, std = self._stats[key]
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        return x.to(dtype=self.img_dtype, memory_format=fmt).sub_(mean).div_(std)

    def apply_uint8(self, images: torch.Tensor, params: DeviceAugmentParams) -> torch.Tensor:
        """Steps 1-2 (crop, flips, augmentation and colour): the augmented ``uint8`` batch, before
        normalisation (for previews and for comparing with the per-sample path)."""
        if not isinstance(images, torch.Tensor) or images.ndim != 4:
            got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
            raise ConfigError(f"DeviceAugment: images must be a (B, C, H, W) tensor, got {got}")
        if params.batch_size != images.shape[0]:
            raise ConfigError(
                f"DeviceAugment: params are for {params.batch_size} images, the batch has {images.shape[0]}"
            )
        dev = images.device
        p = params.to(dev, non_blocking=True)
        x = resized_crop(
            images,
            p.boxes,
            self.size,
            p.filters,
            hflip=p.hflip if self.hflip > 0 else None,
            vflip=p.vflip if self.vflip > 0 else None,
            bounds=p.bounds,
            choices=self.filter_choices,
            out_dtype=torch.uint8,
            compute_dtype=self.compute_dtype,
            workspace=self._workspace,
        )
        if self.augment is not None:
            x = self.augment.apply(x, params.augment)
        if self.jitter is not None:
            if p.jitter is None:
                raise ConfigError("DeviceAugment: params hold no colour jitter draws (from another recipe?)")
            x = self.jitter.apply(x, p.jitter)
        if p.grayscale is not None:
            x = batch_grayscale(x, p.grayscale)
        if p.blur is not None:
            if p.blur_sigma is None:
                raise ConfigError("DeviceAugment: params hold a blur mask but no blur_sigma")
            x = batch_gaussian_blur(x, p.blur_sigma, p.blur, _BLUR_KERNEL)
        return x

    def apply(
        self, images: torch.Tensor, params: DeviceAugmentParams, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Apply ``params`` to a ``uint8`` ``(B, C, H, W)`` batch (padded images are fine); pure.

        Returns:
            ``(images, targets)``: ``img_dtype`` ``(B, C, H_out, W_out)`` normalised images, and the
            targets (Mixup's soft targets when mixing, else ``targets`` as given).
        """
        x = self._normalize(self.apply_uint8(images, params))
        if self.erasing is not None:
            x = self.erasing.apply(x, params.erasing)
        if self.mixup is not None:
            if targets is None:
                raise ConfigError("DeviceAugment: Mixup needs the targets: call aug(images, sizes, targets)")
            mix = params.mixup.to(x.device, non_blocking=True)
            targets = self.mixup.mix_targets(to_device(targets, x.device), mix)
            x = self.mixup.apply(x, mix)
        return x, targets

    def __call__(  # type: ignore[override]  # (images, sizes, targets): a padded batch and its labels
        self,
        images: torch.Tensor,
        sizes: torch.Tensor | None = None,
        targets: torch.Tensor | None = None,
        *,
        generator: torch.Generator | None = None,
    ) -> Any:
        """Sample and apply; returns the images, or ``(images, targets)`` when ``targets`` are given.

        Args:
            images: ``uint8`` ``(B, C, H, W)``, padded (then give ``sizes``) or not.
            sizes: ``(B, 2)`` ``(height, width)`` of each image (default: the whole tensor).
            targets: class indices (or soft targets) to pass through or mix.
            generator: see :meth:`sample`.
        """
        desc = BatchDesc.of(images, sizes)
        params = self.make_params(desc, generator if generator is not None else torch_generator())
        x, y = self.apply(images, params, targets)
        return x if targets is None else (x, y)

    def __repr__(self) -> str:
        parts = [f"size={self.size}"]
        if self.training_crop:
            parts += [f"scale={self.scale}", f"ratio={tuple(round(r, 4) for r in self.ratio)}"]
            parts += [f"hflip={self.hflip}", f"vflip={self.vflip}"]
        else:
            parts += [f"crop_pct={self.crop_pct}", f"crop_mode={self.crop_mode}"]
        parts.append(f"interpolation={self.interpolation}")
        for name in ("augment", "jitter", "erasing", "mixup"):
            v = getattr(self, name)
            if v is not None:
                parts.append(f"{name}={v!r}")
        if self.grayscale_prob:
            parts.append(f"grayscale_prob={self.grayscale_prob}")
        if self.blur_prob:
            parts.append(f"gaussian_blur_prob={self.blur_prob}")
        return f"{type(self).__name__}({', '.join(parts)})"


def _device_mixup(mixup: Any) -> Any:
    """A :class:`~pixelpipe.batch.Mixup` for float batches: ``FastCollateMixup`` is converted."""
    if mixup is None:
        return None
    from ..batch.mixup import FastCollateMixup, Mixup

    if not isinstance(mixup, Mixup):
        raise ConfigError(
            f"DeviceAugment: mixup must be a pixelpipe Mixup (or None), got {type(mixup).__name__}"
        )
    if not isinstance(mixup, FastCollateMixup):
        return mixup
    out = Mixup(
        mixup_alpha=mixup.mixup_alpha,
        cutmix_alpha=mixup.cutmix_alpha,
        cutmix_minmax=mixup.cutmix_minmax,
        prob=mixup.mix_prob,
        switch_prob=mixup.switch_prob,
        mode=mixup.mode,
        correct_lam=mixup.correct_lam,
        label_smoothing=mixup.label_smoothing,
        num_classes=mixup.num_classes,
        multi_label=getattr(mixup, "multi_label", False),
        inplace=True,
    )
    out.mixup_enabled = mixup.mixup_enabled
    return out
