"""One archive holding split folders (the imagenette.tar layout): create_dataset keeps the asked split."""

from __future__ import annotations

import io
import tarfile

import pytest

from conftest import encode, make_image
from pixelpipe import create_dataset
from pixelpipe.readers import ReaderImageInTar


def _write(path, names):
    with tarfile.open(path, "w") as tf:
        for i, name in enumerate(names):
            data = encode(make_image(i, (20, 16)))
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))


@pytest.fixture
def imagenette(tmp_path):
    path = tmp_path / "imagenette.tar"
    names = [f"imagenette2/train/{c}/{c}_{i}.JPEG" for c in ("n01", "n02", "n03") for i in range(3)]
    names += [f"imagenette2/val/{c}/{c}_v{i}.JPEG" for c in ("n01", "n02", "n03") for i in range(2)]
    _write(path, names)
    return path


def test_create_dataset_selects_split_inside_one_tar(imagenette):
    train = create_dataset("", root=str(imagenette), split="train")
    val = create_dataset("", root=str(imagenette), split="validation")
    assert len(train) == 9 and len(val) == 6
    assert all("/train/" in n for n in train.filenames())
    assert all("/val/" in n for n in val.filenames())
    assert train.reader.class_to_idx == val.reader.class_to_idx == {"n01": 0, "n02": 1, "n03": 2}
    assert train.reader.split_folder == "train" and val.reader.split_folder == "val"
    img, target = val[5]
    assert img.size == (20, 16) and target == 2


def test_no_split_keeps_everything_like_the_reference(imagenette):
    reader = ReaderImageInTar(str(imagenette))
    assert len(reader) == 15 and reader.split_folder is None
    everything = create_dataset("", root=str(imagenette), split="train", search_split=False)
    assert len(everything) == 15


def test_tar_without_split_folders_falls_back_to_all(tmp_path):
    path = tmp_path / "plain.tar"
    _write(path, ["cat/1.jpg", "dog/2.jpg"])
    ds = create_dataset("", root=str(path), split="validation")
    assert len(ds) == 2 and ds.reader.split_folder is None


def test_folder_of_split_tars(tmp_path):
    (tmp_path / "data").mkdir()
    _write(tmp_path / "data" / "train.tar", ["cat/1.jpg", "dog/2.jpg", "dog/3.jpg"])
    _write(tmp_path / "data" / "val.tar", ["cat/4.jpg", "dog/5.jpg"])
    reader = ReaderImageInTar(str(tmp_path / "data"), split="validation")
    assert len(reader) == 2 and reader.split_folder == "val"
    assert reader.class_to_idx == {"cat": 0, "dog": 1}
