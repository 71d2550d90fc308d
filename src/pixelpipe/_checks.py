"""Argument checks shared by the public constructors: numbers, probabilities, integers, sizes, ranges.

Every check raises :class:`~pixelpipe.errors.ConfigError` (a ``ValueError``) whose message names the
owner and the argument, shows the value received and says what is allowed. ``bool`` is refused where a
number is expected (it is an ``int`` subclass, and ``p=True`` is a mistake, not a probability), and so are
NaN and infinities unless a check says otherwise.

Example:
    >>> check_prob(0.25, "p", "RandomGrayscale")
    0.25
    >>> check_prob(float("nan"), "p", "RandomGrayscale")
    Traceback (most recent call last):
    ...
    pixelpipe.errors.ConfigError: RandomGrayscale: p must be a number in [0, 1], got nan
    >>> check_size((3, 4), "size", "CenterCrop"), check_size(224.0, "size", "CenterCrop")
    ((3, 4), (224, 224))
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

from .errors import ConfigError

__all__ = ["check_int", "check_prob", "check_range", "check_real", "check_size", "is_real"]


def is_real(value: Any) -> bool:
    """Whether ``value`` is a real number (Python or NumPy), not a ``bool``."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _fail(owner: str, name: str, allowed: str, value: Any) -> ConfigError:
    where = f"{owner}: " if owner else ""
    return ConfigError(f"{where}{name} must be {allowed}, got {value!r}")


def _bounds_text(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    if lo is None and hi is None:
        return "a finite number"
    if lo is not None and hi is not None:
        return f"a number in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
    if lo is not None:
        return f"a number {'>' if lo_open else '>='} {lo:g}"
    return f"a number {'<' if hi_open else '<='} {hi:g}"


def check_real(
    value: Any,
    name: str,
    owner: str,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
    allow_inf: bool = False,
) -> float:
    """``value`` as a float, checked to be a finite real (``allow_inf``: ``+inf`` too) within the bounds."""
    ok = is_real(value) and not math.isnan(value) and (allow_inf or math.isfinite(value))
    if ok and value == -math.inf:
        ok = False
    if ok and lo is not None:
        ok = value > lo if lo_open else value >= lo
    if ok and hi is not None:
        ok = value < hi if hi_open else value <= hi
    if not ok:
        raise _fail(owner, name, _bounds_text(lo, hi, lo_open, hi_open), value)
    return float(value)


def check_prob(value: Any, name: str, owner: str) -> float:
    """A probability: a real number in ``[0, 1]``."""
    return check_real(value, name, owner, lo=0.0, hi=1.0)


def check_int(value: Any, name: str, owner: str, *, lo: int | None = None, hi: int | None = None) -> int:
    """``value`` as an int: an integer (or a float with an integral value, e.g. ``224.0``) within bounds."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        ok = False
    elif isinstance(value, numbers.Integral):
        ok = True
    else:  # floats with an integral value (224.0) are accepted
        ok = math.isfinite(value) and float(value).is_integer()
    if ok:
        ivalue = int(value)
        ok = (lo is None or ivalue >= lo) and (hi is None or ivalue <= hi)
    if not ok:
        if lo is not None and hi is not None:
            allowed = f"an int in [{lo}, {hi}]"
        elif lo is not None:
            allowed = f"an int >= {lo}"
        elif hi is not None:
            allowed = f"an int <= {hi}"
        else:
            allowed = "an int"
        raise _fail(owner, name, allowed, value)
    return ivalue


def check_size(value: Any, name: str, owner: str, *, lo: int = 1) -> tuple[int, int]:
    """``(height, width)`` from an int or a sequence of one or two ints, each ``>= lo``."""
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) in (1, 2):
        items = list(value) if len(value) == 2 else [value[0], value[0]]
    elif is_real(value):
        items = [value, value]
    else:
        raise _fail(owner, name, f"an int >= {lo} or a sequence of 1 or 2 such ints", value)
    try:
        h, w = (check_int(v, name, owner, lo=lo) for v in items)
    except ConfigError:
        raise _fail(owner, name, f"an int >= {lo} or a sequence of 1 or 2 such ints", value) from None
    return h, w


def check_range(
    value: Any,
    name: str,
    owner: str,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
) -> tuple[float, float]:
    """A ``(min, max)`` pair of finite reals within the bounds (the order is not checked here)."""
    if isinstance(value, str) or not isinstance(value, Sequence) or len(value) != 2:
        raise _fail(owner, name, "a (min, max) pair of numbers", value)
    bounds = _bounds_text(lo, hi, lo_open, hi_open)
    if not all(is_real(v) for v in value):
        raise _fail(owner, name, f"a (min, max) pair of {bounds.replace('a number', 'numbers', 1)}", value)
    try:
        a = check_real(value[0], name, owner, lo=lo, hi=hi, lo_open=lo_open, hi_open=hi_open)
        b = check_real(value[1], name, owner, lo=lo, hi=hi, lo_open=lo_open, hi_open=hi_open)
    except ConfigError:
        raise _fail(
            owner, name, f"a (min, max) pair of {bounds.replace('a number', 'numbers', 1)}", value
        ) from None
    return a, b


def check_jitter_range(
    name: str,
    value: Any,
    center: float = 1.0,
    bound: tuple[float, float] = (0, float("inf")),
    clip: bool = True,
) -> tuple[float, float] | None:
    """A colour-jitter factor as a ``(min, max)`` range around ``center`` (``None``: no change), as
    ``ColorJitter`` reads it: a number ``v`` gives ``(center - v, center + v)`` (clipped at 0 when ``clip``),
    a pair is taken as given; the range must lie within ``bound``. Shared by the per-image and batched
    jitter."""
    if is_real(value):
        check_real(value, name, "ColorJitter", lo=0.0)
        lo, hi = center - float(value), center + float(value)
        if clip:
            lo = max(lo, 0.0)
    elif isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        lo, hi = check_range(value, name, "ColorJitter")
    else:
        raise ConfigError(f"ColorJitter: {name} must be a number >= 0 or a (min, max) pair, got {value!r}")
    if not bound[0] <= lo <= hi <= bound[1]:
        raise ConfigError(f"ColorJitter: {name} range ({lo}, {hi}) must lie within {bound} and be ordered")
    if lo == hi == center:
        return None
    return lo, hi
