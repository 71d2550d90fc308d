"""NaFlex: out of scope. The reference's names exist so imports work; using them raises a clear error.

timm's NaFlex pipeline (``timm.data.naflex_*``: variable-resolution images packed into patch sequences
for NaFlex ViTs) is not part of pixelpipe. Its names are importable from ``pixelpipe`` (timm's
``train.py`` imports ``create_naflex_loader`` at the top even when ``--naflex-loader`` is not used), but
calling or instantiating any of them raises :class:`~pixelpipe.errors.ConfigError` saying what to use
instead:

* fixed-size training and evaluation: :func:`pixelpipe.create_loader`;
* several resolutions in one run: ``create_loader(input_size_choices=...)`` (timm's
  ``train.py --train-img-sizes``), see :mod:`pixelpipe.loader.scheduled`;
* NaFlex models trained on NaFlex batches: timm's own ``timm.data`` NaFlex loader.

Example:
    >>> from pixelpipe import create_naflex_loader
    >>> create_naflex_loader(None)
    Traceback (most recent call last):
    ...
    pixelpipe.errors.ConfigError: create_naflex_loader: NaFlex ... is out of scope for pixelpipe; ...
"""

from __future__ import annotations

from typing import Any, NoReturn

from .errors import ConfigError

__all__ = [
    "CenterCropToSequence",
    "NaFlexMapDatasetWrapper",
    "NaFlexMixup",
    "Patchify",
    "RandomCropToSequence",
    "RandomResizedCropToSequence",
    "ResizeKeepRatioToSequence",
    "ResizeToSequence",
    "calculate_naflex_batch_size",
    "create_naflex_loader",
    "mix_batch_variable_size",
    "naflex_error",
    "pairwise_mixup_target",
    "patchify_image",
]


def naflex_error(name: str) -> ConfigError:
    """The error raised by every NaFlex name: what is out of scope and what to use instead."""
    return ConfigError(
        f"{name}: NaFlex (variable-resolution images packed into patch sequences for NaFlex ViTs) is out "
        "of scope for pixelpipe; use pixelpipe.create_loader with a fixed input_size, or "
        "create_loader(input_size_choices=...) to train at several resolutions (timm's train.py "
        "--train-img-sizes instead of --naflex-loader), or timm.data's NaFlex loader for NaFlex models."
    )


class _OutOfScope:
    """Base of the NaFlex class names: instantiating one raises :func:`naflex_error`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise naflex_error(type(self).__name__)


class NaFlexMapDatasetWrapper(_OutOfScope):
    """Out of scope (see the module docs)."""


class NaFlexMixup(_OutOfScope):
    """Out of scope (see the module docs)."""


class ResizeToSequence(_OutOfScope):
    """Out of scope (see the module docs)."""


class CenterCropToSequence(_OutOfScope):
    """Out of scope (see the module docs)."""


class RandomCropToSequence(_OutOfScope):
    """Out of scope (see the module docs)."""


class RandomResizedCropToSequence(_OutOfScope):
    """Out of scope (see the module docs)."""


class ResizeKeepRatioToSequence(_OutOfScope):
    """Out of scope (see the module docs)."""


class Patchify(_OutOfScope):
    """Out of scope (see the module docs)."""


def create_naflex_loader(*args: Any, **kwargs: Any) -> NoReturn:
    """Out of scope (see the module docs)."""
    raise naflex_error("create_naflex_loader")


def calculate_naflex_batch_size(*args: Any, **kwargs: Any) -> NoReturn:
    """Out of scope (see the module docs)."""
    raise naflex_error("calculate_naflex_batch_size")


def pairwise_mixup_target(*args: Any, **kwargs: Any) -> NoReturn:
    """Out of scope (see the module docs)."""
    raise naflex_error("pairwise_mixup_target")


def mix_batch_variable_size(*args: Any, **kwargs: Any) -> NoReturn:
    """Out of scope (see the module docs)."""
    raise naflex_error("mix_batch_variable_size")


def patchify_image(*args: Any, **kwargs: Any) -> NoReturn:
    """Out of scope (see the module docs)."""
    raise naflex_error("patchify_image")
