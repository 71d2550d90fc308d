"""Interpolation names: the strings used in configs, torchvision's ``InterpolationMode`` and PIL's enum.

Follows the reference's helpers (``timm.data.transforms``): six names are known (``nearest``,
``bilinear``, ``bicubic``, ``box``, ``hamming``, ``lanczos``). ``'random'`` is not a mode; the transforms that
accept it (:class:`~pixelpipe.transforms.RandomResizedCropAndInterpolation`,
:class:`~pixelpipe.transforms.ResizeKeepRatio`) turn it into :data:`RANDOM_INTERPOLATION` and draw one
mode per call. Unknown names raise :class:`~pixelpipe.errors.ConfigError` (the reference raises ``KeyError``).
"""

from __future__ import annotations

from typing import Any

from PIL import Image
from torchvision.transforms import InterpolationMode

from ..errors import ConfigError

__all__ = [
    "RANDOM_INTERPOLATION",
    "interp_mode_to_str",
    "resolve_interpolation",
    "str_to_interp_mode",
    "str_to_pil_interp",
    "to_pil_interp",
]

_NAMES = ("nearest", "bilinear", "bicubic", "box", "hamming", "lanczos")
_STR_TO_MODE = {n: InterpolationMode(n) for n in _NAMES}
_STR_TO_PIL = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "box": Image.Resampling.BOX,
    "hamming": Image.Resampling.HAMMING,
    "lanczos": Image.Resampling.LANCZOS,
}
_MODE_TO_STR = {m: n for n, m in _STR_TO_MODE.items()}
_PIL_TO_STR = {m: n for n, m in _STR_TO_PIL.items()}

#: The modes ``interpolation='random'`` chooses from, one per call.
RANDOM_INTERPOLATION: tuple[InterpolationMode, ...] = (InterpolationMode.BILINEAR, InterpolationMode.BICUBIC)


def _check_name(name: Any) -> str:
    if isinstance(name, str) and name in _STR_TO_MODE:
        return name
    raise ConfigError(f"interpolation: unknown name {name!r}; expected one of {', '.join(_NAMES)}")


def str_to_interp_mode(mode_str: str) -> InterpolationMode:
    """The torchvision ``InterpolationMode`` for a name.

    Example:
        >>> str_to_interp_mode('bicubic')
        <InterpolationMode.BICUBIC: 'bicubic'>
    """
    return _STR_TO_MODE[_check_name(mode_str)]


def str_to_pil_interp(mode_str: str) -> Image.Resampling:
    """The PIL resampling filter for a name.

    Example:
        >>> str_to_pil_interp('bilinear')
        <Resampling.BILINEAR: 2>
    """
    return _STR_TO_PIL[_check_name(mode_str)]


def interp_mode_to_str(mode: InterpolationMode | Image.Resampling | str) -> str:
    """The name of a torchvision or PIL interpolation mode (names pass through).

    Example:
        >>> interp_mode_to_str(str_to_interp_mode('lanczos'))
        'lanczos'
    """
    if isinstance(mode, InterpolationMode) and mode in _MODE_TO_STR:
        return _MODE_TO_STR[mode]
    if isinstance(mode, Image.Resampling) and mode in _PIL_TO_STR:
        return _PIL_TO_STR[mode]
    return _check_name(mode)


def to_pil_interp(mode: InterpolationMode | Image.Resampling | str) -> Image.Resampling:
    """The PIL filter for any accepted spelling of a mode."""
    return _STR_TO_PIL[interp_mode_to_str(mode)]


def resolve_interpolation(
    interpolation: str | InterpolationMode | Image.Resampling | tuple | list,
) -> InterpolationMode | tuple[InterpolationMode, ...]:
    """One mode, or the tuple of modes to choose from for ``'random'`` (or a given sequence)."""
    if isinstance(interpolation, str) and interpolation == "random":
        return RANDOM_INTERPOLATION
    if isinstance(interpolation, (tuple, list)):
        if not interpolation:
            raise ConfigError("interpolation: an empty sequence; give a name, 'random' or a list of names")
        return tuple(str_to_interp_mode(interp_mode_to_str(m)) for m in interpolation)
    return str_to_interp_mode(interp_mode_to_str(interpolation))
