"""ReaderImageFolder and ReaderFilenameLabel: layouts, class maps, extension filters, errors."""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest

from _readers_util import make_tree, payload, read_all
from pixelpipe.errors import ConfigError, DatasetNotFoundError
from pixelpipe.readers import Reader, ReaderFilenameLabel, ReaderImageFolder

FOLDER = [
    "class10/b.jpg",
    "class10/a10.jpg",
    "class10/a2.jpg",
    "Class1/x.png",
    "class2/deep/nested/y.jpeg",  # leaf folder name is the class: 'nested'
    "class2/z.JPG",
    "root.jpg",
    "class2/notes.txt",
    "class2/img.webp",
]


@pytest.fixture
def folder(tmp_path):
    return make_tree(tmp_path / "data", FOLDER)


def test_classes_natural_sort_and_root_class(folder):
    r = ReaderImageFolder(folder)
    assert r.class_to_idx == {"": 0, "Class1": 1, "class2": 2, "class10": 3, "nested": 4}
    assert r.filenames() == [
        "Class1/x.png",
        "class2/deep/nested/y.jpeg",
        "class2/z.JPG",
        "class10/a2.jpg",
        "class10/a10.jpg",
        "class10/b.jpg",
        "root.jpg",
    ]
    assert r.targets.dtype == np.int64
    assert r.targets.tolist() == [1, 4, 2, 3, 3, 3, 0]
    assert [(b, t) for b, t in read_all(r)] == [(payload(n), t) for n, t in zip(r.filenames(), r.targets)]


def test_samples_and_filename_forms(folder):
    r = ReaderImageFolder(str(folder))
    path, target = r.samples[0]
    assert path == os.path.join(str(folder), "Class1/x.png") and target == 1
    assert len(r.samples) == len(r) == 7
    assert list(r.samples) == [
        (os.path.join(str(folder), n), int(t)) for n, t in zip(r.filenames(), r.targets)
    ]
    assert r.filename(1, basename=True) == "y.jpeg"
    assert r.filename(1, absolute=True) == os.path.abspath(folder / "class2/deep/nested/y.jpeg")


@pytest.mark.parametrize("form", ["txt", "json_obj", "json_list", "dict"])
def test_class_map_drops_unmapped(folder, tmp_path, form):
    names = ["class10", "Class1"]
    if form == "txt":
        (folder / "map.txt").write_text("\n".join(names) + "\n\n")
        cm = "map.txt"  # relative: found under root
    elif form == "json_obj":
        cm = tmp_path / "map.json"
        cm.write_text(json.dumps({n: i for i, n in enumerate(names)}))
    elif form == "json_list":
        cm = tmp_path / "map.json"
        cm.write_text(json.dumps(names))
    else:
        cm = {n: i for i, n in enumerate(names)}
    r = ReaderImageFolder(folder, class_map=cm)
    assert r.class_to_idx == {"class10": 0, "Class1": 1}
    assert r.filenames() == ["Class1/x.png", "class10/a2.jpg", "class10/a10.jpg", "class10/b.jpg"]
    assert r.targets.tolist() == [1, 0, 0, 0]


def test_input_key_extension_filter(folder):
    r = ReaderImageFolder(folder, input_key=".webp;.TXT")
    assert r.filenames() == ["class2/img.webp", "class2/notes.txt"]
    with pytest.raises(ConfigError, match="input_key"):
        ReaderImageFolder(folder, input_key="image")


def test_missing_and_empty_root(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        ReaderImageFolder(tmp_path / "nope")
    make_tree(tmp_path / "empty", ["a/readme.txt"])
    with pytest.raises(DatasetNotFoundError, match=r"\.png, \.jpg, \.jpeg"):
        ReaderImageFolder(tmp_path / "empty")
    with pytest.raises(DatasetNotFoundError, match="class map"):
        ReaderImageFolder(make_tree(tmp_path / "d", ["a/1.jpg"]), class_map={"b": 0})


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlinked_folders_followed_but_loops_stop(tmp_path):
    make_tree(tmp_path / "elsewhere", ["cats/1.jpg"])
    root = make_tree(tmp_path / "data", ["dogs/1.jpg"])
    os.symlink(tmp_path / "elsewhere" / "cats", root / "cats")
    os.symlink(root, root / "dogs" / "loop")  # a link back to an ancestor
    r = ReaderImageFolder(root)
    assert r.filenames() == ["cats/1.jpg", "dogs/1.jpg"]


def test_pickles_and_reads_after(folder):
    r = pickle.loads(pickle.dumps(ReaderImageFolder(folder)))
    assert read_all(r)[0] == (payload("Class1/x.png"), 1)


def test_filename_label_regex_callable_and_class_map(tmp_path):
    root = make_tree(
        tmp_path / "pets",
        [
            "Abyssinian_12.jpg",
            "Abyssinian_2.jpg",
            "american_bulldog_3.jpg",
            "beagle_1.png",
            "sub/beagle_9.jpg",
        ],
    )
    r = ReaderFilenameLabel(root)
    assert r.class_to_idx == {"Abyssinian": 0, "american_bulldog": 1, "beagle": 2}
    assert r.filenames() == [
        "Abyssinian_2.jpg",
        "Abyssinian_12.jpg",
        "american_bulldog_3.jpg",
        "beagle_1.png",
    ]
    assert read_all(r)[2] == (payload("american_bulldog_3.jpg"), 1)
    rec = ReaderFilenameLabel(root, recursive=True, label=r"^(?P<label>[A-Za-z]+)", class_map={"beagle": 5})
    assert rec.filenames() == ["beagle_1.png", "sub/beagle_9.jpg"] and rec.targets.tolist() == [5, 5]
    fn = ReaderFilenameLabel(root, label=lambda stem: stem.split("_")[0].upper())
    assert fn.class_to_idx == {"ABYSSINIAN": 0, "AMERICAN": 1, "BEAGLE": 2}


def test_filename_label_mismatch(tmp_path, caplog):
    root = make_tree(tmp_path / "pets", ["cat_1.jpg", "README.jpg"])
    with pytest.raises(ConfigError, match=r"README\.jpg.*\^\(\.\*\)_"):
        ReaderFilenameLabel(root)
    r = ReaderFilenameLabel(root, on_mismatch="skip")
    assert r.num_skipped == 1 and r.filenames() == ["cat_1.jpg"]
    assert "skipped 1 file" in caplog.text
    with pytest.raises(ConfigError, match="regular expression"):
        ReaderFilenameLabel(root, label="(")


def test_user_reader_subclass_through_base_api(tmp_path):
    root = make_tree(tmp_path / "d", ["x_1.jpg", "y_1.jpg"])

    class ListReader(Reader):
        def __init__(self, files):
            self.files = files

        def __len__(self):
            return len(self.files)

        def __getitem__(self, i):
            return open(self.files[i], "rb"), i

        def _filename(self, i, basename=False, absolute=False):
            return os.path.basename(self.files[i]) if basename else self.files[i]

    r = ListReader(sorted(str(p) for p in root.iterdir()))
    assert r.filenames(basename=True) == ["x_1.jpg", "y_1.jpg"] and r.filename(1, basename=True) == "y_1.jpg"
    f, t = r[1]
    with f:
        assert (f.read(), t) == (payload("y_1.jpg"), 1)
