"""pixelpipe.transforms: image transforms on PIL images and ``uint8`` tensors, and the transform factory.

The public names match ``timm.data.transforms`` and ``timm.data.transforms_factory``; see each module.
"""

from .base import Transform
from .color import ColorJitter, GaussianBlur, RandomGrayscale
from .compose import Compose, RandomApply
from .convert import MaybePILToTensor, MaybeToTensor, Normalize, ToNumpy, ToTensor
from .crop import CenterCropOrPad, RandomCropOrPad, RandomPad, TrimBorder, center_crop_or_pad, crop_or_pad
from .decode_crop import DecodeRandomResizedCrop
from .erasing import RandomErasing
from .factory import (
    create_transform,
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
    "create_transform",
    "crop_or_pad",
    "interp_mode_to_str",
    "str_to_interp_mode",
    "str_to_pil_interp",
    "transforms_imagenet_eval",
    "transforms_imagenet_train",
    "transforms_noaug_train",
]
