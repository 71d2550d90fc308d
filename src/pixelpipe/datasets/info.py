"""Dataset info: class label names and human-readable descriptions for a classifier's output indices.

Reference: timm ``dataset_info.py`` / ``imagenet_info.py`` (REFERENCE.md §10.3), written anew here.

* :class:`DatasetInfo` is the interface; :class:`CustomDatasetInfo` wraps names (and optional
  descriptions) you pass, including sparse ``{index: name}`` dicts as loaded from a JSON model config;
  :class:`DatasetInfoLabelMapper` turns indices into names or descriptions with a fallback for indices
  that have none, and reports a classifier's :class:`LabelMappingCoverage`.
* :class:`ImageNetInfo` describes the ImageNet subsets by WordNet synset (``n01440764``), lemma
  (``tench, Tinca tinca``) and definition. pixelpipe does not ship that metadata: it reads the text files
  from ``info_dir``, the ``PIXELPIPE_IMAGENET_INFO`` environment variable, or an installed timm's package
  data folder (located on disk; timm is not imported). :func:`infer_imagenet_subset` guesses the subset
  from a model's number of classes.

Example:
    >>> info = CustomDatasetInfo({'0': 'cat', '2': 'dog'}, {'cat': 'a small feline', 'dog': 'a canine'})
    >>> info.num_classes(), info.label_indices(), info.has_label(1)
    (2, (0, 2), False)
    >>> mapper = DatasetInfoLabelMapper(info)
    >>> [mapper(i) for i in range(3)]
    ['a small feline', '<unmapped:1>', 'a canine']
    >>> mapper.coverage(num_classes=2)
    LabelMappingCoverage(mapped=1, missing=1, extra=1)
"""

from __future__ import annotations

import csv
import importlib.util
import operator
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from numbers import Integral
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import ConfigError

__all__ = [
    "INFO_DIR_ENV",
    "CustomDatasetInfo",
    "DatasetInfo",
    "DatasetInfoLabelMapper",
    "ImageNetInfo",
    "LabelMappingCoverage",
    "LabelNames",
    "find_info_file",
    "infer_imagenet_subset",
]

LabelNames = list[str] | tuple[str, ...] | dict[int | str, str]

#: Environment variable naming a folder that holds the ImageNet metadata files.
INFO_DIR_ENV = "PIXELPIPE_IMAGENET_INFO"


class DatasetInfo(ABC):
    """What a classifier's output indices mean: label names and their descriptions.

    Subclasses implement the abstract methods; :meth:`label_indices` and :meth:`has_label` assume dense
    labels ``0 .. num_classes() - 1`` unless overridden.
    """

    @abstractmethod
    def num_classes(self) -> int:
        """The number of labels."""

    @abstractmethod
    def label_names(self) -> Any:
        """The label names (a sequence, or for a sparse dataset the ``{index: name}`` mapping)."""

    def label_indices(self) -> tuple[int, ...]:
        """The classifier indices that have a label name."""
        return tuple(range(self.num_classes()))

    def has_label(self, index: Any) -> bool:
        """Whether classifier index ``index`` (anything ``int()`` accepts) has a label name."""
        return 0 <= int(index) < self.num_classes()

    @abstractmethod
    def label_descriptions(self, detailed: bool = False, as_dict: bool = False) -> Any:
        """The descriptions of all labels, as a list in label order or a ``{name: description}`` dict."""

    @abstractmethod
    def index_to_label_name(self, index: Any) -> str:
        """The label name of classifier index ``index``."""

    @abstractmethod
    def index_to_description(self, index: int, detailed: bool = False) -> str:
        """The description of classifier index ``index``."""

    @abstractmethod
    def label_name_to_description(self, label: str, detailed: bool = False) -> str:
        """The description of label name ``label``."""


def _normalise_index_keys(label_names: Mapping[Any, Any]) -> dict[int, Any]:
    """``{index: name}`` with integer keys; JSON's string keys (``'3'``) become ints."""
    by_index: dict[int, Any] = {}
    for key, name in label_names.items():
        if not isinstance(key, (Integral, str)):
            raise TypeError(
                f"label_names: index keys must be ints or integer strings, got {type(key).__name__}"
            )
        try:
            index = int(key)
        except ValueError:
            raise ValueError(f"label_names: index key {key!r} is not an integer") from None
        if index < 0:
            raise ValueError(f"label_names: index keys must be >= 0, got {index}")
        if index in by_index:
            raise ValueError(f"label_names: index {index} appears twice (keys {key!r} and an earlier one)")
        by_index[index] = name
    return by_index


class CustomDatasetInfo(DatasetInfo):
    """Label names (and optional descriptions) you provide, dense or sparse.

    Args:
        label_names: a non-empty list or tuple of names (index ``i`` is name ``i``), or a non-empty
            ``{index: name}`` dict, possibly sparse, whose keys may be ints or integer strings (as JSON
            object keys always are).
        label_descriptions: optional ``{name: description}``; it must describe every name.

    Raises:
        ValueError: empty or non-container ``label_names``, a key that is not a non-negative integer,
            two keys for the same index, or names missing from ``label_descriptions``.
        TypeError: a key that is neither int nor str, a name that is not a str, or ``label_descriptions``
            that is not a dict.

    Note:
        :meth:`label_names` returns the container as given (string keys and all), :meth:`num_classes` is
        its length (the number of named labels, not the largest index + 1), and
        :meth:`label_descriptions` returns ``label_descriptions`` as given (``None`` if none), whatever its
        arguments: the reference behaves the same.

    Example:
        >>> info = CustomDatasetInfo(['cat', 'dog'])
        >>> info.index_to_label_name(1), info.index_to_description(1), info.label_indices()
        ('dog', 'dog', (0, 1))
        >>> sparse = CustomDatasetInfo({'5': 'cat', 9: 'dog'}, {'cat': 'feline', 'dog': 'canine'})
        >>> sparse.label_indices(), sparse.index_to_description('9'), sparse.has_label(6)
        ((5, 9), 'canine', False)
    """

    def __init__(self, label_names: LabelNames, label_descriptions: dict[str, str] | None = None) -> None:
        super().__init__()
        if not isinstance(label_names, (list, tuple, dict)) or not label_names:
            raise ValueError(
                "label_names must be a non-empty list, tuple or {index: name} dict, "
                f"got {type(label_names).__name__} {label_names!r:.80}"
            )
        self._label_names = label_names
        self._by_index: dict[int, str] | None = None
        if isinstance(label_names, dict):
            self._by_index = _normalise_index_keys(label_names)
            names = list(self._by_index.values())
        else:
            names = list(label_names)
        bad = [n for n in names if not isinstance(n, str)]
        if bad:
            raise TypeError(f"label_names: every label name must be a str, got {bad[:5]!r}")
        if label_descriptions is not None:
            if not isinstance(label_descriptions, dict):
                raise TypeError(
                    "label_descriptions must be a {label name: description} dict, "
                    f"got {type(label_descriptions).__name__}"
                )
            missing = [n for n in names if n not in label_descriptions]
            if missing:
                raise ValueError(f"label_descriptions lacks descriptions for the label names {missing}")
        self._label_descriptions = label_descriptions

    def num_classes(self) -> int:
        """The number of label names given (for a sparse dict, its number of entries)."""
        return len(self._label_names)

    def label_names(self) -> LabelNames:
        """The ``label_names`` container, as given."""
        return self._label_names

    def label_indices(self) -> tuple[int, ...]:
        """The indices that have a name: ``0 .. n - 1``, or a sparse dict's keys as ints, in its order."""
        if self._by_index is not None:
            return tuple(self._by_index)
        return tuple(range(len(self._label_names)))

    def has_label(self, index: Any) -> bool:
        """Whether ``index`` (anything ``int()`` accepts, ``'3'`` included) has a name."""
        index = int(index)
        if self._by_index is not None:
            return index in self._by_index
        return 0 <= index < len(self._label_names)

    def label_descriptions(self, detailed: bool = False, as_dict: bool = False) -> dict[str, str] | None:
        """The ``label_descriptions`` dict as given (``None`` when none was); the arguments are ignored."""
        return self._label_descriptions

    def label_name_to_description(self, label: str, detailed: bool = False) -> str:
        """The description of ``label``, or ``label`` itself when no descriptions were given.

        Raises:
            KeyError: descriptions were given and ``label`` is not one of them.
        """
        if self._label_descriptions:
            return self._label_descriptions[label]
        return label

    def index_to_label_name(self, index: Any) -> str:
        """The name at ``index``.

        Raises:
            KeyError: a sparse dict has no name at ``index``.
            IndexError: ``index`` is outside ``0 .. num_classes() - 1`` of a list or tuple.
        """
        if self._by_index is not None:
            key = int(index)
            if key not in self._by_index:
                raise KeyError(key)
            return self._by_index[key]
        return _dense_lookup(self._label_names, index)

    def index_to_description(self, index: Any, detailed: bool = False) -> str:
        """The description of the label at ``index`` (its name when there are no descriptions)."""
        return self.label_name_to_description(self.index_to_label_name(index), detailed=detailed)


def _dense_lookup(names: Any, index: Any) -> str:
    """``names[index]`` for ``0 <= index < len(names)``; negative indices are out of range."""
    i = operator.index(index)
    if not 0 <= i < len(names):
        raise IndexError(f"index {i} is out of range for a dataset with {len(names)} classes")
    return names[i]


class LabelMappingCoverage(NamedTuple):
    """How a classifier's outputs line up with a dataset's labels (:meth:`DatasetInfoLabelMapper.coverage`).

    Attributes:
        mapped: classifier indices that have a label.
        missing: classifier indices without one.
        extra: labelled indices beyond the classifier's outputs.
    """

    mapped: int
    missing: int
    extra: int


_LABEL_TYPES = ("name", "description", "detail", "detailed")


class DatasetInfoLabelMapper:
    """Map classifier indices to label names or descriptions, with a fallback for unlabelled indices.

    Args:
        dataset_info: the :class:`DatasetInfo` to read labels from.
        label_type: ``'name'``, ``'description'``, or ``'detail'`` / ``'detailed'`` (detailed descriptions).
        fallback_format: ``str.format`` template with an ``{index}`` field, returned for indices without a
            label; ``None``: no fallback, so the dataset info's own error is raised.

    Raises:
        ValueError: an unknown ``label_type``.

    Example:
        >>> mapper = DatasetInfoLabelMapper(CustomDatasetInfo({1: 'dog'}), label_type='name')
        >>> mapper(1), mapper(7)
        ('dog', '<unmapped:7>')
    """

    def __init__(
        self,
        dataset_info: DatasetInfo,
        label_type: str = "description",
        fallback_format: str | None = "<unmapped:{index}>",
    ) -> None:
        if label_type not in _LABEL_TYPES:
            raise ValueError(
                f"label_type must be one of {', '.join(map(repr, _LABEL_TYPES))}, got {label_type!r}"
            )
        self.dataset_info = dataset_info
        self.label_type = label_type
        self.fallback_format = fallback_format

    def __call__(self, index: Any) -> str:
        """The label of classifier index ``index`` (anything ``int()`` accepts, a 0-d tensor included)."""
        index = int(index)
        if self.fallback_format is not None and not self.dataset_info.has_label(index):
            return self.fallback_format.format(index=index)
        if self.label_type == "name":
            return self.dataset_info.index_to_label_name(index)
        detailed = self.label_type in ("detail", "detailed")
        return self.dataset_info.index_to_description(index, detailed=detailed)

    def coverage(self, num_classes: int) -> LabelMappingCoverage:
        """Count the labelled classifier indices ``0 .. num_classes - 1``, the unlabelled ones, and the labels
        beyond ``num_classes``.

        Raises:
            ValueError: ``num_classes`` is negative.
        """
        if num_classes < 0:
            raise ValueError(f"num_classes must be >= 0, got {num_classes}")
        indices = self.dataset_info.label_indices()
        mapped = sum(1 for i in indices if 0 <= i < num_classes)
        return LabelMappingCoverage(mapped=mapped, missing=num_classes - mapped, extra=len(indices) - mapped)


# ---------------------------------------------------------------------------------------------------------
# ImageNet

_NUM_CLASSES_TO_SUBSET = {
    1000: "imagenet-1k",
    11221: "imagenet-21k-miil",  # the MIIL (Alibaba) subset of fall11
    11821: "imagenet-12k",  # timm's 12k subset of fall11
    21841: "imagenet-22k",  # all of fall11
    21842: "imagenet-22k-ms",  # Microsoft's ordering of 22k: the 1k classes first
    21843: "imagenet-21k-goog",  # Google's full ImageNet: fall11 plus two classes
}

# normalised subset key -> file of synsets, one per line in classifier order
_SUBSET_FILES = {
    "imagenet1k": "imagenet_synsets.txt",
    "imagenet12k": "imagenet12k_synsets.txt",
    "imagenet22k": "imagenet22k_synsets.txt",
    "imagenet21k": "imagenet21k_goog_synsets.txt",
    "imagenet21kgoog": "imagenet21k_goog_synsets.txt",
    "imagenet21kmiil": "imagenet21k_miil_synsets.txt",
    "imagenet22kms": "imagenet22k_ms_synsets.txt",
}
_LEMMA_FILE = "imagenet_synset_to_lemma.txt"  # synset <TAB> lemmas
_DEFINITION_FILE = "imagenet_synset_to_definition.txt"  # synset <TAB> definition


def infer_imagenet_subset(model_or_cfg: Any) -> str | None:
    """Guess the ImageNet subset a classifier was trained on from its number of classes.

    Args:
        model_or_cfg: a dict with ``'num_classes'`` (a pretrained config), or a model-like object with a
            ``num_classes`` attribute or, failing that, a ``pretrained_cfg`` (else ``default_cfg``) dict that
            has one.

    Returns:
        ``'imagenet-1k'`` (1000 classes), ``'imagenet-21k-miil'`` (11221), ``'imagenet-12k'`` (11821),
        ``'imagenet-22k'`` (21841), ``'imagenet-22k-ms'`` (21842), ``'imagenet-21k-goog'`` (21843), or
        ``None`` for any other count or none found.

    Example:
        >>> infer_imagenet_subset({'num_classes': 11821})
        'imagenet-12k'
        >>> class Model:
        ...     num_classes = 0
        ...     pretrained_cfg = {'num_classes': 1000}
        >>> infer_imagenet_subset(Model()), infer_imagenet_subset({'num_classes': 10})
        ('imagenet-1k', None)
    """
    if isinstance(model_or_cfg, dict):
        num_classes = model_or_cfg.get("num_classes")
    else:
        num_classes = getattr(model_or_cfg, "num_classes", None)
        if not num_classes:
            cfg = getattr(model_or_cfg, "pretrained_cfg", None)
            if cfg is None:
                cfg = getattr(model_or_cfg, "default_cfg", None)
            num_classes = cfg.get("num_classes") if isinstance(cfg, Mapping) else None
    if not num_classes:
        return None
    try:
        return _NUM_CLASSES_TO_SUBSET.get(num_classes)
    except TypeError:  # unhashable
        return None


def _timm_info_dir() -> Path | None:
    """The ``data/_info`` folder of an installed timm, found on disk without importing timm."""
    try:
        spec = importlib.util.find_spec("timm")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "data" / "_info"
        if candidate.is_dir():
            return candidate
    return None


def find_info_file(name: str, info_dir: str | os.PathLike | None = None, *, param: str = "info_dir") -> Path:
    """Locate metadata file ``name`` (an ImageNet synset list, the ReaL labels JSON, ...).

    Looked for, in order: in ``info_dir`` if given; else in the folder named by the
    ``PIXELPIPE_IMAGENET_INFO`` environment variable if set; else in an installed timm's ``data/_info``
    package data folder. A folder that is named but lacks the file is an error, not a reason to look on.

    Args:
        name: the file name, e.g. ``'imagenet_synsets.txt'``.
        info_dir: a folder holding the file.
        param: the caller's parameter name, for the error message.

    Returns:
        The path of the file.

    Raises:
        FileNotFoundError: the file is in none of those places; the message says what to pass.

    Example:
        >>> import tempfile
        >>> d = tempfile.mkdtemp()
        >>> _ = (Path(d) / 'imagenet_synsets.txt').write_text('n01440764\\n')
        >>> find_info_file('imagenet_synsets.txt', d).name
        'imagenet_synsets.txt'
    """
    if info_dir is not None:
        where, source = Path(os.fspath(info_dir)), f"{param}={os.fspath(info_dir)!r}"
    elif os.environ.get(INFO_DIR_ENV):
        where, source = Path(os.environ[INFO_DIR_ENV]), f"${INFO_DIR_ENV}={os.environ[INFO_DIR_ENV]!r}"
    else:
        found = _timm_info_dir()
        if found is None or not (found / name).is_file():
            raise FileNotFoundError(
                f"cannot find the metadata file {name!r}: pixelpipe does not ship it. Pass {param}= a folder "
                f"holding it, set the {INFO_DIR_ENV} environment variable to such a folder, or install timm "
                "(its package data has the file)"
            )
        where, source = found, "the installed timm's package data"
    path = where / name
    if not path.is_file():
        raise FileNotFoundError(f"{source}: no file {name!r} in {str(where)!r}")
    return path


def _read_tsv_map(path: Path) -> dict[str, str]:
    """``{first column: second column}`` of a tab-separated ``synset <TAB> text`` file."""
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    out: dict[str, str] = {}
    for line, row in enumerate(rows, 1):
        if not row:
            continue
        if len(row) != 2:
            raise ValueError(f"{str(path)!r} line {line}: expected 'synset<TAB>text', got {row!r:.120}")
        out[row[0]] = row[1]
    return out


def _normalise_subset(subset: str) -> str:
    return re.sub(r"[-_\s]", "", subset.lower())


class ImageNetInfo(DatasetInfo):
    """Label names (WordNet synsets) and descriptions of an ImageNet subset.

    A class's name is its synset (``'n01440764'``); its description is the synset's lemmas
    (``'tench, Tinca tinca'``), or with ``detailed=True`` ``'lemmas: definition'``.

    The metadata is read from three text files in one folder: the subset's synset list (one synset per
    line, in classifier order: ``imagenet_synsets.txt`` for 1k, ``imagenet12k_synsets.txt``,
    ``imagenet22k_synsets.txt``, ``imagenet21k_goog_synsets.txt``, ``imagenet21k_miil_synsets.txt``,
    ``imagenet22k_ms_synsets.txt``), ``imagenet_synset_to_lemma.txt`` and
    ``imagenet_synset_to_definition.txt`` (``synset<TAB>text`` per line). pixelpipe does not ship them; see
    ``info_dir``.

    Args:
        subset: ``'imagenet-1k'``, ``'imagenet-12k'``, ``'imagenet-22k'``, ``'imagenet-21k'`` (=
            ``'imagenet-21k-goog'``), ``'imagenet-21k-miil'`` or ``'imagenet-22k-ms'``; case, ``-``, ``_``
            and spaces are ignored (``'ImageNet_1k'`` works).
        info_dir: the folder holding the files. ``None``: the folder named by the
            ``PIXELPIPE_IMAGENET_INFO`` environment variable, else an installed timm's package data.

    Raises:
        ValueError: an unknown ``subset``.
        FileNotFoundError: the files cannot be found.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> _ = (d / 'imagenet_synsets.txt').write_text('n01440764\\nn01443537\\n')
        >>> _ = (d / 'imagenet_synset_to_lemma.txt').write_text(
        ...     'n01440764\\ttench, Tinca tinca\\nn01443537\\tgoldfish, Carassius auratus\\n')
        >>> _ = (d / 'imagenet_synset_to_definition.txt').write_text(
        ...     'n01440764\\tfreshwater dace-like game fish\\nn01443537\\tsmall golden or orange-red fish\\n')
        >>> info = ImageNetInfo('imagenet-1k', info_dir=d)
        >>> info.num_classes(), info.index_to_label_name(1), info.index_to_description(1)
        (2, 'n01443537', 'goldfish, Carassius auratus')
        >>> info.label_name_to_description('n01440764', detailed=True)
        'tench, Tinca tinca: freshwater dace-like game fish'
    """

    def __init__(self, subset: str = "imagenet-1k", *, info_dir: str | os.PathLike | None = None) -> None:
        super().__init__()
        if not isinstance(subset, str) or _normalise_subset(subset) not in _SUBSET_FILES:
            known = "'imagenet-1k', 'imagenet-12k', 'imagenet-22k', 'imagenet-21k', 'imagenet-21k-goog', "
            known += "'imagenet-21k-miil', 'imagenet-22k-ms'"
            raise ConfigError(f"subset: unknown ImageNet subset {subset!r}; known: {known}")
        self.subset = subset
        synset_path = find_info_file(_SUBSET_FILES[_normalise_subset(subset)], info_dir)
        self.info_dir = synset_path.parent
        self._synsets = synset_path.read_text(encoding="utf-8").splitlines()
        self._lemmas = _read_tsv_map(find_info_file(_LEMMA_FILE, self.info_dir))
        self._definitions = _read_tsv_map(find_info_file(_DEFINITION_FILE, self.info_dir))

    def num_classes(self) -> int:
        """The number of classes in the subset."""
        return len(self._synsets)

    def label_names(self) -> list[str]:
        """The synsets, in classifier order."""
        return self._synsets

    def label_descriptions(self, detailed: bool = False, as_dict: bool = False) -> list[str] | dict[str, str]:
        """Every class's description in classifier order, or ``{synset: description}`` with ``as_dict``."""
        if as_dict:
            return {s: self.label_name_to_description(s, detailed=detailed) for s in self._synsets}
        return [self.label_name_to_description(s, detailed=detailed) for s in self._synsets]

    def index_to_label_name(self, index: Any) -> str:
        """The synset at classifier index ``index``.

        Raises:
            IndexError: ``index`` is outside ``0 .. num_classes() - 1``.
        """
        return _dense_lookup(self._synsets, index)

    def index_to_description(self, index: Any, detailed: bool = False) -> str:
        """The description of the class at ``index``."""
        return self.label_name_to_description(self.index_to_label_name(index), detailed=detailed)

    def label_name_to_description(self, label: str, detailed: bool = False) -> str:
        """``'lemmas'`` for synset ``label``, or ``'lemmas: definition'`` with ``detailed``.

        Raises:
            KeyError: ``label`` is not in the metadata files.
        """
        if detailed:
            return f"{self._lemmas[label]}: {self._definitions[label]}"
        return self._lemmas[label]
