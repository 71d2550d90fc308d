"""pixelpipe.transforms: image transforms on PIL images and ``uint8`` tensors, and the pipelines of a recipe.

The public names match ``timm.data.transforms`` and ``timm.data.transforms_factory``'s builders; see each
module. ``create_transform`` is a factory, in the top layer: :mod:`pixelpipe.factories.transform`
(``pixelpipe.create_transform``, ``pixelpipe.transforms_factory.create_transform``).
"""

from .base import Transform
from .color import ColorJitter, GaussianBlur, RandomGrayscale
from .compose import Compose, RandomApply
from .convert import MaybePILToTensor, MaybeToTensor, Normalize, ToNumpy, ToTensor
from .crop import CenterCropOrPad, RandomCropOrPad, RandomPad, TrimBorder, center_crop_or_pad, crop_or_pad
from .decode_crop import DecodeRandomResizedCrop
from .erasing import RandomErasing
from .factory import (
    transforms_from_recipe,
    transforms_imagenet_eval,
    transforms_imagenet_train,
    transforms_noaug_train,
)
from .flip import RandomHorizontalFlip, RandomVerticalFlip
from .interpolation import interp_mode_to_str, str_to_interp_mode, str_to_pil_interp
from .resize import CenterCrop, RandomResizedCropAndInterpolation, Resize, ResizeKeepRatio

__all__ = [
    "CenterCrop",
    "CenterCropOrPad",
    "ColorJitter",
    "Compose",
    "DecodeRandomResizedCrop",
    "GaussianBlur",
    "MaybePILToTensor",
    "MaybeToTensor",
    "Normalize",
    "RandomApply",
    "RandomCropOrPad",
    "RandomErasing",
    "RandomGrayscale",
    "RandomHorizontalFlip",
    "RandomPad",
    "RandomResizedCropAndInterpolation",
    "RandomVerticalFlip",
    "Resize",
    "ResizeKeepRatio",
    "ToNumpy",
    "ToTensor",
    "Transform",
    "TrimBorder",
    "center_crop_or_pad",
    "crop_or_pad",
    "interp_mode_to_str",
    "str_to_interp_mode",
    "str_to_pil_interp",
    "transforms_from_recipe",
    "transforms_imagenet_eval",
    "transforms_imagenet_train",
    "transforms_noaug_train",
]
