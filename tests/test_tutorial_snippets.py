"""The timm tutorials' snippets, imported through the tutorials' module paths with only ``timm.data``
changed to ``pixelpipe``; each gives timm's observable result (types, shapes, reprs)."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import encode, make_image

NUM_CLASSES = 2


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tutorial") / "imagenette"
    for c in range(NUM_CLASSES):
        (root / f"n0{c}").mkdir(parents=True)
        for i in range(4):
            (root / f"n0{c}" / f"{i}.JPEG").write_bytes(encode(make_image(10 * c + i, size=(72, 64))))
    return root


@pytest.fixture(scope="module")
def tar_path(folder: Path) -> Path:
    path = folder.parent / "imagenette.tar"
    with tarfile.open(path, "w") as tf:
        tf.add(folder, arcname=".")
    return path


def test_image_dataset_keyword_list(folder: Path) -> None:
    from pixelpipe.dataset import ImageDataset

    ds = ImageDataset(
        str(folder),
        reader=None,
        split="train",
        class_map=None,
        load_bytes=False,
        input_img_mode="RGB",
        transform=None,
        target_transform=None,
    )
    img, label = ds[0]
    assert type(img) is Image.Image and img.mode == "RGB" and img.size == (72, 64)  # converted, as timm
    assert type(label) is int and label == 0
    timm_dataset = pytest.importorskip("timm.data.dataset")
    ref_img, ref_label = timm_dataset.ImageDataset(str(folder))[0]
    assert type(img) is type(ref_img) and type(label) is type(ref_label)


def test_tar_reader_label_type(tar_path: Path) -> None:
    from pixelpipe.dataset import ImageDataset

    img, label = ImageDataset(str(tar_path))[5]
    assert isinstance(label, np.int64) and label.item() == 1  # user code calls label.item()
    assert type(img) is Image.Image
    timm_dataset = pytest.importorskip("timm.data.dataset")
    assert type(label) is type(timm_dataset.ImageDataset(str(tar_path))[5][1])


def test_custom_reader_subclass(folder: Path) -> None:
    from pixelpipe.dataset import ImageDataset
    from pixelpipe.readers.reader import Reader

    class FlatReader(Reader):
        def __init__(self, root: str) -> None:
            super().__init__()
            self.samples = sorted(
                (os.path.join(d, f), int(os.path.basename(d)[-1])) for d, _, fs in os.walk(root) for f in fs
            )

        def __getitem__(self, index: int):
            path, target = self.samples[index]
            return open(path, "rb"), target

        def __len__(self) -> int:
            return len(self.samples)

        def _filename(self, index: int, basename: bool = False, absolute: bool = False) -> str:
            path = self.samples[index][0]
            return os.path.basename(path) if basename else path

    ds = ImageDataset(str(folder), reader=FlatReader(str(folder)))
    assert len(ds) == 8 and ds[7][1] == 1 and ds.filename(0, basename=True) == "0.JPEG"
    assert type(ds[0][0]) is Image.Image


def test_create_transform_reprs() -> None:
    from pixelpipe.transforms import RandomResizedCropAndInterpolation
    from pixelpipe.transforms_factory import create_transform

    assert repr(RandomResizedCropAndInterpolation(224, scale=(0.8, 1))) == (
        "RandomResizedCropAndInterpolation(size=(224, 224), scale=(0.8, 1), ratio=(0.75, 1.3333), "
        "interpolation=bilinear)"
    )
    cases = [
        dict(input_size=224),
        dict(input_size=224, is_training=True),
        dict(input_size=224, is_training=True, auto_augment="rand-m9-mstd0.5"),
        dict(input_size=(3, 256, 256), crop_pct=0.9, interpolation="bicubic"),
        dict(input_size=224, is_training=True, scale=(0.8, 1), ratio=[0.75, 1.33]),
    ]
    timm_tf = pytest.importorskip("timm.data.transforms_factory")
    ref_rrc = pytest.importorskip("timm.data.transforms").RandomResizedCropAndInterpolation
    assert repr(RandomResizedCropAndInterpolation(224, scale=(0.8, 1))) == repr(ref_rrc(224, scale=(0.8, 1)))
    for kwargs in cases:
        assert repr(create_transform(**kwargs)) == repr(timm_tf.create_transform(**kwargs)), kwargs


def test_rand_augment_transform_snippet() -> None:
    from pixelpipe.auto_augment import rand_augment_transform

    tfm = rand_augment_transform(config_str="rand-m9-mstd0.5", hparams={"img_mean": (124, 116, 104)})
    img = make_image(3, size=(64, 48))
    out = tfm(img)
    assert type(out) is Image.Image and out.size == img.size and out.mode == "RGB"
    assert [op.name for op in tfm.ops][:3] == ["AutoContrast", "Equalize", "Invert"]
    timm_aa = pytest.importorskip("timm.data.auto_augment")
    ref = timm_aa.rand_augment_transform(config_str="rand-m9-mstd0.5", hparams={"img_mean": (124, 116, 104)})
    assert [op.name for op in tfm.ops] == [op.name for op in ref.ops]
    assert (tfm.num_layers, len(tfm.ops)) == (ref.num_layers, len(ref.ops))


def test_mixup_on_a_dataloader_batch(folder: Path) -> None:
    from pixelpipe.dataset import ImageDataset
    from pixelpipe.mixup import Mixup
    from pixelpipe.transforms_factory import create_transform

    ds = ImageDataset(str(folder), transform=create_transform(32))
    loader = torch.utils.data.DataLoader(ds, batch_size=4, shuffle=True)
    images, classes = next(iter(loader))
    mixup_args = {
        "mixup_alpha": 1.0,
        "cutmix_alpha": 1.0,
        "prob": 1,
        "switch_prob": 0.5,
        "mode": "batch",
        "label_smoothing": 0.1,
        "num_classes": NUM_CLASSES,
    }
    mixup_fn = Mixup(**mixup_args)
    mixed, targets = mixup_fn(images, classes)
    assert mixed.shape == images.shape and targets.shape == (4, NUM_CLASSES)
    assert torch.allclose(targets.sum(1), torch.ones(4))
    assert not torch.equal(mixed, images)


def test_augmix_dataset_and_loader(folder: Path) -> None:
    from pixelpipe.dataset import AugMixDataset, ImageDataset
    from pixelpipe.factories import create_loader

    dataset = AugMixDataset(ImageDataset(str(folder)), num_splits=2)
    loader = create_loader(
        dataset,
        input_size=(3, 32, 32),
        batch_size=4,
        is_training=True,
        scale=[0.08, 1.0],
        ratio=[0.75, 1.33],
        num_aug_splits=2,
        num_workers=0,
        device="cpu",
    )
    x, y = next(iter(loader))
    assert x.shape == (8, 3, 32, 32) and torch.equal(y[:4], y[4:])  # clean split first, then augmented
