"""create_dataset: folder / tar routing, split search, torchvision datasets from local files, errors, and a
differential check against the reference library."""

from __future__ import annotations

import io
import os
import struct
import tarfile

import numpy as np
import pytest
from PIL import Image

import pixelpipe.datasets
from conftest import encode, make_image
from pixelpipe.datasets import ImageDataset
from pixelpipe.errors import ConfigError, DatasetNotFoundError, UnknownReaderError
from pixelpipe.factories import create_dataset, find_split_root
from pixelpipe.readers import Reader

CLASSES = ["c1", "c2", "c10", "Dog"]


def write_folder(root, classes=CLASSES, per_class=2, fmt="PNG", ext=".png"):
    for ci, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for k in range(per_class):
            make_image(ci * 10 + k, (20, 16)).save(root / name / f"img{k}{ext}", format=fmt)
    return root


# --------------------------------------------------------------------------------------------------------
# split search


@pytest.mark.parametrize(
    ("dirs", "split", "expected"),
    [
        (["train", "validation"], "validation", "validation"),
        (["train", "val", "valid"], "validation", "val"),
        (["train", "valid", "eval"], "validation", "valid"),
        (["train", "evaluation"], "val", "evaluation"),
        (["training", "val"], "train", "training"),
        (["train", "training"], "training", "training"),
        (["train"], "train[:50%]", "train"),
        (["val"], "validation[10:20]", "val"),
        (["test"], "test", "test"),
        (["train"], "validation", ""),
        (["val"], "train", ""),
        ([], "custom", ""),
    ],
)
def test_find_split_root(tmp_path, dirs, split, expected):
    for d in dirs:
        (tmp_path / d).mkdir()
    got = find_split_root(tmp_path, split)
    assert got == (os.path.join(str(tmp_path), expected) if expected else str(tmp_path))


def test_folder_dataset_with_split_search(tmp_path):
    write_folder(tmp_path / "train", per_class=2)
    write_folder(tmp_path / "val", classes=CLASSES[:2], per_class=1)
    ds = create_dataset("", root=tmp_path)  # default split 'validation' finds 'val'
    assert isinstance(ds, ImageDataset) and len(ds) == 2
    assert len(create_dataset("", root=tmp_path, split="train")) == 8
    assert len(create_dataset("", root=str(tmp_path), split="training")) == 8
    img, target = create_dataset("", root=tmp_path, split="train")[0]
    assert isinstance(img, Image.Image) and target == 0
    # search disabled: both splits are read from the root
    assert len(create_dataset("", root=tmp_path, split="train", search_split=False)) == 10


def test_folder_kwargs_and_class_map(tmp_path):
    write_folder(tmp_path)
    ds = create_dataset("", root=tmp_path, class_map={"c2": 0, "Dog": 1}, load_bytes=True, input_key=None)
    assert len(ds) == 4 and isinstance(ds[0][0], bytes)
    assert create_dataset("", root=tmp_path, input_img_mode="L")[0][0].mode == "L"
    assert create_dataset("", root=tmp_path, on_error="skip").on_error == "skip"


def test_tar_dataset(tmp_path):
    src = write_folder(tmp_path / "src", per_class=1)
    tar_path = tmp_path / "data.tar"
    with tarfile.open(tar_path, "w") as tf:
        for name in CLASSES:
            tf.add(src / name / "img0.png", arcname=f"{name}/img0.png")
    ds = create_dataset("", root=tar_path, split="train")
    assert len(ds) == 4
    folder = create_dataset("", root=src)
    for i in range(4):
        img, target = ds[i]
        j = folder.filenames().index(ds.filename(i))
        assert target == folder[j][1]
        np.testing.assert_array_equal(np.asarray(img), np.asarray(folder[j][0]))


# --------------------------------------------------------------------------------------------------------
# torchvision datasets from local files


def _idx_images(arr: np.ndarray) -> bytes:
    return struct.pack(">iiii", 0x0803, *arr.shape) + arr.astype(np.uint8).tobytes()


def _idx_labels(labels: np.ndarray) -> bytes:
    return struct.pack(">ii", 0x0801, len(labels)) + labels.astype(np.uint8).tobytes()


def write_mnist(root, n_train=5, n_test=3):
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    sets = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(_idx_images(images))
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(_idx_labels(labels))
        sets[prefix] = (images, labels)
    return sets


@pytest.mark.parametrize(
    ("name", "split", "which"),
    [
        ("torch/mnist", "train", "train"),
        ("TORCH/MNIST", "training", "train"),
        ("torch/mnist", "validation", "t10k"),
        ("torch/mnist", "test", "t10k"),
    ],
)
def test_torch_mnist_from_local_raw_files(tmp_path, name, split, which):
    sets = write_mnist(tmp_path)
    ds = create_dataset(name, root=str(tmp_path), split=split)
    images, labels = sets[which]
    assert len(ds) == len(labels)
    for i in range(len(ds)):
        img, target = ds[i]
        assert target == int(labels[i])
        np.testing.assert_array_equal(np.asarray(img), images[i])


def test_torch_folder_with_split_search(tmp_path):
    write_folder(tmp_path / "validation", per_class=1)
    ds = create_dataset("torch/image_folder", root=tmp_path)
    assert len(ds) == 4 and ds.root == os.path.join(str(tmp_path), "validation")
    assert len(create_dataset("torch/folder", root=tmp_path / "validation", search_split=False)) == 4


# --------------------------------------------------------------------------------------------------------
# errors


def test_unknown_torch_dataset_lists_known(tmp_path):
    with pytest.raises(UnknownReaderError, match=r"cifar10.*imagenet"):
        create_dataset("torch/svhn", root=tmp_path)


def test_unknown_prefix(tmp_path):
    write_folder(tmp_path)
    with pytest.raises(UnknownReaderError):
        create_dataset("nosuch/thing", root=tmp_path)


def test_tfds_not_supported(tmp_path):
    with pytest.raises(ConfigError, match="not supported"):
        create_dataset("tfds/mnist", root=tmp_path)


@pytest.mark.parametrize("prefix", ["wds", "WDS"])
def test_streaming_prefix_routes_to_iterable_dataset(tmp_path, prefix):
    from pixelpipe.shard_writer import write_shards

    write_folder(tmp_path / "data")
    write_shards(tmp_path / "data", tmp_path / "shards", max_count=2, split="train", progress=False)
    ds = create_dataset(f"{prefix}/Some-Dataset", root=tmp_path / "shards", split="train")
    assert isinstance(ds, pixelpipe.datasets.IterableImageDataset)
    assert len(ds) == len(list(ds)) > 0


@pytest.mark.parametrize("name", ["", "imagenet", "torch/folder", "torch/mnist"])
def test_missing_root(tmp_path, name):
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        create_dataset(name, root=tmp_path / "missing")
    with pytest.raises(DatasetNotFoundError):
        create_dataset(name, root=None)


def test_torch_mnist_without_files_is_not_found(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="mnist"):
        create_dataset("torch/mnist", root=tmp_path)


def test_none_kwargs_are_dropped(tmp_path):
    write_folder(tmp_path)
    assert len(create_dataset("", root=tmp_path, input_key=None, nonsense=None)) == 8


# --------------------------------------------------------------------------------------------------------
# differential: the reference library on the same clean folder


def test_matches_reference_on_clean_folder(tmp_path):
    timm_data = pytest.importorskip("timm.data")
    write_folder(tmp_path / "val", per_class=3, fmt="JPEG", ext=".jpg")
    write_folder(tmp_path / "train", per_class=1)
    for split in ("validation", "train"):
        ours = create_dataset("", root=tmp_path, split=split)
        ref = timm_data.create_dataset("", root=str(tmp_path), split=split)
        assert len(ours) == len(ref)
        assert ours.filenames() == ref.filenames()
        for i in range(len(ref)):
            (a, ta), (b, tb) = ours[i], ref[i]
            assert ta == tb and a.mode == b.mode and a.size == b.size
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    ours = ImageDataset(str(tmp_path / "val"), input_img_mode="L", load_bytes=False)
    ref = timm_data.ImageDataset(str(tmp_path / "val"), input_img_mode="L")
    assert [ours[i][1] for i in range(len(ours))] == [ref[i][1] for i in range(len(ref))]
    np.testing.assert_array_equal(np.asarray(ours[4][0]), np.asarray(ref[4][0]))
    raw_ours = ImageDataset(str(tmp_path / "val"), load_bytes=True)
    raw_ref = timm_data.ImageDataset(str(tmp_path / "val"), load_bytes=True)
    assert raw_ours[2] == raw_ref[2]


def test_in_memory_png_is_same_as_reference_decode():
    data = encode(make_image(7), "PNG")
    img = Image.open(io.BytesIO(data)).convert("RGB")
    ds = ImageDataset(None, reader=_OneSample(data))
    np.testing.assert_array_equal(np.asarray(ds[0][0]), np.asarray(img))


class _OneSample(Reader):
    def __init__(self, data):
        super().__init__()
        self.data = data

    def __len__(self):
        return 1

    def __getitem__(self, i):
        return io.BytesIO(self.data), 0

    def _filename(self, i, basename=False, absolute=False):
        return "one.png"
