"""The file lists of a ``save_to_disk`` folder, checked before ``datasets`` (or pixelpipe) opens them.

``Dataset.save_to_disk`` writes ``state.json``, whose ``_data_files`` name the folder's Arrow files;
``DatasetDict.save_to_disk`` writes ``dataset_dict.json``, whose ``splits`` name its split sub-folders.
``datasets.load_from_disk`` joins those names to the folder as they are, so a folder that came from
somebody else could make it read any file (``/...``, ``../...``). They come with the data, so every name
goes through :func:`pixelpipe.streaming.untrusted.check_data_name` (a relative path inside the folder)
before anything is loaded.
"""

from __future__ import annotations

import json
import os
from typing import Any

from ..errors import ConfigError
from ..streaming.untrusted import check_data_name

__all__ = ["check_saved_folder", "saved_data_files", "saved_splits"]

STATE_JSON = "state.json"
DICT_JSON = "dataset_dict.json"


def _read_object(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError, RecursionError) as e:
        raise ConfigError(f"cannot read {path!r}: {type(e).__name__}: {e}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{path!r} must hold a JSON object")
    return data


def _checked_list(values: Any, path: str, key: str) -> list[Any]:
    if not isinstance(values, list):
        raise ConfigError(f"{path!r}: {key!r} must be a list")
    return values


def saved_splits(folder: str) -> list[str]:
    """The split sub-folder names ``folder/dataset_dict.json`` lists, each checked to stay inside ``folder``.

    Raises:
        ConfigError: unreadable JSON, or a listed name that is not a relative path inside ``folder``.
    """
    path = os.path.join(folder, DICT_JSON)
    splits = _checked_list(_read_object(path).get("splits", []), path, "splits")
    return [check_data_name(s, folder, f"{path!r}, splits[{i}]") for i, s in enumerate(splits)]


def saved_data_files(folder: str) -> list[str]:
    """The Arrow file names ``folder/state.json`` lists, each checked to stay inside ``folder``.

    Raises:
        ConfigError: unreadable JSON, a malformed ``_data_files``, or a name outside ``folder``.
    """
    path = os.path.join(folder, STATE_JSON)
    entries = _checked_list(_read_object(path).get("_data_files", []), path, "_data_files")
    names = []
    for i, entry in enumerate(entries):
        where = f"{path!r}, _data_files[{i}]"
        if not isinstance(entry, dict) or "filename" not in entry:
            raise ConfigError(f"{where} must be an object with a 'filename'")
        names.append(check_data_name(entry["filename"], folder, where))
    return names


def check_saved_folder(folder: str) -> None:
    """Check every name a ``save_to_disk`` folder (a ``Dataset`` or a ``DatasetDict``) lists.

    Raises:
        ConfigError: a listed split folder or data file is not a relative path inside ``folder``.
    """
    if os.path.isfile(os.path.join(folder, DICT_JSON)):
        for split in saved_splits(folder):
            sub = os.path.join(folder, split)
            if os.path.isfile(os.path.join(sub, STATE_JSON)):
                saved_data_files(sub)
    elif os.path.isfile(os.path.join(folder, STATE_JSON)):
        saved_data_files(folder)
