"""Data configuration: :func:`resolve_data_config` and :func:`resolve_model_data_config`.

Follows the reference's ``timm.data.config``: the input size, interpolation, mean, std, crop fraction and
crop mode come from ``args`` first, then from the model's pretrained config, then from defaults (note the
default interpolation here is ``'bicubic'``, while :func:`~pixelpipe.create_transform` defaults to
``'bilinear'``, as in the reference).

Differences from the reference, by design: with no ``model``, ``args`` or ``pretrained_cfg`` (including
``args={}``) the defaults are returned instead of failing an ``assert``; ``args`` may be a mapping or an
``argparse.Namespace``; invalid values raise :class:`~pixelpipe.errors.ConfigError`.
"""

from __future__ import annotations

import argparse
import logging
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .constants import DEFAULT_CROP_MODE, DEFAULT_CROP_PCT, IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from .errors import ConfigError

__all__ = ["resolve_data_config", "resolve_model_data_config"]

_logger = logging.getLogger(__name__)


def _as_mapping(name: str, value: Any) -> Mapping[str, Any]:
    if value is None:
        return {}
    if isinstance(value, argparse.Namespace):
        return vars(value)
    if isinstance(value, Mapping):
        return value
    if hasattr(value, "to_dict"):  # dataclass-style pretrained configs
        return value.to_dict()
    raise ConfigError(f"{name}: expected a dict or argparse.Namespace, got {type(value).__name__}")


def _per_channel(name: str, value: Any, in_chans: int) -> tuple[float, ...]:
    values = tuple(value)
    if len(values) == 1:
        return values * in_chans
    if len(values) != in_chans:
        if in_chans == 1:
            allowed = "1 value (in_chans=1)"
        else:
            allowed = f"1 value (used for every channel) or {in_chans} (one per channel, in_chans={in_chans})"
        raise ConfigError(f"{name}: expected {allowed}, got {len(values)}: {values!r}")
    return values


def resolve_data_config(
    args: Mapping[str, Any] | argparse.Namespace | None = None,
    pretrained_cfg: Mapping[str, Any] | None = None,
    model: Any = None,
    use_test_size: bool = False,
    verbose: bool = False,
) -> dict[str, Any]:
    """Resolve ``input_size``, ``interpolation``, ``mean``, ``std``, ``crop_pct`` and ``crop_mode``.

    Args:
        args: user settings (``in_chans``/``chans``, ``input_size``, ``img_size``, ``interpolation``, ``mean``,
            ``std``, ``crop_pct``, ``crop_mode``); they override the pretrained config.
        pretrained_cfg: the model's pretrained config (default ``model.pretrained_cfg``).
        model: a model with a ``pretrained_cfg`` attribute.
        use_test_size: prefer the pretrained ``test_input_size`` / ``test_crop_pct``.
        verbose: log the result.

    Example:
        >>> resolve_data_config({'img_size': 256})
        {'input_size': (3, 256, 256), 'interpolation': 'bicubic', 'mean': (0.485, 0.456, 0.406), 'std': (0.229, 0.224, 0.225), 'crop_pct': 0.875, 'crop_mode': 'center'}
    """  # noqa: E501
    args = _as_mapping("args", args)
    pretrained = _as_mapping("pretrained_cfg", pretrained_cfg)
    if not pretrained and model is not None and getattr(model, "pretrained_cfg", None):
        pretrained = _as_mapping("model.pretrained_cfg", model.pretrained_cfg)

    in_chans = 3
    if args.get("in_chans") is not None:
        in_chans = int(args["in_chans"])
    elif args.get("chans") is not None:
        in_chans = int(args["chans"])

    input_size: tuple[int, ...] = (in_chans, 224, 224)
    if args.get("input_size") is not None:
        size = args["input_size"]
        if not isinstance(size, (tuple, list)) or len(size) != 3:
            raise ConfigError(f"input_size: expected (channels, height, width), got {size!r}")
        input_size = tuple(size)
        in_chans = int(input_size[0])
    elif args.get("img_size") is not None:
        size = args["img_size"]
        if not isinstance(size, int) or isinstance(size, bool):
            raise ConfigError(f"img_size: expected an int, got {size!r}")
        input_size = (in_chans, size, size)
    elif use_test_size and pretrained.get("test_input_size") is not None:
        input_size = tuple(pretrained["test_input_size"])
    elif pretrained.get("input_size") is not None:
        input_size = tuple(pretrained["input_size"])

    config: dict[str, Any] = {"input_size": input_size}
    config["interpolation"] = args.get("interpolation") or pretrained.get("interpolation") or "bicubic"

    for key, default in (("mean", IMAGENET_DEFAULT_MEAN), ("std", IMAGENET_DEFAULT_STD)):
        if args.get(key) is not None:
            config[key] = _per_channel(key, args[key], in_chans)
        elif pretrained.get(key):
            config[key] = tuple(pretrained[key])
        else:
            config[key] = default

    crop_pct = DEFAULT_CROP_PCT
    if args.get("crop_pct"):
        crop_pct = args["crop_pct"]
    elif use_test_size and pretrained.get("test_crop_pct"):
        crop_pct = pretrained["test_crop_pct"]
    elif pretrained.get("crop_pct"):
        crop_pct = pretrained["crop_pct"]
    config["crop_pct"] = crop_pct
    config["crop_mode"] = args.get("crop_mode") or pretrained.get("crop_mode") or DEFAULT_CROP_MODE

    if verbose:
        _logger.info("Data processing configuration for current model + dataset:")
        for key, value in config.items():
            _logger.info("\t%s: %s", key, value)
    return config


def resolve_model_data_config(
    model: Any,
    args: Mapping[str, Any] | argparse.Namespace | None = None,
    pretrained_cfg: Mapping[str, Any] | None = None,
    use_test_size: bool = False,
    verbose: bool = False,
) -> dict[str, Any]:
    """:func:`resolve_data_config` with the model first.

    Example:
        >>> class Net:
        ...     pretrained_cfg = {'input_size': (3, 288, 288), 'crop_pct': 0.95, 'interpolation': 'bilinear'}
        >>> cfg = resolve_model_data_config(Net())
        >>> cfg['input_size'], cfg['crop_pct'], cfg['interpolation']
        ((3, 288, 288), 0.95, 'bilinear')
    """
    return resolve_data_config(
        args=args, pretrained_cfg=pretrained_cfg, model=model, use_test_size=use_test_size, verbose=verbose
    )


def adapt_to_chs(x: float | Sequence[float], n: int) -> tuple[float, ...]:
    """Fit per-channel normalisation statistics to ``n`` channels.

    A scalar is repeated; a sequence of the wrong length is replaced by its mean, repeated, with a warning
    (as the reference does, e.g. ImageNet statistics on a one-channel model).

    Example:
        >>> adapt_to_chs(0.5, 3)
        (0.5, 0.5, 0.5)
        >>> adapt_to_chs((0.1, 0.2), 2)
        (0.1, 0.2)
    """
    if not isinstance(x, (tuple, list)):
        return (float(x),) * n
    if len(x) != n:
        avg = float(np.mean(x))
        warnings.warn(
            f"normalisation statistics {tuple(x)} have {len(x)} values but the images have {n} channels; "
            f"using their mean {avg:.4f} for every channel.",
            UserWarning,
            stacklevel=3,
        )
        return (avg,) * n
    return tuple(float(v) for v in x)
