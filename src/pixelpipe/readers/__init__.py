"""Readers: where samples are (files, archives, shards) and their labels. Datasets decode."""

from .base import Reader
from .class_map import load_class_map
from .factory import create_reader
from .filename_label import ReaderFilenameLabel
from .folder import ReaderImageFolder
from .img_extensions import (
    add_img_extensions,
    del_img_extensions,
    get_img_extensions,
    is_img_extension,
    set_img_extensions,
)
from .index import SampleIndex, StringArray, natural_key
from .tar import ReaderImageInTar

__all__ = [
    "Reader",
    "ReaderFilenameLabel",
    "ReaderImageFolder",
    "ReaderImageInTar",
    "SampleIndex",
    "StringArray",
    "add_img_extensions",
    "create_reader",
    "del_img_extensions",
    "get_img_extensions",
    "is_img_extension",
    "load_class_map",
    "natural_key",
    "set_img_extensions",
]
