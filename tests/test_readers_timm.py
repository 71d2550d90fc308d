"""Differential tests: the same folders and tars through timm's readers (oracle) and ours."""

from __future__ import annotations

import os

import pytest

from _readers_util import make_tar, make_tree, read_all, timm_reader_modules
from pixelpipe.readers import ReaderImageFolder, ReaderImageInTar, load_class_map, natural_key

_ref = timm_reader_modules()
RefFolder = _ref.folder.ReaderImageFolder
RefTar = _ref.tar.ReaderImageInTar
ref_load_class_map = _ref.class_map.load_class_map

FOLDER = [
    "Class1/img1.jpg",
    "class10/IMG_2.JPG",
    "class10/img_10.png",
    "class2/sub/leaf/a.jpeg",
    "class2/b.jpg",
    "class2/b.webp",
    "root_a.jpg",
    "n01440764/n01440764_10026.JPEG",
    "n01440764/n01440764_9.JPEG",
]


def _ours_vs_timm_folder(root, **kw):
    ours = ReaderImageFolder(root, **kw)
    ref = RefFolder(str(root), **kw)
    assert ours.class_to_idx == ref.class_to_idx
    for flags in ({}, {"basename": True}, {"absolute": True}):
        assert ours.filenames(**flags) == ref.filenames(**flags), flags
    assert ours.targets.tolist() == [t for _, t in ref.samples]
    assert list(ours.samples) == [tuple(s) for s in ref.samples]
    return ours


@pytest.mark.parametrize("kw", [{}, {"class_map": {"class2": 1, "Class1": 0}}, {"input_key": ".webp;.jpg"}])
def test_folder_matches_reference(tmp_path, kw):
    _ours_vs_timm_folder(make_tree(tmp_path / "data", FOLDER), **kw)


def test_folder_txt_class_map_matches_reference(tmp_path):
    root = make_tree(tmp_path / "data", FOLDER)
    (root / "classes.txt").write_text("class10\nn01440764\nClass1\n")
    _ours_vs_timm_folder(root, class_map="classes.txt")
    assert load_class_map("classes.txt", root) == ref_load_class_map("classes.txt", str(root))


def _ours_vs_timm_tar(root, **kw):
    ours = ReaderImageInTar(root, **kw)
    ref = RefTar(str(root), **kw)
    assert ours.class_name_to_idx == ref.class_name_to_idx
    assert ours.root_is_tar == ref.root_is_tar
    for flags in ({}, {"basename": True}, {"absolute": True}, {"basename": True, "absolute": True}):
        assert ours.filenames(**flags) == ref.filenames(**flags), flags  # tars: member names, never paths
    assert ours.targets.tolist() == ref.targets.tolist()
    ref_data = []
    for i in range(len(ref)):
        f, t = ref[i]
        ref_data.append((f.read(), int(t)))
    assert read_all(ours) == ref_data
    return ours


def test_single_tar_matches_reference(tmp_path):
    _ours_vs_timm_tar(make_tar(tmp_path / "imagenette.tar", FOLDER))
    _ours_vs_timm_tar(make_tar(tmp_path / "imagenette.tar", FOLDER), class_map={"class10": 0, "leaf": 1})


def test_folder_of_tars_matches_reference(tmp_path):
    root = tmp_path / "shards"
    make_tar(root / "cls10.tar", ["a1.jpg", "a10.jpg"])
    make_tar(root / "Cls2.tar", ["b2.jpg", "deeper/b3.jpg"])
    make_tar(root / "cls1.tar", ["c.png"])
    _ours_vs_timm_tar(root)


def test_tar_of_tars_matches_reference(tmp_path):
    path = make_tar(
        tmp_path / "outer.tar",
        ["loose/o1.jpg"],
        children={"parts/cats.tar": ["c1.jpg", "c10.jpg", "c2.jpg"], "dogs.tar": ["big/d1.jpg"]},
    )
    _ours_vs_timm_tar(path)
    root = tmp_path / "outer_folder"
    make_tar(root / "p.tar", [], children={"q.tar": ["x1.jpg"], "r.tar": ["sub/y1.jpg"]})
    _ours_vs_timm_tar(root)


def test_natural_key_matches_reference():
    ref_key = _ref.misc.natural_key
    names = sorted(os.path.join(*p.split("/")) for p in FOLDER)
    assert sorted(names, key=natural_key) == sorted(names, key=ref_key)
