"""Loading a class map: which class name gets which integer target (reference: timm ``load_class_map``).

Accepted forms: a ``dict`` (name -> index), a ``.txt`` file (one class name per line, line ``i`` -> ``i``)
or a ``.json`` file (an object name -> index, or a list of names). Pickle files are refused: unpickling
can run code, and a class map needs nothing that JSON cannot hold.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping
from typing import TypeAlias

from ..errors import ConfigError, DatasetNotFoundError

__all__ = ["ClassMap", "load_class_map"]

ClassMap: TypeAlias = "Mapping[str, int] | str | os.PathLike[str]"
"""What ``class_map`` arguments accept: a class name -> index mapping, or a ``.txt`` / ``.json`` file."""

_MAX_INDEX = 2**63 - 1  # targets are int64


def _check_mapping(mapping: Mapping, source: str) -> dict[str, int]:
    for name, idx in mapping.items():
        if not isinstance(name, str):
            raise ConfigError(f"class map {source}: class names must be strings, got {name!r}")
        if isinstance(idx, bool) or not isinstance(idx, int) or not 0 <= idx <= _MAX_INDEX:
            raise ConfigError(
                f"class map {source}: the index of class {name!r} must be an int >= 0 (and below 2**63), "
                f"got {idx!r}"
            )
    return mapping if isinstance(mapping, dict) else dict(mapping)


def _from_names(names: list, source: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for i, name in enumerate(names):
        if not isinstance(name, str):
            raise ConfigError(f"class map {source}: entry {i} must be a class name string, got {name!r}")
        if name in out:
            raise ConfigError(
                f"class map {source}: class {name!r} is listed twice (entries {out[name]} and {i})"
            )
        out[name] = i
    return out


def _read_text(path: str) -> str:
    """The file decoded as UTF-8 (a leading byte-order mark is dropped)."""
    with open(path, "rb") as f:
        raw = f.read()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ConfigError(f"class map {path} is not UTF-8 text: {e}") from e


def _read_txt(path: str) -> dict[str, int]:
    text = _read_text(path)
    names = [line.strip() for line in io.StringIO(text, newline=None)]  # lines end at \n, \r\n or \r
    while names and not names[-1]:  # trailing blank lines are not classes
        names.pop()
    return _from_names(names, path)


def _read_json(path: str) -> dict[str, int]:
    try:
        data = json.loads(_read_text(path))
    except json.JSONDecodeError as e:
        raise ConfigError(f"class map {path} is not valid JSON: {e}") from e
    except RecursionError as e:  # absurdly deep nesting: no class map looks like this
        raise ConfigError(f"class map {path} is not a valid class map: JSON nested too deeply") from e
    if isinstance(data, list):
        return _from_names(data, path)
    if isinstance(data, dict):
        return _check_mapping(data, path)
    raise ConfigError(
        f"class map {path} must hold a JSON object (name -> index) or a list of names, "
        f"got {type(data).__name__}"
    )


def load_class_map(map_or_filename: ClassMap, root: str = "") -> dict[str, int]:
    """Load a class map from a dict, a ``.txt`` file or a ``.json`` file.

    A relative file name that does not exist as given is looked up under ``root``. In a ``.txt`` file,
    line ``i`` (0-based, stripped) is class ``i``; a blank line in the middle is the class ``''`` (files
    at a folder's top level), trailing blank lines are ignored. Names listed twice are an error.

    Args:
        map_or_filename: a mapping of class name to index (returned as-is after checking), or a path.
        root: folder to look in when ``map_or_filename`` is a relative path that does not exist; when
            it is a file (a ``.tar`` root), its folder is used.

    Returns:
        The class name -> index mapping.

    Raises:
        ConfigError: wrong types, an unsupported extension (``.pkl`` is refused on purpose), bad JSON.
        DatasetNotFoundError: the file exists neither as given nor under ``root``.

    Example:
        >>> import os, tempfile
        >>> d = tempfile.mkdtemp()
        >>> with open(os.path.join(d, 'classes.txt'), 'w') as f:
        ...     _ = f.write('cat\\ndog\\n')
        >>> load_class_map('classes.txt', root=d)
        {'cat': 0, 'dog': 1}
        >>> load_class_map({'cat': 1})
        {'cat': 1}
    """
    if isinstance(map_or_filename, Mapping):
        return _check_mapping(map_or_filename, "dict")
    if not isinstance(map_or_filename, (str, os.PathLike)):
        raise ConfigError(
            f"class_map must be a dict or a path to a .txt/.json file, got {type(map_or_filename).__name__}"
        )
    given = os.fspath(map_or_filename)
    ext = os.path.splitext(given)[1].lower()
    if ext in (".pkl", ".pickle"):
        raise ConfigError(
            f"class_map {given!r}: pickle files are refused (loading one can run code); "
            "write the map as a .txt file (one class name per line) or a .json file instead"
        )
    if ext not in (".txt", ".json"):
        raise ConfigError(f"class_map {given!r}: unsupported extension {ext!r}; use .txt or .json")
    path = given
    if not os.path.isfile(path):
        base = os.fspath(root) if root else ""
        if base and os.path.isfile(base):
            base = os.path.dirname(base)
        path = os.path.join(base, given)
        if not os.path.isfile(path):
            raise DatasetNotFoundError(f"class map file not found: tried {given!r} and {path!r}")
    return _read_txt(path) if ext == ".txt" else _read_json(path)
