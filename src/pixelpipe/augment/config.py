"""The augmentation config-string grammar, parsed once into frozen configs.

Config strings are compact and loggable: ``rand-m9-mstd0.5-inc1``, ``original-mstd0.5``,
``augmix-m3-w3-d2``. The grammar (REFERENCE.md §6.4-6.6)::

    config   := head ( "-" section )*
    head     := "rand" | "augmix" | <AutoAugment policy name>
    section  := key value          key := [A-Za-z]+, value := the rest (must not be empty)
    rand     : "t" <set name> (RandAugment op set) or one of the keys below

Sections may come in any order; each key at most once. Every key, its value type and its meaning is listed
in :data:`RAND_AUGMENT_KEYS`, :data:`AUTO_AUGMENT_KEYS` and :data:`AUGMIX_KEYS`.

Where pixelpipe differs from the reference (REFERENCE.md, "deliberately differs"):

* sections without a value (``rand-inc``), unknown keys, malformed values and repeated keys raise
  :class:`~pixelpipe.errors.ConfigError` (a ``ValueError``) naming the section and listing the valid keys;
  the reference ignores some and asserts on others;
* ``inc0`` disables the increasing op set (any non-zero integer enables it);
* :meth:`RandAugmentConfig.op_hparams` and friends never mutate the caller's ``hparams`` and accept
  ``None``; values already present in ``hparams`` still win over the string, as in the reference.

Example:
    >>> cfg = parse_rand_augment('rand-m9-mstd0.5-inc1')
    >>> cfg
    RandAugmentConfig(magnitude=9, num_layers=2, prob=0.5, magnitude_std=0.5, magnitude_max=None, \
increasing=True, transforms=None)
    >>> cfg.to_config_str()
    'rand-m9-n2-p0.5-mstd0.5-inc1'
    >>> parse_rand_augment('rand-m9-mstd101').magnitude_std
    inf
    >>> parse_augmix('augmix-m5-w4-d2')
    AugMixConfig(magnitude=5, width=4, depth=2, alpha=1.0, blended=False, magnitude_std=None)
    >>> parse_rand_augment('rand-inc')
    Traceback (most recent call last):
    ...
    pixelpipe.errors.ConfigError: RandAugment config 'rand-inc': section 'inc' has no value; valid keys: ...
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from ..errors import ConfigError
from .policies import AA_POLICY_NAMES, HPARAMS_DEFAULT, RAND_TRANSFORM_SETS

__all__ = [
    "AUGMIX_KEYS",
    "AUTO_AUGMENT_KEYS",
    "RAND_AUGMENT_KEYS",
    "AugMixConfig",
    "AutoAugmentConfig",
    "RandAugmentConfig",
    "parse_augmix",
    "parse_auto_augment",
    "parse_rand_augment",
]

#: ``mstd`` values above this mean "uniform magnitude in [0, m]" (stored as ``inf``) for RandAugment.
MSTD_UNIFORM_THRESHOLD = 100.0


class Key(NamedTuple):
    """One config key: the config field it sets, how its value is read, and a one-line description."""

    field: str
    parse: Callable[[str], Any]
    help: str


class _BadValue(Exception):
    """Raised by value readers; turned into a ConfigError that names the section."""


_INT = re.compile(r"\d+", re.ASCII)
_FLOAT = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+]?\d+)?", re.ASCII)


def _int(text: str) -> int:
    if not _INT.fullmatch(text):
        raise _BadValue(f"{text!r} is not a non-negative integer")
    return int(text)


def _float(text: str) -> float:
    if not _FLOAT.fullmatch(text):
        raise _BadValue(f"{text!r} is not a non-negative number")
    value = float(text)
    if not math.isfinite(value):
        raise _BadValue(f"{text!r} is not finite")
    return value


def _flag(text: str) -> bool:
    return _int(text) != 0


def _prob(text: str) -> float:
    value = _float(text)
    if value > 1.0:
        raise _BadValue(f"probability {value} is above 1")
    return value


def _positive_int(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise _BadValue("must be at least 1")
    return value


def _positive_float(text: str) -> float:
    value = _float(text)
    if value <= 0.0:
        raise _BadValue("must be greater than 0")
    return value


def _rand_mstd(text: str) -> float:
    value = _float(text)
    return math.inf if value > MSTD_UNIFORM_THRESHOLD else value


def _transform_set(text: str) -> str:
    if text not in RAND_TRANSFORM_SETS:
        raise _BadValue(f"unknown op set {text!r}, valid sets: {', '.join(RAND_TRANSFORM_SETS)}")
    return text


#: RandAugment keys (``rand-...``). ``t`` takes an op-set name instead of a number.
RAND_AUGMENT_KEYS: Mapping[str, Key] = {
    "m": Key("magnitude", _int, "magnitude, int (default 10)"),
    "n": Key("num_layers", _int, "ops per image, int (default 2)"),
    "p": Key("prob", _prob, "probability of each chosen op, float in [0, 1] (default 0.5)"),
    "mstd": Key("magnitude_std", _rand_mstd, "magnitude noise std, float; > 100 means uniform in [0, m]"),
    "mmax": Key("magnitude_max", _int, "magnitude upper clamp, int (default 10)"),
    "inc": Key("increasing", _flag, "increasing-severity ops, 0 or 1 (default 0)"),
    "t": Key("transforms", _transform_set, f"op set, one of {', '.join(RAND_TRANSFORM_SETS)}"),
}

#: AutoAugment keys (``<policy>-...``).
AUTO_AUGMENT_KEYS: Mapping[str, Key] = {
    "mstd": Key("magnitude_std", _float, "magnitude noise std, float (default 0)"),
}

#: AugMix keys (``augmix-...``).
AUGMIX_KEYS: Mapping[str, Key] = {
    "m": Key("magnitude", _int, "severity, int (default 3)"),
    "w": Key("width", _positive_int, "number of chains, int >= 1 (default 3)"),
    "d": Key("depth", _int, "ops per chain, int; 0 means random 1..3 (default random)"),
    "a": Key("alpha", _positive_float, "Dirichlet/Beta alpha, float > 0 (default 1.0)"),
    "b": Key("blended", _flag, "blend chains one by one, 0 or 1 (default 0)"),
    "mstd": Key("magnitude_std", _float, "magnitude noise std, float (default: uniform in [0, m])"),
}

_SECTION = re.compile(r"([A-Za-z]+)(.*)", re.DOTALL)


def _keys_help(keys: Mapping[str, Key]) -> str:
    return "; ".join(f"{k} ({key.help})" for k, key in keys.items())


def _parse_sections(
    kind: str,
    config_str: str,
    sections: list[str],
    keys: Mapping[str, Key],
    prefix_keys: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Read ``key value`` sections into ``{field: value}``; ``prefix_keys`` take any text as value."""
    values: dict[str, Any] = {}
    seen: dict[str, str] = {}

    def fail(section: str, problem: str) -> ConfigError:
        return ConfigError(
            f"{kind} config {config_str!r}: section {section!r} {problem}; valid keys: {_keys_help(keys)}"
        )

    for section in sections:
        prefix = next((p for p in prefix_keys if section.startswith(p)), None)
        if prefix is not None:
            key, value = prefix, section[len(prefix) :]
        else:
            match = _SECTION.fullmatch(section)
            if match is None:
                raise fail(section, "does not start with a key" if section else "is empty")
            key, value = match.groups()
            if key not in keys:
                raise fail(section, f"has unknown key {key!r}")
        if value == "":
            raise fail(section, "has no value")
        if key in seen:
            raise fail(section, f"repeats key {key!r} (first given in {seen[key]!r})")
        seen[key] = section
        try:
            values[keys[key].field] = keys[key].parse(value)
        except _BadValue as err:
            raise fail(section, f"has a bad value: {err}") from None
    return values


def _split(kind: str, config_str: object) -> list[str]:
    if not isinstance(config_str, str):
        raise ConfigError(f"{kind} config must be a string, got {type(config_str).__name__}")
    return config_str.split("-")


def _fmt(value: float) -> str:
    # positional, shortest round-trip form: never an exponent sign that would clash with the '-' separator
    return np.format_float_positional(value, trim="-")


def _op_hparams(hparams: Mapping[str, Any] | None, extra: Mapping[str, Any]) -> dict[str, Any]:
    """A new hparams dict: the caller's (or the defaults when empty/None), with ``extra`` filled in only
    where the caller has no value, so the caller's values win, as in the reference."""
    out = dict(hparams) if hparams else dict(HPARAMS_DEFAULT)
    for k, v in extra.items():
        out.setdefault(k, v)
    return out


@dataclass(frozen=True)
class RandAugmentConfig:
    """A parsed RandAugment config string (``rand-m9-n2-mstd0.5-inc1-t3a``).

    Attributes:
        magnitude: op magnitude, usually 0-10 (``m``; default ``10.0``, a float as in the reference's repr).
        num_layers: ops applied per image (``n``).
        prob: probability that each chosen op fires (``p``).
        magnitude_std: Gaussian magnitude noise std, ``inf`` for uniform in ``[0, magnitude]``, ``None``
            when not given (``mstd``).
        magnitude_max: upper clamp of the noisy magnitude, ``None`` = 10 (``mmax``).
        increasing: use the increasing-severity op set (``inc``).
        transforms: named op set (``t``), ``None`` for the default (or increasing) set.
    """

    magnitude: float = 10.0
    num_layers: int = 2
    prob: float = 0.5
    magnitude_std: float | None = None
    magnitude_max: int | None = None
    increasing: bool = False
    transforms: str | None = None

    def op_hparams(self, hparams: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Hyper-parameters for this config's ops: a new dict, ``hparams`` values win over the string's."""
        extra: dict[str, Any] = {}
        if self.magnitude_std is not None:
            extra["magnitude_std"] = self.magnitude_std
        if self.magnitude_max is not None:
            extra["magnitude_max"] = self.magnitude_max
        return _op_hparams(hparams, extra)

    def to_config_str(self) -> str:
        """The canonical config string; parsing it gives back an equal config."""
        parts = ["rand", f"m{_fmt(self.magnitude)}", f"n{self.num_layers}", f"p{_fmt(self.prob)}"]
        if self.magnitude_std is not None:
            mstd = "101" if math.isinf(self.magnitude_std) else _fmt(self.magnitude_std)
            parts.append(f"mstd{mstd}")
        if self.magnitude_max is not None:
            parts.append(f"mmax{self.magnitude_max}")
        parts.append(f"inc{int(self.increasing)}")
        if self.transforms is not None:
            parts.append(f"t{self.transforms}")
        return "-".join(parts)


@dataclass(frozen=True)
class AutoAugmentConfig:
    """A parsed AutoAugment config string (``v0r-mstd0.5``).

    Attributes:
        policy: policy name, one of :data:`~pixelpipe.augment.policies.AA_POLICY_NAMES`.
        magnitude_std: Gaussian magnitude noise std, ``None`` when not given (``mstd``).
    """

    policy: str = "v0"
    magnitude_std: float | None = None

    def op_hparams(self, hparams: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Hyper-parameters for this config's ops: a new dict, ``hparams`` values win over the string's."""
        extra = {} if self.magnitude_std is None else {"magnitude_std": self.magnitude_std}
        return _op_hparams(hparams, extra)

    def to_config_str(self) -> str:
        """The canonical config string; parsing it gives back an equal config."""
        if self.magnitude_std is None:
            return self.policy
        return f"{self.policy}-mstd{_fmt(self.magnitude_std)}"


@dataclass(frozen=True)
class AugMixConfig:
    """A parsed AugMix config string (``augmix-m3-w3-d2-a1-b0-mstd0.5``).

    Attributes:
        magnitude: severity of every op (``m``).
        width: number of augmentation chains mixed (``w``).
        depth: ops per chain; ``<= 0`` draws 1-3 per chain (``d``, default ``-1``).
        alpha: concentration of the Dirichlet chain weights and of the Beta blend factor (``a``).
        blended: blend chains one after another instead of summing them (``b``).
        magnitude_std: magnitude noise std; ``None`` means the default, uniform in ``[0, magnitude]``.
    """

    magnitude: int = 3
    width: int = 3
    depth: int = -1
    alpha: float = 1.0
    blended: bool = False
    magnitude_std: float | None = None

    def op_hparams(self, hparams: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Hyper-parameters for this config's ops: a new dict, ``hparams`` values win over the string's.

        Without ``mstd`` in either, magnitudes are drawn uniformly in ``[0, magnitude]`` (``inf``).
        """
        mstd = math.inf if self.magnitude_std is None else self.magnitude_std
        return _op_hparams(hparams, {"magnitude_std": mstd})

    def to_config_str(self) -> str:
        """The canonical config string; parsing it gives back an equal config."""
        parts = ["augmix", f"m{self.magnitude}", f"w{self.width}"]
        if self.depth != -1:
            parts.append(f"d{max(self.depth, 0)}")
        parts += [f"a{_fmt(self.alpha)}", f"b{int(self.blended)}"]
        if self.magnitude_std is not None:
            parts.append(f"mstd{_fmt(self.magnitude_std)}")
        return "-".join(parts)


def parse_rand_augment(config_str: str) -> RandAugmentConfig:
    """Parse a RandAugment config string ``rand-<sections>`` (keys: :data:`RAND_AUGMENT_KEYS`).

    Raises:
        ConfigError: the string does not start with ``rand``, or a section is empty, has no value, an
            unknown or repeated key, or a bad value. The message names the section and lists the keys.

    Example:
        >>> parse_rand_augment('rand-n3-p1-t3aw')
        RandAugmentConfig(magnitude=10.0, num_layers=3, prob=1.0, magnitude_std=None, magnitude_max=None, \
increasing=False, transforms='3aw')
    """
    head, *sections = _split("RandAugment", config_str)
    if head != "rand":
        raise ConfigError(f"RandAugment config {config_str!r} must start with 'rand', got {head!r}")
    values = _parse_sections("RandAugment", config_str, sections, RAND_AUGMENT_KEYS, prefix_keys=("t",))
    return RandAugmentConfig(**values)


def parse_auto_augment(config_str: str) -> AutoAugmentConfig:
    """Parse an AutoAugment config string ``<policy>[-mstd<float>]`` (keys: :data:`AUTO_AUGMENT_KEYS`).

    Raises:
        ConfigError: unknown policy (the message lists them), or a bad section as for
            :func:`parse_rand_augment`.

    Example:
        >>> parse_auto_augment('originalr-mstd0.5')
        AutoAugmentConfig(policy='originalr', magnitude_std=0.5)
    """
    head, *sections = _split("AutoAugment", config_str)
    if head not in AA_POLICY_NAMES:
        raise ConfigError(
            f"AutoAugment config {config_str!r}: unknown policy {head!r}; valid policies: "
            + ", ".join(AA_POLICY_NAMES)
        )
    values = _parse_sections("AutoAugment", config_str, sections, AUTO_AUGMENT_KEYS)
    return AutoAugmentConfig(policy=head, **values)


def parse_augmix(config_str: str) -> AugMixConfig:
    """Parse an AugMix config string ``augmix-<sections>`` (keys: :data:`AUGMIX_KEYS`).

    Raises:
        ConfigError: the string does not start with ``augmix``, or a bad section as for
            :func:`parse_rand_augment`.

    Example:
        >>> parse_augmix('augmix-m1-mstd0.5-b1').blended
        True
    """
    head, *sections = _split("AugMix", config_str)
    if head != "augmix":
        raise ConfigError(f"AugMix config {config_str!r} must start with 'augmix', got {head!r}")
    return AugMixConfig(**_parse_sections("AugMix", config_str, sections, AUGMIX_KEYS))
