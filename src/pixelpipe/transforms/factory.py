"""The transform factory: :func:`create_transform` and the three builders it dispatches to.

Follows the reference's ``timm.data.transforms_factory``: the same arguments, defaults, pipelines and printed
layout (see REFERENCE §4). Every pipeline accepts PIL images, ``uint8`` ``(C, H, W)`` tensors and (from a
pixelpipe dataset) encoded images.

``backend`` chooses how the pipeline meets an image:

* ``'tensor'`` (default): a :class:`~pixelpipe.transforms.decode_crop.DecodePipeline`. It runs on ``uint8``
  tensors: a PIL image is converted once on entry, and a pixelpipe dataset hands it the encoded image, which
  it decodes itself (a leading random resized crop is drawn from the header and fused with the decode, at
  reduced JPEG scale where that keeps the output resolution). Within the README's stated tolerance of the
  PIL path, with the same random draws.
* ``'pil'``: a plain :class:`~pixelpipe.transforms.Compose` that runs the reference's PIL operations on PIL
  images: bit-exact with the reference.

Output with ``use_prefetcher=True`` (or ``normalize=False``): always a ``uint8`` ``(C, H, W)`` tensor, not
normalised (:class:`~pixelpipe.transforms.MaybePILToTensor` converts PIL images and passes tensors through),
as in the reference.

Differences from the reference, by design:

* eval with a non-square size in ``'center'`` crop mode honours ``interpolation`` (the reference silently uses
  bilinear);
* invalid arguments raise :class:`~pixelpipe.errors.ConfigError` instead of failing an ``assert``;
* ``tf_preprocessing`` (with the prefetcher), ``naflex`` and ``patchify`` raise ``ConfigError`` (not
  supported yet).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from .._checks import check_int, check_prob, check_real, check_size, is_real
from ..constants import DEFAULT_CROP_PCT, IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from ..errors import ConfigError
from .color import ColorJitter, GaussianBlur, RandomGrayscale
from .compose import Compose, RandomApply
from .convert import MaybePILToTensor, MaybeToTensor, Normalize
from .crop import CenterCropOrPad, RandomCropOrPad, TrimBorder
from .decode_crop import DecodePipeline
from .erasing import RandomErasing
from .flip import RandomHorizontalFlip, RandomVerticalFlip
from .interpolation import str_to_pil_interp
from .resize import CenterCrop, RandomResizedCropAndInterpolation, Resize, ResizeKeepRatio

__all__ = [
    "create_transform",
    "transforms_imagenet_eval",
    "transforms_imagenet_train",
    "transforms_noaug_train",
]

Size = int | Sequence[int]
Pipeline = Compose | tuple[Compose, Compose, Compose]
BACKENDS = ("tensor", "pil")


def _check_backend(backend: Any, owner: str) -> str:
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise ConfigError(
            f"{owner}: backend must be 'tensor' (default: uint8 tensors, fused decode) or 'pil' (the "
            f"reference's bit-exact PIL operations), got {backend!r}"
        )
    return backend


def _pipeline(transforms: list, backend: str) -> Compose:
    """The pipeline of ``transforms`` for ``backend`` (see the module docs)."""
    return DecodePipeline(transforms) if backend == "tensor" else Compose(transforms)


def _unsupported(**flags: Any) -> None:
    for name, value in flags.items():
        if value:
            raise ConfigError(
                f"{name}=True is not supported by pixelpipe: the NaFlex patch-sequence pipeline is out of "
                "scope; use fixed-size transforms (or create_loader(input_size_choices=...) for several "
                "resolutions), or timm.data's NaFlex transforms for NaFlex models"
            )


def _check_stats(value: Any, name: str) -> None:
    """``mean`` / ``std``: a non-empty sequence (or 1-D tensor / array) of finite numbers."""
    values = value.tolist() if hasattr(value, "tolist") else value
    if (
        isinstance(values, str)
        or not isinstance(values, Sequence)
        or not values
        or not all(is_real(v) and math.isfinite(v) for v in values)
    ):
        raise ConfigError(
            f"{name} must be a non-empty sequence of finite numbers (one per channel), got {value!r}"
        )


_NONE_IS_OFF = ("color_jitter_prob", "grayscale_prob", "gaussian_blur_prob")


def _check_train_args(**probs: Any) -> None:
    """Probabilities of the training pipeline: each in [0, 1]; ``None`` is allowed for those where the
    reference reads it as "off" (``color_jitter_prob``: jitter always; grayscale and blur: never)."""
    for name, value in probs.items():
        if value is None and name in _NONE_IS_OFF:
            continue
        check_prob(value, name, "transforms_imagenet_train")


def _tail(use_prefetcher: bool, normalize: bool, mean: Sequence[float], std: Sequence[float]) -> list:
    if use_prefetcher or not normalize:
        return [MaybePILToTensor()]
    return [MaybeToTensor(), Normalize(mean=mean, std=std)]


def transforms_noaug_train(
    img_size: Size = 224,
    interpolation: str = "bilinear",
    mean: Sequence[float] = IMAGENET_DEFAULT_MEAN,
    std: Sequence[float] = IMAGENET_DEFAULT_STD,
    use_prefetcher: bool = False,
    normalize: bool = True,
    backend: str = "tensor",
) -> Compose:
    """Training without augmentation: resize, centre crop, tensor tail (``backend``: see the module docs).

    Example:
        >>> print(transforms_noaug_train(224, use_prefetcher=True))
        Compose(
            Resize(size=224, interpolation=bilinear, max_size=None, antialias=True)
            CenterCrop(size=(224, 224))
            MaybePILToTensor()
        )
    """
    _check_backend(backend, "transforms_noaug_train")
    if interpolation == "random":
        interpolation = "bilinear"
    tfl = [Resize(img_size, interpolation=interpolation), CenterCrop(img_size)]
    return _pipeline(tfl + _tail(use_prefetcher, normalize, mean, std), backend)


def _aug_transform(auto_augment: str, img_size: Size, interpolation: str, mean: Sequence[float]) -> Callable:
    from .. import augment  # lazy: the augmentation package is optional at import time

    size_min = min(img_size) if isinstance(img_size, Sequence) else img_size
    params: dict[str, Any] = {
        "translate_const": int(size_min * 0.45),
        "img_mean": tuple(min(255, round(255 * x)) for x in mean),
    }
    if interpolation and interpolation != "random":
        params["interpolation"] = str_to_pil_interp(interpolation)
    if auto_augment.startswith("rand"):
        return augment.rand_augment_transform(auto_augment, params)
    if auto_augment.startswith("augmix"):
        params["translate_pct"] = 0.3
        return augment.augment_and_mix_transform(auto_augment, params)
    return augment.auto_augment_transform(auto_augment, params)


def transforms_imagenet_train(
    img_size: Size = 224,
    scale: Sequence[float] | None = None,
    ratio: Sequence[float] | None = None,
    train_crop_mode: str | None = None,
    hflip: float = 0.5,
    vflip: float = 0.0,
    color_jitter: float | Sequence[float] | None = 0.4,
    color_jitter_prob: float | None = None,
    force_color_jitter: bool = False,
    grayscale_prob: float | None = 0.0,
    gaussian_blur_prob: float | None = 0.0,
    auto_augment: str | None = None,
    interpolation: str = "random",
    mean: Sequence[float] = IMAGENET_DEFAULT_MEAN,
    std: Sequence[float] = IMAGENET_DEFAULT_STD,
    re_prob: float = 0.0,
    re_mode: str = "const",
    re_count: int = 1,
    re_num_splits: int = 0,
    use_prefetcher: bool = False,
    normalize: bool = True,
    separate: bool = False,
    naflex: bool = False,
    patch_size: Size = 16,
    max_seq_len: int = 576,
    patchify: bool = False,
    patchify_channels_last: bool = True,
    backend: str = "tensor",
) -> Pipeline:
    """The ImageNet training pipeline: random crop + flips, then augmentation/colour, then the tensor tail.

    ``separate=True`` returns the three stages as three :class:`Compose` (for AugMix-style splits).
    ``backend``: see the module docs.

    Example:
        >>> print(transforms_imagenet_train(224, interpolation='bilinear', use_prefetcher=True))
        Compose(
            RandomResizedCropAndInterpolation(size=(224, 224), scale=(0.08, 1.0), ratio=(0.75, 1.3333), interpolation=bilinear)
            RandomHorizontalFlip(p=0.5)
            ColorJitter(brightness=(0.6, 1.4), contrast=(0.6, 1.4), saturation=(0.6, 1.4), hue=None)
            MaybePILToTensor()
        )
    """  # noqa: E501
    _unsupported(naflex=naflex, patchify=patchify)
    _check_backend(backend, "transforms_imagenet_train")
    _check_train_args(
        hflip=hflip,
        vflip=vflip,
        color_jitter_prob=color_jitter_prob,
        grayscale_prob=grayscale_prob,
        gaussian_blur_prob=gaussian_blur_prob,
        re_prob=re_prob,
    )
    _check_stats(mean, "mean")
    _check_stats(std, "std")
    train_crop_mode = train_crop_mode or "rrc"
    if train_crop_mode == "rrc":
        primary: list = [
            RandomResizedCropAndInterpolation(
                img_size,
                scale=tuple(scale or (0.08, 1.0)),
                ratio=tuple(ratio or (3 / 4, 4 / 3)),
                interpolation=interpolation,
            )
        ]
    elif train_crop_mode in ("rkrc", "rkrr"):
        crop_cls = CenterCropOrPad if train_crop_mode == "rkrc" else RandomCropOrPad
        primary = [
            ResizeKeepRatio(
                img_size,
                interpolation=interpolation,
                random_scale_prob=0.5,
                random_scale_range=tuple(scale or (0.8, 1.0)),
                random_scale_area=True,
                random_aspect_prob=0.5,
                random_aspect_range=tuple(ratio or (0.9, 1 / 0.9)),
            ),
            crop_cls(img_size, padding_mode="reflect"),
        ]
    else:
        raise ConfigError(f"train_crop_mode: got {train_crop_mode!r}; expected 'rrc', 'rkrc' or 'rkrr'")
    if hflip > 0.0:
        primary.append(RandomHorizontalFlip(p=hflip))
    if vflip > 0.0:
        primary.append(RandomVerticalFlip(p=vflip))

    secondary: list = []
    disable_color_jitter = False
    if auto_augment:
        if not isinstance(auto_augment, str):
            raise ConfigError(f"auto_augment: expected a config string, got {type(auto_augment).__name__}")
        disable_color_jitter = not (force_color_jitter or "3a" in auto_augment)
        try:
            secondary.append(_aug_transform(auto_augment, img_size, interpolation, mean))
        except ConfigError as e:
            raise ConfigError(f"auto_augment={auto_augment!r}: {e}") from None
    if color_jitter is not None and not disable_color_jitter:
        if isinstance(color_jitter, (list, tuple)):
            if len(color_jitter) not in (3, 4):
                raise ConfigError(f"color_jitter: expected a number or 3 or 4 values, got {color_jitter!r}")
            cj = tuple(color_jitter)
        else:
            try:  # float() as the reference: '0.4' works too
                cj = (float(color_jitter),) * 3
            except (TypeError, ValueError):
                raise ConfigError(
                    f"color_jitter: expected a number or 3 or 4 values, got {color_jitter!r}"
                ) from None
        try:
            jitter = ColorJitter(*cj)
        except ConfigError as e:
            raise ConfigError(f"color_jitter={color_jitter!r}: {e}") from None
        secondary.append(jitter if color_jitter_prob is None else RandomApply([jitter], p=color_jitter_prob))
    if grayscale_prob:
        secondary.append(RandomGrayscale(p=grayscale_prob))
    if gaussian_blur_prob:
        secondary.append(RandomApply([GaussianBlur(kernel_size=23)], p=gaussian_blur_prob))

    final = _tail(use_prefetcher, normalize, mean, std)
    if not use_prefetcher and normalize and re_prob > 0.0:
        try:
            erasing = RandomErasing(
                re_prob, mode=re_mode, max_count=re_count, num_splits=re_num_splits, device="cpu"
            )
        except ConfigError as e:
            args = f"re_mode={re_mode!r}, re_count={re_count!r}, re_num_splits={re_num_splits!r}"
            raise ConfigError(f"random erasing ({args}): {e}") from None
        final.append(erasing)
    if separate:
        return _pipeline(primary, backend), _pipeline(secondary, backend), _pipeline(final, backend)
    return _pipeline(primary + secondary + final, backend)


def transforms_imagenet_eval(
    img_size: Size = 224,
    crop_pct: float | None = None,
    crop_mode: str | None = None,
    crop_border_pixels: int | None = None,
    interpolation: str = "bilinear",
    mean: Sequence[float] = IMAGENET_DEFAULT_MEAN,
    std: Sequence[float] = IMAGENET_DEFAULT_STD,
    use_prefetcher: bool = False,
    normalize: bool = True,
    naflex: bool = False,
    patch_size: Size = 16,
    max_seq_len: int = 576,
    patchify: bool = False,
    patchify_channels_last: bool = True,
    patchify_flatten: bool = True,
    backend: str = "tensor",
) -> Compose:
    """The evaluation pipeline: resize to ``size / crop_pct``, crop to ``size``, tensor tail (``backend``:
    see the module docs).

    ``crop_mode``: ``'center'`` (default: keep the aspect, centre crop), ``'squash'`` (resize both sides,
    centre crop) or ``'border'`` (fit the longer side, pad with the mean colour).

    Example:
        >>> print(transforms_imagenet_eval(224))
        Compose(
            Resize(size=256, interpolation=bilinear, max_size=None, antialias=True)
            CenterCrop(size=(224, 224))
            MaybeToTensor()
            Normalize(mean=tensor([0.4850, 0.4560, 0.4060]), std=tensor([0.2290, 0.2240, 0.2250]))
        )
    """
    _unsupported(naflex=naflex, patchify=patchify)
    _check_backend(backend, "transforms_imagenet_eval")
    if interpolation == "random":
        raise ConfigError("interpolation: 'random' is only supported for training transforms")
    _check_stats(mean, "mean")
    _check_stats(std, "std")
    if crop_pct is not None and not (is_real(crop_pct) and crop_pct == 0):  # None / 0: the default
        check_real(crop_pct, "crop_pct", "transforms_imagenet_eval", lo=0.0, lo_open=True)
    if crop_mode is not None and not isinstance(crop_mode, str):
        raise ConfigError(f"crop_mode must be None or 'center', 'squash' or 'border', got {crop_mode!r}")
    if crop_border_pixels is not None:
        check_int(crop_border_pixels, "crop_border_pixels", "transforms_imagenet_eval", lo=0)
    crop_pct = crop_pct or DEFAULT_CROP_PCT
    # at least 1 pixel (a crop_pct above 1 on a tiny size would give 0, which the reference fails on)
    if isinstance(img_size, Sequence):
        scale_size = tuple(max(1, math.floor(x / crop_pct)) for x in img_size)
    else:
        scale_size = (max(1, math.floor(img_size / crop_pct)),) * 2

    tfl: list = []
    if crop_border_pixels:
        tfl.append(TrimBorder(crop_border_pixels))
    if crop_mode == "squash":
        tfl += [Resize(scale_size, interpolation=interpolation), CenterCrop(img_size)]
    elif crop_mode == "border":
        fill = [round(255 * v) for v in mean]
        tfl += [
            ResizeKeepRatio(scale_size, interpolation=interpolation, longest=1.0),
            CenterCropOrPad(img_size, fill=fill),
        ]
    elif scale_size[0] == scale_size[1]:
        tfl += [Resize(scale_size[0], interpolation=interpolation), CenterCrop(img_size)]
    else:
        tfl += [ResizeKeepRatio(scale_size, interpolation=interpolation), CenterCrop(img_size)]
    return _pipeline(tfl + _tail(use_prefetcher, normalize, mean, std), backend)


def _img_size(input_size: Any) -> int | tuple[int, ...] | list[int]:
    """``input_size`` (an int, ``(H, W)`` or ``(C, H, W)``) checked; a sequence gives its last two.

    A list stays a list (only the crops' reprs show the difference, ``size=[224, 224]``, as the reference's).
    """
    if isinstance(input_size, Sequence) and not isinstance(input_size, str) and 1 <= len(input_size) <= 3:
        size = list(input_size[-2:]) if isinstance(input_size, list) else tuple(input_size[-2:])
        check_size(size, "input_size", "create_transform")
        return size
    check_size(input_size, "input_size", "create_transform")
    return input_size


def create_transform(
    input_size: Size = 224,
    is_training: bool = False,
    no_aug: bool = False,
    train_crop_mode: str | None = None,
    scale: Sequence[float] | None = None,
    ratio: Sequence[float] | None = None,
    hflip: float = 0.5,
    vflip: float = 0.0,
    color_jitter: float | Sequence[float] | None = 0.4,
    color_jitter_prob: float | None = None,
    grayscale_prob: float | None = 0.0,
    gaussian_blur_prob: float | None = 0.0,
    auto_augment: str | None = None,
    interpolation: str = "bilinear",
    mean: Sequence[float] = IMAGENET_DEFAULT_MEAN,
    std: Sequence[float] = IMAGENET_DEFAULT_STD,
    re_prob: float = 0.0,
    re_mode: str = "const",
    re_count: int = 1,
    re_num_splits: int = 0,
    crop_pct: float | None = None,
    crop_mode: str | None = None,
    crop_border_pixels: int | None = None,
    tf_preprocessing: bool = False,
    use_prefetcher: bool = False,
    normalize: bool = True,
    separate: bool = False,
    naflex: bool = False,
    patch_size: Size = 16,
    max_seq_len: int = 576,
    patchify: bool = False,
    patchify_channels_last: bool = True,
    patchify_flatten: bool = True,
    backend: str = "tensor",
) -> Pipeline:
    """Build the train, no-augmentation or eval pipeline (see the module docs and REFERENCE §4).

    ``input_size`` may be an int or ``(C, H, W)`` / ``(H, W)``.

    ``backend='tensor'`` (default) runs the pipeline on ``uint8`` tensors: PIL images are converted once on
    entry, and pixelpipe's datasets hand it the encoded image to decode itself (fused random resized crop,
    reduced JPEG scale); the output is within the README's stated tolerance of the PIL path.
    ``backend='pil'`` gives the reference's PIL pipeline, bit-exact with timm on PIL images.

    Example:
        >>> import torch
        >>> tf = create_transform(32, use_prefetcher=True)
        >>> out = tf(torch.randint(0, 256, (3, 48, 64), dtype=torch.uint8))
        >>> out.shape, out.dtype
        (torch.Size([3, 32, 32]), torch.uint8)
        >>> from PIL import Image
        >>> exact = create_transform(32, use_prefetcher=True, backend='pil')  # timm's PIL pipeline
        >>> exact(Image.new('RGB', (64, 48), (200, 10, 10)))[:, 0, 0].tolist()
        [200, 10, 10]
    """
    _check_backend(backend, "create_transform")
    img_size = _img_size(input_size)
    if tf_preprocessing and use_prefetcher:
        raise ConfigError("tf_preprocessing=True is not supported by pixelpipe")
    if is_training and no_aug:
        if separate:
            raise ConfigError("separate=True needs is_training=True and no_aug=False")
        _unsupported(naflex=naflex, patchify=patchify)
        return transforms_noaug_train(
            img_size,
            interpolation=interpolation,
            mean=mean,
            std=std,
            use_prefetcher=use_prefetcher,
            normalize=normalize,
            backend=backend,
        )
    if is_training:
        return transforms_imagenet_train(
            img_size,
            scale=scale,
            ratio=ratio,
            train_crop_mode=train_crop_mode,
            hflip=hflip,
            vflip=vflip,
            color_jitter=color_jitter,
            color_jitter_prob=color_jitter_prob,
            grayscale_prob=grayscale_prob,
            gaussian_blur_prob=gaussian_blur_prob,
            auto_augment=auto_augment,
            interpolation=interpolation,
            mean=mean,
            std=std,
            re_prob=re_prob,
            re_mode=re_mode,
            re_count=re_count,
            re_num_splits=re_num_splits,
            use_prefetcher=use_prefetcher,
            normalize=normalize,
            separate=separate,
            naflex=naflex,
            patch_size=patch_size,
            max_seq_len=max_seq_len,
            patchify=patchify,
            patchify_channels_last=patchify_channels_last,
            backend=backend,
        )
    if separate:
        raise ConfigError("separate=True needs is_training=True and no_aug=False")
    return transforms_imagenet_eval(
        img_size,
        interpolation=interpolation,
        mean=mean,
        std=std,
        crop_pct=crop_pct,
        crop_mode=crop_mode,
        crop_border_pixels=crop_border_pixels,
        use_prefetcher=use_prefetcher,
        normalize=normalize,
        naflex=naflex,
        patch_size=patch_size,
        max_seq_len=max_seq_len,
        patchify=patchify,
        patchify_channels_last=patchify_channels_last,
        patchify_flatten=patchify_flatten,
        backend=backend,
    )
