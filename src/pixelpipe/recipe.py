"""The augmentation recipe: every setting of the train / eval pipelines, declared once.

:class:`AugmentRecipe` is a frozen record of what ``create_transform`` and ``create_loader`` (timm's keyword
arguments, with timm's defaults) say about the images: size, crop, flips, colour, RandAugment / AutoAugment
/ AugMix, normalisation, random erasing, and the output dtype and layout of the batched paths. The per-image
builders (:func:`pixelpipe.transforms.transforms_from_recipe`) and the batched device path
(:meth:`pixelpipe.device.DeviceAugment.from_recipe`) read it, so both run the same recipe; the timm-shaped
functions only build one (:meth:`AugmentRecipe.from_kwargs`) and hand it on.

A setting is checked when the recipe uses it: the training settings (flips, colour, erasing, ...) when
``is_training and not no_aug``, the evaluation crop when ``not is_training``, the rest always.
:func:`dataclasses.replace` (or :meth:`AugmentRecipe.replace`) derives a recipe and checks it again.

Example:
    >>> recipe = AugmentRecipe.from_kwargs(input_size=(3, 224, 224), is_training=True, auto_augment='rand-m9')
    >>> recipe
    AugmentRecipe(input_size=(3, 224, 224), is_training=True, auto_augment='rand-m9')
    >>> recipe.img_size, recipe.hflip
    ((224, 224), 0.5)
    >>> recipe.replace(is_training=False).is_training
    False
    >>> AugmentRecipe(hflip=1.5, is_training=True)
    Traceback (most recent call last):
    ...
    pixelpipe.errors.ConfigError: AugmentRecipe: hflip must be a number in [0, 1], got 1.5
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import torch

from ._checks import check_int, check_prob, check_real, check_size, is_real
from .constants import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from .errors import ConfigError

__all__ = ["BACKENDS", "LOADER_KEYWORDS", "TRAIN_CROP_MODES", "AugmentRecipe"]

_OWNER = "AugmentRecipe"
BACKENDS = ("tensor", "pil")
TRAIN_CROP_MODES = (None, "rrc", "rkrc", "rkrr")
#: ``create_loader``'s keywords that :meth:`AugmentRecipe.from_kwargs` translates into recipe fields:
#: ``re_split`` (with ``num_aug_splits``) gives ``re_num_splits``, ``num_aug_splits > 0`` gives
#: ``separate``, and ``fp16`` gives ``img_dtype=torch.float16``.
LOADER_KEYWORDS = ("re_split", "num_aug_splits", "fp16")

Size = int | Sequence[int]


def _tuple_or_none(value: Any, name: str) -> tuple | None:
    """A sequence (list, tuple, 1-D array or tensor) as a tuple; ``None`` stays ``None``."""
    if value is None:
        return None
    if hasattr(value, "tolist") and not isinstance(value, (list, tuple)):
        value = value.tolist()
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise ConfigError(f"{_OWNER}: {name} must be a sequence of numbers or None, got {value!r}")
    return tuple(value)


def _check_stats(value: Any, name: str) -> tuple[float, ...]:
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
    return tuple(float(v) for v in values)


def _input_size(value: Any) -> Any:
    """``input_size`` checked: an int, ``(H, W)`` or ``(C, H, W)``. A list stays a (fresh) list: timm's
    crops print it as ``size=[H, W]``, and the pipelines keep that."""
    if isinstance(value, Sequence) and not isinstance(value, str) and 1 <= len(value) <= 3:
        check_size(list(value[-2:]), "input_size", "create_transform")
        return list(value) if isinstance(value, list) else tuple(value)
    check_size(value, "input_size", "create_transform")
    return value


@dataclass(frozen=True, repr=False)
class AugmentRecipe:
    """Every setting of an image pipeline, with timm's names and defaults (see the module docs).

    The fields are ``create_transform``'s keyword arguments (REFERENCE §4: their meaning and defaults),
    plus ``force_color_jitter`` (``transforms_imagenet_train``'s), ``backend`` (pixelpipe's per-image
    backend, ``'tensor'`` or ``'pil'``) and the batched paths' output: ``img_dtype`` (floating dtype of the
    normalised batch) and ``channels_last``. ``create_loader``'s ``re_split``, ``num_aug_splits`` and
    ``fp16`` are translated by :meth:`from_kwargs`.

    Sequences are stored as tuples (``mean``/``std`` as floats); a list ``input_size`` stays a list, as
    timm's pipelines print it. The recipe pickles, compares by value and prints only the fields that
    differ from the defaults.

    Raises:
        ConfigError: a setting the recipe uses is invalid (the message names it).

    Example:
        >>> r = AugmentRecipe(input_size=32, is_training=True, color_jitter=(0.4, 0.4, 0.4, 0.1))
        >>> r
        AugmentRecipe(input_size=32, is_training=True, color_jitter=(0.4, 0.4, 0.4, 0.1))
        >>> r == AugmentRecipe.from_kwargs(**r.to_kwargs())
        True
    """

    input_size: Size = 224
    is_training: bool = False
    no_aug: bool = False
    train_crop_mode: str | None = None
    scale: tuple[float, float] | None = None
    ratio: tuple[float, float] | None = None
    hflip: float = 0.5
    vflip: float = 0.0
    color_jitter: float | str | tuple[float, ...] | None = 0.4
    color_jitter_prob: float | None = None
    force_color_jitter: bool = False
    grayscale_prob: float | None = 0.0
    gaussian_blur_prob: float | None = 0.0
    auto_augment: str | None = None
    interpolation: str = "bilinear"
    mean: tuple[float, ...] = IMAGENET_DEFAULT_MEAN
    std: tuple[float, ...] = IMAGENET_DEFAULT_STD
    re_prob: float = 0.0
    re_mode: str = "const"
    re_count: int = 1
    re_num_splits: int = 0
    crop_pct: float | None = None
    crop_mode: str | None = None
    crop_border_pixels: int | None = None
    tf_preprocessing: bool = False
    use_prefetcher: bool = False
    normalize: bool = True
    separate: bool = False
    naflex: bool = False
    patch_size: Size = 16
    max_seq_len: int = 576
    patchify: bool = False
    patchify_channels_last: bool = True
    patchify_flatten: bool = True
    backend: str = "tensor"
    img_dtype: torch.dtype = field(default=torch.float32)
    channels_last: bool = False

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)  # frozen: normalise once, here

        if not isinstance(self.backend, str) or self.backend not in BACKENDS:
            raise ConfigError(
                f"backend must be 'tensor' (default: uint8 tensors, fused decode) or 'pil' (the "
                f"reference's bit-exact PIL operations), got {self.backend!r}"
            )
        put("input_size", _input_size(self.input_size))
        put("mean", _check_stats(self.mean, "mean"))
        put("std", _check_stats(self.std, "std"))
        if any(v <= 0 for v in self.std):
            raise ConfigError(f"{_OWNER}: std must be > 0 for every channel, got {self.std!r}")
        put("scale", _tuple_or_none(self.scale, "scale"))
        put("ratio", _tuple_or_none(self.ratio, "ratio"))
        if isinstance(self.color_jitter, (list, tuple)):
            put("color_jitter", tuple(self.color_jitter))
        if isinstance(self.patch_size, list):
            put("patch_size", tuple(self.patch_size))
        if self.img_dtype is None:  # as PrefetchLoader: None is the default float32
            put("img_dtype", torch.float32)
        if not isinstance(self.img_dtype, torch.dtype) or not self.img_dtype.is_floating_point:
            raise ConfigError(f"{_OWNER}: img_dtype must be a floating torch dtype, got {self.img_dtype!r}")
        if self.is_training and not self.no_aug:
            self._check_training()
        if not self.is_training:
            self._check_eval()

    def _check_training(self) -> None:
        for name in (
            "hflip",
            "vflip",
            "re_prob",
            "color_jitter_prob",
            "grayscale_prob",
            "gaussian_blur_prob",
        ):
            value = getattr(self, name)
            if value is None and name not in ("hflip", "vflip", "re_prob"):
                continue  # None is "off" (grayscale, blur) or "always" (jitter), as in the reference
            check_prob(value, name, _OWNER)
        if self.train_crop_mode not in TRAIN_CROP_MODES:
            raise ConfigError(
                f"train_crop_mode: got {self.train_crop_mode!r}; expected 'rrc', 'rkrc' or 'rkrr'"
            )
        if self.auto_augment is not None and not isinstance(self.auto_augment, str):
            raise ConfigError(
                f"auto_augment: expected a config string, got {type(self.auto_augment).__name__}"
            )
        cj = self.color_jitter
        if isinstance(cj, tuple):
            if len(cj) not in (3, 4):
                raise ConfigError(f"color_jitter: expected a number or 3 or 4 values, got {cj!r}")
        elif cj is not None:
            try:  # float() as the reference: '0.4' works too
                float(cj)
            except (TypeError, ValueError):
                raise ConfigError(f"color_jitter: expected a number or 3 or 4 values, got {cj!r}") from None

    def _check_eval(self) -> None:
        owner = "transforms_imagenet_eval"
        if self.interpolation == "random":
            raise ConfigError("interpolation: 'random' is only supported for training transforms")
        crop_pct = self.crop_pct
        if crop_pct is not None and not (is_real(crop_pct) and crop_pct == 0):  # None / 0: the default
            check_real(crop_pct, "crop_pct", owner, lo=0.0, lo_open=True)
        if self.crop_mode is not None and not isinstance(self.crop_mode, str):
            raise ConfigError(
                f"crop_mode must be None or 'center', 'squash' or 'border', got {self.crop_mode!r}"
            )
        if self.crop_border_pixels is not None:
            check_int(self.crop_border_pixels, "crop_border_pixels", owner, lo=0)

    # --- building and deriving

    @classmethod
    def keywords(cls) -> tuple[str, ...]:
        """Every keyword :meth:`from_kwargs` accepts: the fields, then :data:`LOADER_KEYWORDS`."""
        return (*(f.name for f in fields(cls)), *LOADER_KEYWORDS)

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> AugmentRecipe:
        """The recipe of ``create_transform``'s / ``create_loader``'s keyword arguments (timm's names).

        Accepts the fields plus ``create_loader``'s ``re_split``, ``num_aug_splits`` and ``fp16``
        (:data:`LOADER_KEYWORDS`); anything else raises.

        Example:
            >>> r = AugmentRecipe.from_kwargs(input_size=224, is_training=True, re_prob=0.25, re_split=True,
            ...                               num_aug_splits=3, fp16=True)
            >>> r.re_num_splits, r.separate, r.img_dtype
            (3, True, torch.float16)
            >>> AugmentRecipe.from_kwargs(hflipp=0.5)
            Traceback (most recent call last):
            ...
            pixelpipe.errors.ConfigError: AugmentRecipe.from_kwargs: unexpected keyword argument 'hflipp'; ...
        """
        known = set(cls.keywords())
        unknown = sorted(k for k in kwargs if k not in known)
        if unknown:
            raise ConfigError(
                f"{_OWNER}.from_kwargs: unexpected keyword argument {unknown[0]!r}; expected "
                "create_transform's or create_loader's augmentation arguments (AugmentRecipe.keywords())"
            )
        re_split = kwargs.pop("re_split", False)
        num_aug_splits = kwargs.pop("num_aug_splits", 0)
        fp16 = kwargs.pop("fp16", False)
        num_aug_splits = check_int(num_aug_splits, "num_aug_splits", "create_loader", lo=0)
        if re_split:
            if "re_num_splits" in kwargs:
                raise ConfigError(f"{_OWNER}.from_kwargs: give re_split or re_num_splits, not both")
            kwargs["re_num_splits"] = num_aug_splits or 2
        if num_aug_splits:
            if kwargs.get("separate") is False:
                raise ConfigError(f"{_OWNER}.from_kwargs: num_aug_splits > 0 needs separate=True")
            kwargs["separate"] = True
        if fp16:
            kwargs["img_dtype"] = torch.float16
        return cls(**kwargs)

    def to_kwargs(self) -> dict[str, Any]:
        """The fields as keyword arguments (``AugmentRecipe(**r.to_kwargs()) == r``)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def replace(self, **changes: Any) -> AugmentRecipe:
        """A copy with ``changes`` (checked again), as :func:`dataclasses.replace`."""
        return dataclasses.replace(self, **changes)

    # --- derived values

    @property
    def img_size(self) -> int | Sequence[int]:
        """The output size the crops take: ``input_size``, or its last two values (a list stays a list)."""
        size = self.input_size
        if isinstance(size, (list, tuple)):
            return list(size[-2:]) if isinstance(size, list) else tuple(size[-2:])
        return size

    @property
    def training_aug(self) -> bool:
        """Whether the training augmentation runs (``is_training and not no_aug``)."""
        return bool(self.is_training) and not self.no_aug

    # --- dunder

    def __hash__(self) -> int:
        return hash(tuple(tuple(v) if isinstance(v, list) else v for v in self.to_kwargs().values()))

    def __repr__(self) -> str:
        parts = [f"input_size={self.input_size!r}"]
        for f in fields(self):
            if f.name == "input_size":
                continue
            value = getattr(self, f.name)
            if value != f.default:
                parts.append(f"{f.name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"
