"""The per-image pipelines of an :class:`~pixelpipe.recipe.AugmentRecipe`: train, train without
augmentation, evaluation.

:func:`transforms_from_recipe` builds the pipeline of a recipe (what :func:`pixelpipe.create_transform`,
in :mod:`pixelpipe.factories.transform`, hands it); ``transforms_imagenet_train``,
``transforms_imagenet_eval`` and ``transforms_noaug_train`` keep the reference's signatures and build
their recipe first. Follows the reference's ``timm.data.transforms_factory``: the same arguments,
defaults, pipelines and printed layout (see REFERENCE §4). Every pipeline accepts PIL images, ``uint8``
``(C, H, W)`` tensors and (from a pixelpipe dataset) encoded images.

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

from ..constants import DEFAULT_CROP_PCT, IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from ..errors import ConfigError
from ..recipe import AugmentRecipe
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
    "transforms_from_recipe",
    "transforms_imagenet_eval",
    "transforms_imagenet_train",
    "transforms_noaug_train",
]

Size = int | Sequence[int]
Pipeline = Compose | tuple[Compose, Compose, Compose]


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


def _tail(r: AugmentRecipe) -> list:
    if r.use_prefetcher or not r.normalize:
        return [MaybePILToTensor()]
    return [MaybeToTensor(), Normalize(mean=r.mean, std=r.std)]


def _recipe(args: dict[str, Any], **fixed: Any) -> AugmentRecipe:
    """The recipe of a builder's arguments (``img_size`` is the recipe's ``input_size``)."""
    args = dict(args)
    args["input_size"] = args.pop("img_size")
    return AugmentRecipe(**args, **fixed)


def transforms_from_recipe(recipe: AugmentRecipe) -> Pipeline:
    """The per-image pipeline of ``recipe``: training, training without augmentation, or evaluation.

    What :func:`~pixelpipe.create_transform` builds from its arguments; ``separate=True`` (training
    only) gives the three stages as three :class:`Compose`.

    Example:
        >>> from pixelpipe.recipe import AugmentRecipe
        >>> print(transforms_from_recipe(AugmentRecipe(input_size=32, use_prefetcher=True)))
        Compose(
            Resize(size=36, interpolation=bilinear, max_size=None, antialias=True)
            CenterCrop(size=(32, 32))
            MaybePILToTensor()
        )
    """
    if not isinstance(recipe, AugmentRecipe):
        raise ConfigError(f"transforms_from_recipe: expected an AugmentRecipe, got {type(recipe).__name__}")
    if recipe.tf_preprocessing and recipe.use_prefetcher:
        raise ConfigError("tf_preprocessing=True is not supported by pixelpipe")
    if recipe.is_training and not recipe.no_aug:
        return _imagenet_train(recipe)
    if recipe.separate:
        raise ConfigError("separate=True needs is_training=True and no_aug=False")
    if recipe.is_training:
        _unsupported(naflex=recipe.naflex, patchify=recipe.patchify)
        return _noaug_train(recipe)
    return _imagenet_eval(recipe)


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
    return _noaug_train(_recipe(locals(), is_training=True, no_aug=True))


def _noaug_train(r: AugmentRecipe) -> Compose:
    interpolation = "bilinear" if r.interpolation == "random" else r.interpolation
    tfl = [Resize(r.img_size, interpolation=interpolation), CenterCrop(r.img_size)]
    return _pipeline(tfl + _tail(r), r.backend)


def _aug_transform(r: AugmentRecipe) -> Callable:
    from .. import augment  # lazy: the augmentation package is optional at import time

    auto_augment, img_size, interpolation = str(r.auto_augment), r.img_size, r.interpolation
    size_min = min(img_size) if isinstance(img_size, Sequence) else img_size
    params: dict[str, Any] = {
        "translate_const": int(size_min * 0.45),
        "img_mean": tuple(min(255, round(255 * x)) for x in r.mean),
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
    return _imagenet_train(_recipe(locals(), is_training=True))


def _imagenet_train(r: AugmentRecipe) -> Pipeline:
    _unsupported(naflex=r.naflex, patchify=r.patchify)
    img_size, interpolation, scale, ratio = r.img_size, r.interpolation, r.scale, r.ratio
    train_crop_mode = r.train_crop_mode or "rrc"
    if train_crop_mode == "rrc":
        primary: list = [
            RandomResizedCropAndInterpolation(
                img_size,
                scale=tuple(scale or (0.08, 1.0)),
                ratio=tuple(ratio or (3 / 4, 4 / 3)),
                interpolation=interpolation,
            )
        ]
    else:  # 'rkrc' or 'rkrr' (the recipe checked it)
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
    if r.hflip > 0.0:
        primary.append(RandomHorizontalFlip(p=r.hflip))
    if r.vflip > 0.0:
        primary.append(RandomVerticalFlip(p=r.vflip))

    secondary: list = []
    disable_color_jitter = False
    if r.auto_augment:
        disable_color_jitter = not (r.force_color_jitter or "3a" in r.auto_augment)
        try:
            secondary.append(_aug_transform(r))
        except ConfigError as e:
            raise ConfigError(f"auto_augment={r.auto_augment!r}: {e}") from None
    if r.color_jitter is not None and not disable_color_jitter:
        cj = r.color_jitter if isinstance(r.color_jitter, tuple) else (float(r.color_jitter),) * 3
        try:
            jitter = ColorJitter(*cj)
        except ConfigError as e:
            raise ConfigError(f"color_jitter={r.color_jitter!r}: {e}") from None
        p = r.color_jitter_prob
        secondary.append(jitter if p is None else RandomApply([jitter], p=p))
    if r.grayscale_prob:
        secondary.append(RandomGrayscale(p=r.grayscale_prob))
    if r.gaussian_blur_prob:
        secondary.append(RandomApply([GaussianBlur(kernel_size=23)], p=r.gaussian_blur_prob))

    final = _tail(r)
    if not r.use_prefetcher and r.normalize and r.re_prob > 0.0:
        try:
            erasing = RandomErasing(
                r.re_prob, mode=r.re_mode, max_count=r.re_count, num_splits=r.re_num_splits, device="cpu"
            )
        except ConfigError as e:
            args = f"re_mode={r.re_mode!r}, re_count={r.re_count!r}, re_num_splits={r.re_num_splits!r}"
            raise ConfigError(f"random erasing ({args}): {e}") from None
        final.append(erasing)
    if r.separate:
        return _pipeline(primary, r.backend), _pipeline(secondary, r.backend), _pipeline(final, r.backend)
    return _pipeline(primary + secondary + final, r.backend)


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
    return _imagenet_eval(_recipe(locals(), is_training=False))


def _imagenet_eval(r: AugmentRecipe) -> Compose:
    _unsupported(naflex=r.naflex, patchify=r.patchify)
    img_size, interpolation = r.img_size, r.interpolation
    crop_pct = r.crop_pct or DEFAULT_CROP_PCT
    # at least 1 pixel (a crop_pct above 1 on a tiny size would give 0, which the reference fails on)
    if isinstance(img_size, Sequence):
        scale_size = tuple(max(1, math.floor(x / crop_pct)) for x in img_size)
    else:
        scale_size = (max(1, math.floor(img_size / crop_pct)),) * 2

    tfl: list = []
    if r.crop_border_pixels:
        tfl.append(TrimBorder(r.crop_border_pixels))
    if r.crop_mode == "squash":
        tfl += [Resize(scale_size, interpolation=interpolation), CenterCrop(img_size)]
    elif r.crop_mode == "border":
        fill = [round(255 * v) for v in r.mean]
        tfl += [
            ResizeKeepRatio(scale_size, interpolation=interpolation, longest=1.0),
            CenterCropOrPad(img_size, fill=fill),
        ]
    elif scale_size[0] == scale_size[1]:
        tfl += [Resize(scale_size[0], interpolation=interpolation), CenterCrop(img_size)]
    else:
        tfl += [ResizeKeepRatio(scale_size, interpolation=interpolation), CenterCrop(img_size)]
    return _pipeline(tfl + _tail(r), r.backend)
