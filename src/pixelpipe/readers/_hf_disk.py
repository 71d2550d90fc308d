"""The file lists of a local Hugging Face folder, checked before ``datasets`` (or pixelpipe) opens them.

* ``Dataset.save_to_disk`` writes ``state.json``, whose ``_data_files`` name the folder's Arrow files;
* ``DatasetDict.save_to_disk`` writes ``dataset_dict.json``, whose ``splits`` name its split sub-folders;
* a dataset card (the YAML block of ``README.md``, or ``.huggingface.yaml``) may list ``configs`` whose
  ``data_files`` patterns and ``data_dir`` say where the data is.

``datasets`` joins those names to the folder as they are, so a folder that came from somebody else could
make it read any file (``/...``, ``../...``) or fetch a URL. They come with the data, so every name goes
through :func:`pixelpipe.streaming.untrusted.check_data_name` (a relative path, or glob pattern, inside
the folder) before anything is loaded.
"""

from __future__ import annotations

import json
import os
from typing import Any

from ..errors import ConfigError
from ..streaming.untrusted import check_data_name

__all__ = ["check_local_folder", "saved_data_files", "saved_splits"]

STATE_JSON = "state.json"
DICT_JSON = "dataset_dict.json"
CARD_FILES = ("README.md", ".huggingface.yaml")


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


def _card_data(path: str) -> dict[str, Any]:
    """The metadata of a dataset card file, parsed as ``datasets`` parses it (``{}`` without any)."""
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if path.endswith(".md"):
            from huggingface_hub import DatasetCard

            return DatasetCard(text).data.to_dict()
        data = yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as e:
        raise ConfigError(f"cannot read the dataset card {path!r}: {type(e).__name__}: {e}") from e
    return data if isinstance(data, dict) else {}


def _check_patterns(value: Any, folder: str, where: str) -> None:
    """Check each path of a ``data_files`` value: a pattern, a list, ``{split, path}``, split -> patterns."""
    if isinstance(value, str):
        check_data_name(value, folder, where)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_patterns(item, folder, f"{where}[{i}]")
    elif isinstance(value, dict):
        if "path" in value:
            _check_patterns(value["path"], folder, f"{where}.path")
        else:
            for split, patterns in value.items():
                _check_patterns(patterns, folder, f"{where}.{split}")


def _check_card(folder: str) -> None:
    for name in CARD_FILES:
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            continue
        configs = _card_data(path).get("configs")
        for i, cfg in enumerate(configs if isinstance(configs, list) else []):
            if not isinstance(cfg, dict):
                continue
            where = f"{path!r}, configs[{i}]"
            if isinstance(cfg.get("data_dir"), str):
                check_data_name(cfg["data_dir"], folder, f"{where}.data_dir")
            _check_patterns(cfg.get("data_files"), folder, f"{where}.data_files")


def check_local_folder(folder: str) -> None:
    """Check every name a local Hugging Face folder lists (``save_to_disk`` files, dataset card configs).

    Raises:
        ConfigError: a listed split folder, data file, ``data_files`` pattern or ``data_dir`` is not a
            relative path inside ``folder`` (the message names the file and the entry).
    """
    _check_card(folder)
    if os.path.isfile(os.path.join(folder, DICT_JSON)):
        for split in saved_splits(folder):
            sub = os.path.join(folder, split)
            if os.path.isfile(os.path.join(sub, STATE_JSON)):
                saved_data_files(sub)
    elif os.path.isfile(os.path.join(folder, STATE_JSON)):
        saved_data_files(folder)
