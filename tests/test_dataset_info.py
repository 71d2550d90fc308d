"""Dataset info helpers: find_images_and_targets, DatasetInfo & co., ImageNetInfo, RealLabelsImagenet.

Differential tests run the reference (timm) on the same inputs when it is installed; the rest run without it,
on small generated folders and metadata files.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch

import pixelpipe
from pixelpipe.datasets import info as info_mod
from pixelpipe.errors import DatasetNotFoundError


@pytest.fixture
def timm_data():
    pytest.importorskip("timm")
    import timm.data

    return timm.data


# ---------------------------------------------------------------------------------------------------------
# find_images_and_targets

TREE = [
    "top.jpg",
    "Top2.PNG",
    "readme.txt",
    "Class1/a1.jpg",
    "Class1/a10.jpg",
    "Class1/a2.JPEG",
    "class2/B.png",
    "class10/x.jpg",
    "class10/notes.md",
    "group/class2/deep.jpg",
    "group/Sub3/s.webp",
    "group/Sub3/t.jpg",
    "a/b/c/leaf.png",
    "empty_dir/.keep",
]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    for rel in TREE:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"")
    return root


def _ref_find(timm_data, *args, **kwargs):
    from timm.data.readers.reader_image_folder import find_images_and_targets

    return find_images_and_targets(*args, **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"types": [".png", ".webp"]},
        {"types": (".jpg",)},
        {"class_to_idx": {"class2": 5, "Class1": 0, "": 9, "missing": 3}},
        {"leaf_name_only": False},
        {"leaf_name_only": False, "class_to_idx": {"group_class2": 1, "a_b_c": 0}},
    ],
    ids=["default", "types", "types-tuple", "class-subset", "full-path-labels", "full-path-subset"],
)
@pytest.mark.parametrize("as_path", [False, True], ids=["str", "Path"])
def test_find_images_and_targets_matches_reference(timm_data, tree, kwargs, as_path):
    # The reference labels root files '.' instead of '' when given a Path (it compares the walked str with
    # the Path); pixelpipe gives a Path the same result as its str, so the reference always gets the str.
    ours = pixelpipe.find_images_and_targets(tree if as_path else str(tree), **kwargs)
    ref = _ref_find(timm_data, str(tree), **kwargs)
    assert ours == ref
    assert list(ours[1].items()) == list(ref[1].items())  # same class order too
    if "class_to_idx" in kwargs:
        assert ours[1] is kwargs["class_to_idx"]


def test_find_images_and_targets_trailing_separator_and_unsorted(timm_data, tree):
    folder = str(tree) + os.sep
    ours, ref = pixelpipe.find_images_and_targets(folder), _ref_find(timm_data, folder)
    assert ours == ref
    ours_u = pixelpipe.find_images_and_targets(tree, sort=False)
    ref_u = _ref_find(timm_data, str(tree), sort=False)
    assert sorted(ours_u[0]) == sorted(ref_u[0]) and ours_u[1] == ref_u[1]  # walk order is not compared


def test_find_images_and_targets_labels(tree):
    samples, class_to_idx = pixelpipe.find_images_and_targets(tree)
    assert list(class_to_idx) == ["", "c", "Class1", "class2", "class10", "Sub3"]
    by_name = {os.path.relpath(p, tree): t for p, t in samples}
    assert by_name["top.jpg"] == by_name["Top2.PNG"] == 0
    assert by_name["group/class2/deep.jpg"] == by_name["class2/B.png"] == class_to_idx["class2"]
    assert [os.path.relpath(p, tree) for p, _ in samples][:3] == [
        "a/b/c/leaf.png",
        "Class1/a1.jpg",
        "Class1/a2.JPEG",
    ]
    assert "readme.txt" not in by_name and "group/Sub3/s.webp" not in by_name


def test_find_images_and_targets_types_are_case_insensitive(tree):
    upper = pixelpipe.find_images_and_targets(tree, types=[".PNG"])[0]
    assert upper == pixelpipe.find_images_and_targets(tree, types=[".png"])[0]
    found = [p for p, _ in pixelpipe.find_images_and_targets(tree, types=".webp;.PNG")[0]]
    assert len(found) == 4 and found[2].endswith("s.webp")


def test_find_images_and_targets_errors(tmp_path, tree):
    # nothing found is an empty result, as with the reference; a missing folder is an error
    assert pixelpipe.find_images_and_targets(tmp_path / "data" / "empty_dir") == ([], {})
    assert pixelpipe.find_images_and_targets(tree, class_to_idx={"nothing": 0}) == ([], {"nothing": 0})
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        pixelpipe.find_images_and_targets(tmp_path / "nope")
    with pytest.raises(ValueError, match="folder"):
        pixelpipe.find_images_and_targets(None)
    with pytest.raises(ValueError, match="types"):
        pixelpipe.find_images_and_targets(tree, types=[1])
    with pytest.raises(ValueError, match="class_to_idx"):
        pixelpipe.find_images_and_targets(tree, class_to_idx=["a"])


# ---------------------------------------------------------------------------------------------------------
# CustomDatasetInfo, DatasetInfoLabelMapper, LabelMappingCoverage

LABEL_NAMES = {
    "list": ["cat", "dog", "bird"],
    "tuple": ("cat", "dog"),
    "dict-int": {0: "cat", 1: "dog", 2: "bird"},
    "dict-sparse-json": {"3": "cat", "0": "dog", "10": "bird"},
    "dict-mixed": {5: "cat", "1": "dog"},
}
DESCRIPTIONS = {"cat": "a small feline", "dog": "a loyal canine", "bird": "it flies"}


def _probe(info, indices):
    """Everything a DatasetInfo answers, for comparison."""
    out = {
        "num_classes": info.num_classes(),
        "label_names": info.label_names(),
        "label_indices": info.label_indices(),
        "has_label": [info.has_label(i) for i in indices],
        "descriptions": [info.label_descriptions(d, a) for d in (False, True) for a in (False, True)],
    }
    for i in info.label_indices():
        for key in (i, str(i), np.int64(i)) if isinstance(info.label_names(), dict) else (i, np.int64(i)):
            name = info.index_to_label_name(key)
            out[("name", i, type(key).__name__)] = name
            for detailed in (False, True):
                out[("desc", i, detailed)] = info.index_to_description(key, detailed=detailed)
                out[("label-desc", name, detailed)] = info.label_name_to_description(name, detailed=detailed)
    return out


@pytest.mark.parametrize("with_desc", [False, True], ids=["names", "descriptions"])
@pytest.mark.parametrize("kind", list(LABEL_NAMES))
def test_custom_dataset_info_matches_reference(timm_data, kind, with_desc):
    names = LABEL_NAMES[kind]
    desc = dict(DESCRIPTIONS) if with_desc else None
    ours = pixelpipe.CustomDatasetInfo(names, desc)
    ref = timm_data.CustomDatasetInfo(names, desc)
    indices = [-1, 0, 1, 2, 3, 4, 5, 10, 11, "3", "1"]
    assert _probe(ours, indices) == _probe(ref, indices)
    assert ours.label_names() is names
    assert isinstance(ours, pixelpipe.DatasetInfo)

    for label_type in ("name", "description", "detail", "detailed"):
        for fallback in ("<unmapped:{index}>", "?{index}", None):
            m_ours = pixelpipe.DatasetInfoLabelMapper(ours, label_type, fallback)
            m_ref = timm_data.DatasetInfoLabelMapper(ref, label_type, fallback)
            usable = indices if fallback is not None else list(ref.label_indices())
            assert [m_ours(i) for i in usable] == [m_ref(i) for i in usable]
            first = ref.label_indices()[0]
            assert m_ours(torch.tensor(first)) == m_ref(torch.tensor(first))
    mapper_ours, mapper_ref = pixelpipe.DatasetInfoLabelMapper(ours), timm_data.DatasetInfoLabelMapper(ref)
    for n in (0, 1, 2, 3, 4, 11, 1000):
        cov = mapper_ours.coverage(n)
        assert cov == mapper_ref.coverage(n) and tuple(cov) == tuple(mapper_ref.coverage(n))
        assert isinstance(cov, pixelpipe.LabelMappingCoverage)
        assert cov._asdict() == mapper_ref.coverage(n)._asdict()


BAD_CONSTRUCTIONS = [
    ([], None),
    ({}, None),
    ("cat", None),
    (None, None),
    ({"x": "cat"}, None),
    ({-1: "cat"}, None),
    ({1.5: "cat"}, None),
    ({1: "cat", "1": "dog"}, None),
    (["cat", 3], None),
    ({0: None}, None),
    (["cat", "dog"], {"cat": "feline"}),
    (["cat"], [("cat", "feline")]),
]


@pytest.mark.parametrize(
    "names, desc", BAD_CONSTRUCTIONS, ids=[str(i) for i in range(len(BAD_CONSTRUCTIONS))]
)
def test_custom_dataset_info_errors_match_reference(timm_data, names, desc):
    with pytest.raises((ValueError, TypeError)) as ref_err:
        timm_data.CustomDatasetInfo(names, desc)
    with pytest.raises(ref_err.type):
        pixelpipe.CustomDatasetInfo(names, desc)


def test_custom_dataset_info_lookup_errors():
    dense = pixelpipe.CustomDatasetInfo(["cat", "dog"])
    with pytest.raises(IndexError, match="out of range"):
        dense.index_to_label_name(2)
    with pytest.raises(IndexError):
        dense.index_to_label_name(-1)  # not "from the end"
    sparse = pixelpipe.CustomDatasetInfo({"4": "cat"})
    with pytest.raises(KeyError):
        sparse.index_to_label_name(0)
    described = pixelpipe.CustomDatasetInfo(["cat"], {"cat": "feline"})
    with pytest.raises(KeyError):
        described.label_name_to_description("dog")
    assert pixelpipe.DatasetInfoLabelMapper(dense, fallback_format="n/a")(7) == "n/a"


def test_coverage_tuple_matches_reference(timm_data):
    assert pixelpipe.LabelMappingCoverage._fields == timm_data.LabelMappingCoverage._fields
    assert pixelpipe.LabelMappingCoverage(1, 2, 3) == timm_data.LabelMappingCoverage(1, 2, 3)


def test_dataset_info_methods_match_reference(timm_data):
    def public(cls):
        return {n for n in dir(cls) if not n.startswith("_")}

    for name in ("DatasetInfo", "CustomDatasetInfo", "ImageNetInfo", "DatasetInfoLabelMapper"):
        ref_cls, our_cls = getattr(timm_data, name), getattr(pixelpipe, name)
        assert public(ref_cls) <= public(our_cls), name
    assert pixelpipe.DatasetInfo.__abstractmethods__ == timm_data.DatasetInfo.__abstractmethods__


def test_mapper_errors_match_reference(timm_data):
    info = pixelpipe.CustomDatasetInfo(["cat"])
    with pytest.raises(ValueError, match="label_type"):
        pixelpipe.DatasetInfoLabelMapper(info, label_type="names")
    with pytest.raises(ValueError):
        timm_data.DatasetInfoLabelMapper(timm_data.CustomDatasetInfo(["cat"]), label_type="names")
    with pytest.raises(ValueError, match="num_classes"):
        pixelpipe.DatasetInfoLabelMapper(info).coverage(-1)


def test_dataset_info_is_abstract():
    with pytest.raises(TypeError):
        pixelpipe.DatasetInfo()

    class Minimal(pixelpipe.DatasetInfo):
        def num_classes(self):
            return 2

        def label_names(self):
            return ["a", "b"]

        def label_descriptions(self, detailed=False, as_dict=False):
            return ["A", "B"]

        def index_to_label_name(self, index):
            return ["a", "b"][index]

        def index_to_description(self, index, detailed=False):
            return ["A", "B"][index]

        def label_name_to_description(self, label, detailed=False):
            return label.upper()

    m = Minimal()
    assert m.label_indices() == (0, 1) and m.has_label("1") and not m.has_label(2)
    assert pixelpipe.DatasetInfoLabelMapper(m)(1) == "B"
    assert pixelpipe.DatasetInfoLabelMapper(m).coverage(3) == (2, 1, 0)


# ---------------------------------------------------------------------------------------------------------
# infer_imagenet_subset


class _Model:
    def __init__(self, **attrs):
        self.__dict__.update(attrs)


SUBSET_CASES = [
    {"num_classes": 1000},
    {"num_classes": 11221},
    {"num_classes": 11821},
    {"num_classes": 21841},
    {"num_classes": 21842},
    {"num_classes": 21843},
    {"num_classes": 10},
    {"num_classes": 0},
    {"num_classes": None},
    {},
    {"num_classes": 1000.0},
    {"num_classes": np.int64(21841)},
    _Model(num_classes=1000),
    _Model(num_classes=0, pretrained_cfg={"num_classes": 11821}),
    _Model(pretrained_cfg={"num_classes": 21843}),
    _Model(num_classes=5, pretrained_cfg={"num_classes": 1000}),
    _Model(),
]


@pytest.mark.parametrize("case", SUBSET_CASES, ids=[str(i) for i in range(len(SUBSET_CASES))])
def test_infer_imagenet_subset_matches_reference(timm_data, case):
    assert pixelpipe.infer_imagenet_subset(case) == timm_data.infer_imagenet_subset(case)


def test_infer_imagenet_subset_default_cfg_and_none():
    assert pixelpipe.infer_imagenet_subset(_Model(default_cfg={"num_classes": 21842})) == "imagenet-22k-ms"
    assert pixelpipe.infer_imagenet_subset(_Model(pretrained_cfg=None, num_classes=None)) is None
    assert pixelpipe.infer_imagenet_subset({"num_classes": [1000]}) is None


# ---------------------------------------------------------------------------------------------------------
# ImageNetInfo

FAKE_SYNSETS = ["n00000003", "n00000001", "n00000002"]
FAKE_LEMMAS = {"n00000001": "tench, Tinca tinca", "n00000002": "goldfish", "n00000003": "shark"}
FAKE_DEFS = {"n00000001": "a fish", "n00000002": 'a small fish "golden"', "n00000003": "big, with teeth"}


def _write_fake_info(folder: Path, synset_file: str = "imagenet_synsets.txt") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / synset_file).write_text("\n".join(FAKE_SYNSETS) + "\n")
    extra = {"n00000009": "not in the subset"}
    (folder / "imagenet_synset_to_lemma.txt").write_text(
        "".join(f"{k}\t{v}\n" for k, v in {**FAKE_LEMMAS, **extra}.items())
    )
    (folder / "imagenet_synset_to_definition.txt").write_text(
        "".join(f"{k}\t{v}\n" for k, v in {**FAKE_DEFS, **extra}.items())
    )
    return folder


@pytest.fixture
def no_timm_info(monkeypatch):
    """Hide the environment variable and an installed timm's data, as on a machine without either."""
    monkeypatch.delenv(info_mod.INFO_DIR_ENV, raising=False)
    monkeypatch.setattr(info_mod, "_timm_info_dir", lambda: None)


def test_imagenet_info_from_info_dir(tmp_path, no_timm_info):
    d = _write_fake_info(tmp_path / "meta")
    info = pixelpipe.ImageNetInfo(info_dir=d)
    assert info.num_classes() == 3 and info.label_names() == FAKE_SYNSETS
    assert info.label_indices() == (0, 1, 2) and info.has_label(2) and not info.has_label(3)
    assert info.index_to_label_name(1) == "n00000001"
    assert info.index_to_description(0) == "shark"
    assert info.index_to_description(1, detailed=True) == "tench, Tinca tinca: a fish"
    assert info.label_name_to_description("n00000002", detailed=True) == 'goldfish: a small fish "golden"'
    assert info.label_descriptions() == ["shark", "tench, Tinca tinca", "goldfish"]
    assert info.label_descriptions(detailed=True, as_dict=True) == {
        s: f"{FAKE_LEMMAS[s]}: {FAKE_DEFS[s]}" for s in FAKE_SYNSETS
    }
    with pytest.raises(IndexError, match="out of range"):
        info.index_to_label_name(3)
    mapper = pixelpipe.DatasetInfoLabelMapper(info, "detailed")
    assert mapper(2) == 'goldfish: a small fish "golden"' and mapper(5) == "<unmapped:5>"
    assert mapper.coverage(5) == (3, 2, 0)


def test_imagenet_info_subset_names_and_env(tmp_path, no_timm_info, monkeypatch):
    d = _write_fake_info(tmp_path / "meta", "imagenet22k_ms_synsets.txt")
    (d / "imagenet21k_goog_synsets.txt").write_text("n00000002\n")
    monkeypatch.setenv(info_mod.INFO_DIR_ENV, str(d))
    assert pixelpipe.ImageNetInfo("ImageNet_22k-MS").num_classes() == 3
    assert pixelpipe.ImageNetInfo("imagenet 21k").label_names() == ["n00000002"]
    assert pixelpipe.ImageNetInfo("imagenet21k-goog").info_dir == d
    with pytest.raises(FileNotFoundError, match=r"imagenet_synsets\.txt"):
        pixelpipe.ImageNetInfo()  # the env folder lacks the 1k list: an error, not a silent fallback


def test_imagenet_info_errors(tmp_path, no_timm_info):
    with pytest.raises(ValueError, match="unknown ImageNet subset 'imagenet-5k'"):
        pixelpipe.ImageNetInfo("imagenet-5k")
    with pytest.raises(FileNotFoundError, match=r"info_dir=.*PIXELPIPE_IMAGENET_INFO.*timm"):
        pixelpipe.ImageNetInfo()
    with pytest.raises(FileNotFoundError, match=r"no file 'imagenet_synsets\.txt'"):
        pixelpipe.ImageNetInfo(info_dir=tmp_path)
    bad = _write_fake_info(tmp_path / "bad")
    (bad / "imagenet_synset_to_lemma.txt").write_text("n00000001\tfish\textra\n")
    with pytest.raises(ValueError, match="line 1"):
        pixelpipe.ImageNetInfo(info_dir=bad)


def test_imagenet_info_does_not_import_timm(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys, pixelpipe\n"
        "try:\n    pixelpipe.ImageNetInfo()\nexcept FileNotFoundError:\n    pass\n"
        "assert not [m for m in sys.modules if m == 'timm' or m.startswith('timm.')], 'timm imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_imagenet_info_matches_reference(timm_data, monkeypatch):
    monkeypatch.delenv(info_mod.INFO_DIR_ENV, raising=False)
    ours, ref = pixelpipe.ImageNetInfo("imagenet-1k"), timm_data.ImageNetInfo("imagenet-1k")
    assert ours.num_classes() == ref.num_classes() == 1000
    assert ours.label_names() == ref.label_names()
    assert ours.label_indices() == ref.label_indices()
    for detailed in (False, True):
        for as_dict in (False, True):
            assert ours.label_descriptions(detailed, as_dict) == ref.label_descriptions(detailed, as_dict)
        assert [ours.index_to_description(i, detailed) for i in range(1000)] == [
            ref.index_to_description(i, detailed) for i in range(1000)
        ]
        for s in ref.label_names()[::97]:
            assert ours.label_name_to_description(s, detailed) == ref.label_name_to_description(s, detailed)
    m_ours = pixelpipe.DatasetInfoLabelMapper(ours, "detail")
    m_ref = timm_data.DatasetInfoLabelMapper(ref, "detail")
    assert [m_ours(i) for i in (0, 999, 1000, -1)] == [m_ref(i) for i in (0, 999, 1000, -1)]
    assert m_ours.coverage(1001) == m_ref.coverage(1001)


@pytest.mark.parametrize("subset", ["imagenet-12k", "imagenet-21k", "imagenet-21k-miil", "imagenet22k_ms"])
def test_imagenet_info_subsets_match_reference(timm_data, subset, monkeypatch):
    monkeypatch.delenv(info_mod.INFO_DIR_ENV, raising=False)
    ours, ref = pixelpipe.ImageNetInfo(subset), timm_data.ImageNetInfo(subset)
    assert ours.label_names() == ref.label_names()
    assert ours.index_to_description(7, detailed=True) == ref.index_to_description(7, detailed=True)
    assert pixelpipe.infer_imagenet_subset({"num_classes": ours.num_classes()}) is not None


# ---------------------------------------------------------------------------------------------------------
# RealLabelsImagenet


def _real_setup(tmp_path: Path, n: int = 37, num_classes: int = 12, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = []
    for i in range(n):
        count = 0 if i % 5 == 2 else int(rng.integers(1, 4))
        labels.append(sorted(rng.choice(num_classes, size=count, replace=False).tolist()))
    path = tmp_path / "real.json"
    path.write_text(json.dumps(labels))
    filenames = [str(tmp_path / "val" / f"ILSVRC2012_val_{i + 1:08d}.JPEG") for i in range(n)]
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, num_classes, generator=gen)
    logits[3] = logits[0]  # exact ties inside one batch row set
    logits[4, :] = 0.5  # all classes tied
    return path, filenames, logits, labels


@pytest.mark.parametrize("topk", [(1, 5), (1,), (3, 1, 2), [2, 5]])
def test_real_labels_matches_reference(timm_data, tmp_path, topk):
    path, filenames, logits, _ = _real_setup(tmp_path)
    ours = pixelpipe.RealLabelsImagenet(filenames, real_json=path, topk=topk)
    ref = timm_data.RealLabelsImagenet(filenames, real_json=str(path), topk=topk)
    assert ours.real_labels == ref.real_labels
    for lo, hi in ((0, 8), (8, 9), (9, 25), (25, 37)):
        ours.add_result(logits[lo:hi])
        ref.add_result(logits[lo:hi])
        assert ours.sample_idx == ref.sample_idx == hi
        assert ours.is_correct == {k: [bool(x) for x in v] for k, v in ref.is_correct.items()}
        assert ours.get_accuracy() == ref.get_accuracy()
        for k in topk:
            assert ours.get_accuracy(k) == ref.get_accuracy(k)
            assert isinstance(ours.get_accuracy(k), float)


def test_real_labels_hand_checked(tmp_path):
    path = tmp_path / "real.json"
    path.write_text(json.dumps([[2], [], [0, 1], [1]]))
    names = [f"ILSVRC2012_val_{i:08d}.JPEG" for i in range(1, 5)]
    real = pixelpipe.RealLabelsImagenet(names, real_json=path, topk=(1, 2))
    assert math.isnan(real.get_accuracy(1))
    real.add_result(np.array([[0.1, 0.5, 0.4], [1.0, 0.0, 0.0]], dtype=np.float32))  # arrays work too
    real.add_result(torch.tensor([[0.0, 0.2, 0.9], [0.3, 0.6, 0.1]]))
    assert real.is_correct == {1: [False, False, True], 2: [True, True, True]}
    assert real.get_accuracy() == {1: pytest.approx(100 / 3), 2: 100.0}
    with pytest.raises(KeyError, match="topk"):
        real.get_accuracy(5)
    with pytest.raises(ValueError, match="runs past"):
        real.add_result(torch.zeros(1, 3))


def test_real_labels_errors(tmp_path, no_timm_info):
    path = tmp_path / "real.json"
    path.write_text(json.dumps([[1], [2]]))
    names = ["ILSVRC2012_val_00000001.JPEG", "ILSVRC2012_val_00000002.JPEG"]
    with pytest.raises(ValueError, match="filenames has 1 entries"):
        pixelpipe.RealLabelsImagenet(names[:1], real_json=path)
    with pytest.raises(ValueError, match="topk"):
        pixelpipe.RealLabelsImagenet(names, real_json=path, topk=())
    with pytest.raises(FileNotFoundError, match=r"info_dir=.*real_json="):
        pixelpipe.RealLabelsImagenet(names)
    real = pixelpipe.RealLabelsImagenet(names, real_json=path, topk=(1, 5))
    with pytest.raises(ValueError, match="fewer than the largest k"):
        real.add_result(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="shape"):
        real.add_result(torch.zeros(6))
    odd = pixelpipe.RealLabelsImagenet(["a.jpg", "b.jpg"], real_json=path, topk=(1,))
    with pytest.raises(KeyError, match=r"a\.jpg"):
        odd.add_result(torch.zeros(1, 3))


def test_real_labels_found_via_info_dir_and_env(tmp_path, no_timm_info, monkeypatch):
    d = tmp_path / "meta"
    d.mkdir()
    (d / "imagenet_real_labels.json").write_text(json.dumps([[0], []]))
    names = ["ILSVRC2012_val_00000001.JPEG", "ILSVRC2012_val_00000002.JPEG"]
    real = pixelpipe.RealLabelsImagenet(names, info_dir=d)
    real.add_result(torch.tensor([[2.0, 1.0, 0, 0, 0], [0.0, 1.0, 0, 0, 0]]))
    assert real.get_accuracy(k=1) == 100.0 and real.is_correct[1] == [True]
    monkeypatch.setenv(info_mod.INFO_DIR_ENV, str(d))
    assert pixelpipe.RealLabelsImagenet(names).real_labels == real.real_labels


def test_real_labels_packaged_json_matches_reference(timm_data, monkeypatch):
    monkeypatch.delenv(info_mod.INFO_DIR_ENV, raising=False)
    names = [f"ILSVRC2012_val_{i:08d}.JPEG" for i in range(1, 50001)]
    ours, ref = pixelpipe.RealLabelsImagenet(names), timm_data.RealLabelsImagenet(names)
    assert ours.real_labels == ref.real_labels
