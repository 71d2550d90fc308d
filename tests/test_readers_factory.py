"""create_reader routing, class-map loading and the image-extension registry."""

from __future__ import annotations

import json
import pickle
import sys

import pytest

from _readers_util import make_tar, make_tree
from pixelpipe.errors import ConfigError, DatasetNotFoundError, UnknownReaderError
from pixelpipe.readers import (
    ReaderImageFolder,
    ReaderImageInTar,
    add_img_extensions,
    create_reader,
    del_img_extensions,
    get_img_extensions,
    is_img_extension,
    load_class_map,
    set_img_extensions,
)


@pytest.fixture
def restore_extensions():
    saved = get_img_extensions()
    yield
    set_img_extensions(saved)


def test_routes_local_paths(tmp_path):
    folder = make_tree(tmp_path / "f", ["a/1.jpg"])
    assert isinstance(create_reader("", folder, input_key=None, class_map=None), ReaderImageFolder)
    assert isinstance(create_reader("ImageNet", folder), ReaderImageFolder)
    tar = make_tar(tmp_path / "one.TAR", ["a/1.jpg"])
    assert isinstance(create_reader("", tar), ReaderImageInTar)
    shards = tmp_path / "shards"
    make_tar(shards / "a.tar", ["1.jpg"])
    assert isinstance(create_reader("", shards), ReaderImageInTar)  # folder of tars (reference: folder)
    make_tree(shards, ["cls/2.jpg"])  # images present: the folder reader wins
    assert isinstance(create_reader("", shards), ReaderImageFolder)
    with pytest.raises(ConfigError, match="input_key"):
        create_reader("", tar, input_key=".jpg")


def test_route_errors(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        create_reader("", tmp_path / "missing")
    with pytest.raises(ConfigError, match="needs root"):
        create_reader("")
    (tmp_path / "x.zip").write_bytes(b"")
    with pytest.raises(ConfigError, match=r"not a \.tar"):
        create_reader("", tmp_path / "x.zip")
    with pytest.raises(UnknownReaderError, match=r"'hfds'.*'wds'"):
        create_reader("s3/bucket/data", tmp_path)
    with pytest.raises(ConfigError, match="not supported"):
        create_reader("TFDS/cycle_gan/iphone2dslr_flower", tmp_path)
    with pytest.raises(ConfigError, match="create_dataset"):
        create_reader("torch/cifar10", tmp_path)


def test_optional_backends_lazy(monkeypatch, tmp_path):
    calls = {}

    class Fake:
        def __init__(self, **kw):
            calls.update(kw)

    import types

    mod = types.ModuleType("pixelpipe.readers.hfds")
    mod.ReaderHfds = Fake
    monkeypatch.setitem(sys.modules, "pixelpipe.readers.hfds", mod)
    create_reader("HFDS/Org/MixedCase", tmp_path, split="val", additional_features="x", download=None)
    assert calls == {"name": "Org/MixedCase", "root": tmp_path, "split": "val", "additional_features": "x"}
    monkeypatch.setitem(sys.modules, "pixelpipe.readers.wds", None)  # import of that module fails
    with pytest.raises((UnknownReaderError, ImportError)):
        create_reader("wds/shards", tmp_path)


def test_missing_backend_module_is_unknown_reader(monkeypatch, tmp_path):
    import importlib

    real = importlib.import_module

    def fake_import(name, *a, **k):
        if name == "pixelpipe.readers.hfids":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        if name == "pixelpipe.readers.wds":
            raise ModuleNotFoundError("No module named 'webdataset'", name="webdataset")
        return real(name, *a, **k)

    monkeypatch.setattr(importlib, "import_module", fake_import)
    with pytest.raises(UnknownReaderError, match="not available in this version"):
        create_reader("hfids/x", tmp_path)
    with pytest.raises(ImportError, match=r"pixelpipe\[wds\]"):
        create_reader("wds/x", tmp_path)


def test_load_class_map_forms(tmp_path):
    (tmp_path / "m.txt").write_text("cat\n\ndog\n\n")  # a middle blank line is the root class ''
    assert load_class_map("m.txt", root=tmp_path) == {"cat": 0, "": 1, "dog": 2}
    (tmp_path / "m.json").write_text(json.dumps(["b", "a"]))
    assert load_class_map(str(tmp_path / "m.json")) == {"b": 0, "a": 1}
    d = {"x": 3}
    assert load_class_map(d) is d
    with pytest.raises(ConfigError, match="strings"):
        load_class_map({1: 0})
    with pytest.raises(ConfigError, match="int >= 0"):
        load_class_map({"a": "0"})
    (tmp_path / "dup.txt").write_text("a\na\n")
    with pytest.raises(ConfigError, match="listed twice"):
        load_class_map(tmp_path / "dup.txt")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_class_map(tmp_path / "bad.json")
    with pytest.raises(ConfigError, match="unsupported extension"):
        load_class_map("m.csv", root=tmp_path)
    with pytest.raises(DatasetNotFoundError, match=r"'nope\.txt'.*nope\.txt"):
        load_class_map("nope.txt", root=tmp_path)


def test_pickle_class_map_refused(tmp_path):
    pkl = tmp_path / "map.pkl"
    pkl.write_bytes(pickle.dumps({"a": 0}))
    with pytest.raises(ConfigError, match=r"pickle.*refused.*\.txt.*\.json"):
        load_class_map(pkl)
    folder = make_tree(tmp_path / "f", ["a/1.jpg"])
    with pytest.raises(ConfigError, match="refused"):
        create_reader("", folder, class_map=str(pkl))


def test_img_extensions(tmp_path, restore_extensions):
    assert get_img_extensions() == (".png", ".jpg", ".jpeg")
    assert get_img_extensions(as_set=True) == {".png", ".jpg", ".jpeg"}
    assert is_img_extension(".JPG") and not is_img_extension(".webp")
    add_img_extensions([".WEBP", ".png"])
    assert get_img_extensions() == (".png", ".jpg", ".jpeg", ".webp")
    folder = make_tree(tmp_path / "f", ["a/1.webp", "a/2.gif"])
    assert ReaderImageFolder(folder).filenames() == ["a/1.webp"]
    del_img_extensions(".webp")
    set_img_extensions((".gif",))
    assert ReaderImageFolder(folder).filenames() == ["a/2.gif"]
    for bad in ([], ["gif"], [".gif", 3], "g"):
        with pytest.raises(ConfigError):
            set_img_extensions(bad)
    with pytest.raises(ConfigError, match="every image extension"):
        del_img_extensions(".gif")
    assert get_img_extensions() == (".gif",)
