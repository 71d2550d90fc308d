"""The ``hfds/`` reader over local Hugging Face data (save_to_disk folders, parquet files); no network."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest
import torch

from conftest import encode
from pixelpipe.errors import ConfigError, SampleError
from pixelpipe.factories import create_dataset
from pixelpipe.readers import create_reader

datasets = pytest.importorskip("datasets")

NAMES = ["Cat", "dog", "Emu"]
N = 7


def _colour(i: int) -> tuple[int, int, int]:
    return (30 * i, 255 - 30 * i, 7)


def _png(i: int) -> bytes:
    from PIL import Image

    return encode(Image.new("RGB", (6, 5), _colour(i)), "PNG")


def _dataset(rows: int = N, corrupt: int | None = None):
    feats = datasets.Features(
        {
            "image": datasets.Image(),
            "label": datasets.ClassLabel(names=NAMES),
            "idx": datasets.Value("int64"),
            "caption": datasets.Value("string"),
        }
    )
    images = [{"bytes": b"not an image" if i == corrupt else _png(i), "path": None} for i in range(rows)]
    return datasets.Dataset.from_dict(
        {
            "image": images,
            "label": [i % 3 for i in range(rows)],
            "idx": list(range(rows)),
            "caption": [f"c{i}" for i in range(rows)],
        },
        features=feats,
    )


@pytest.fixture(scope="module")
def hf_data(tmp_path_factory):
    """Layouts of the same 7 rows: save_to_disk, DatasetDict, parquet dir / file; names keep their case."""
    base = tmp_path_factory.mktemp("hf")
    datasets.disable_progress_bars()
    try:
        ds = _dataset()
        ds.save_to_disk(str(base / "OnDisk"))
        datasets.DatasetDict({"train": ds, "Validation": ds.select(range(3))}).save_to_disk(
            str(base / "MyDict")
        )
        (base / "Parquet").mkdir()
        ds.to_parquet(str(base / "Parquet" / "train-00000.parquet"))
        _dataset(corrupt=2).save_to_disk(str(base / "Corrupt"))
    finally:
        datasets.enable_progress_bars()
    return base


def _check_rows(ds, rows=range(N)):
    assert len(ds) == len(rows)
    for i, row in enumerate(rows):
        img, target = ds[i]
        assert img.mode == "RGB" and img.size == (6, 5)
        assert img.getpixel((0, 0)) == _colour(row)
        assert target == row % 3


@pytest.mark.parametrize(
    "name", ["OnDisk", "Parquet", "Parquet/train-00000.parquet", "Parquet/*.parquet", "MyDict"]
)
def test_local_layouts(hf_data, tmp_path, name):
    ds = create_dataset(f"hfds/{hf_data / name}", root=tmp_path / "cache", split="train")
    _check_rows(ds)
    assert ds.reader.class_to_idx == {"Cat": 0, "dog": 1, "Emu": 2}
    assert ds.filename(3) == "train/3"  # rows that hold bytes only are named by split and row


def test_name_relative_to_root_keeps_case(hf_data):
    ds = create_dataset("HFDS/MyDict", root=hf_data, split="Validation")
    _check_rows(ds, range(3))
    with pytest.raises(ConfigError, match=r"split='validation'.*\['Validation', 'train'\]"):
        create_dataset("hfds/MyDict", root=hf_data, split="validation")


def test_class_map_remaps_by_name(hf_data):
    ds = create_dataset("hfds/OnDisk", root=hf_data, split="train", class_map={"Emu": 0, "dog": 1, "Cat": 2})
    assert [ds[i][1] for i in range(N)] == [[2, 1, 0][i % 3] for i in range(N)]
    assert ds.reader.class_to_idx == {"Emu": 0, "dog": 1, "Cat": 2}
    with pytest.raises(ConfigError, match=r"labels \['Emu'\] are not in the class_map"):
        create_reader("hfds/OnDisk", root=hf_data, class_map={"dog": 0, "Cat": 1})


def test_additional_features_and_filenames(hf_data):
    ds = create_dataset("hfds/OnDisk", root=hf_data, split="train", additional_features=["idx", "caption"])
    _, target, idx, caption = ds[4]
    assert (target, idx, caption) == (1, 4, "c4")
    single = create_reader("hfds/OnDisk", root=hf_data, additional_features="caption")
    assert single[5][2] == "c5"
    assert single.filenames()[:2] == ["train/0", "train/1"]


def test_bad_columns_name_the_columns(hf_data):
    with pytest.raises(
        ConfigError, match=r"input_key='img'.*columns: \['image', 'label', 'idx', 'caption'\]"
    ):
        create_reader("hfds/OnDisk", root=hf_data, input_key="img")
    with pytest.raises(ConfigError, match="target_key='cls'"):
        create_reader("hfds/OnDisk", root=hf_data, target_key="cls")
    with pytest.raises(ConfigError, match=r"additional_features \['nope'\]"):
        create_reader("hfds/OnDisk", root=hf_data, additional_features=["idx", "nope"])
    unlabelled = create_dataset("hfds/OnDisk", root=hf_data, split="train", target_key="")
    assert unlabelled[0][1] == -1


def test_images_stored_as_paths(tmp_path):
    from PIL import Image

    files = []
    for i in range(3):
        p = tmp_path / f"Img{i}.png"
        Image.new("RGB", (4, 4), _colour(i)).save(p)
        files.append(str(p))
    feats = datasets.Features(
        {"image": datasets.Image(), "file": datasets.Value("string"), "label": datasets.Value("int64")}
    )
    ds = datasets.Dataset.from_dict({"image": files, "file": files, "label": [5, 6, 7]}, features=feats)
    datasets.disable_progress_bars()
    ds.save_to_disk(str(tmp_path / "paths"))  # embeds the image bytes, keeps the file's base name
    datasets.enable_progress_bars()
    hf = create_dataset(f"hfds/{tmp_path / 'paths'}", split="train")
    assert hf[1][0].getpixel((0, 0)) == _colour(1) and hf[1][1] == 6
    assert hf.reader.class_to_idx == {}
    assert hf.filenames() == ["Img0.png", "Img1.png", "Img2.png"]
    by_path = create_dataset(f"hfds/{tmp_path / 'paths'}", split="train", input_key="file")
    f, _ = by_path.reader[0]
    assert isinstance(f, io.BufferedReader)
    f.close()
    assert by_path[2][0].getpixel((0, 0)) == _colour(2)
    assert by_path.filename(2) == files[2] and by_path.filename(2, basename=True) == "Img2.png"
    assert by_path.filenames(basename=True) == ["Img0.png", "Img1.png", "Img2.png"]


def test_corrupt_bytes_raise_or_skip(hf_data):
    ds = create_dataset("hfds/Corrupt", root=hf_data, split="train")
    with pytest.raises(SampleError, match=r"'train/2', index 2") as info:
        ds[2]
    assert info.value.index == 2
    skipping = create_dataset("hfds/Corrupt", root=hf_data, split="train", on_error="skip")
    img, target = skipping[2]  # the next readable row, whole: its own image and label
    assert img.getpixel((0, 0)) == _colour(3) and target == 0
    assert skipping.num_skipped == 1 and skipping.skipped[0].filename == "train/2"


def test_dataloader_two_workers(hf_data):
    ds = create_dataset("hfds/OnDisk", root=hf_data, split="train", transform=lambda im: np.asarray(im)[0, 0])
    loader = torch.utils.data.DataLoader(ds, batch_size=3, num_workers=2)
    pixels, targets = zip(*[(x, y) for xb, yb in loader for x, y in zip(xb.tolist(), yb.tolist())])
    assert [tuple(p) for p in pixels] == [_colour(i) for i in range(N)]
    assert list(targets) == [i % 3 for i in range(N)]


def test_hub_ids_go_to_load_dataset_with_their_case(hf_data, tmp_path, monkeypatch):
    calls = []
    real = datasets.load_from_disk(str(hf_data / "OnDisk"))

    def fake_load_dataset(path, **kwargs):
        calls.append((path, kwargs))
        return real

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    ds = create_dataset("hfds/SomeUser/Beans-Mini", root=tmp_path, split="validation")
    assert len(ds) == N
    assert calls == [("SomeUser/Beans-Mini", {"split": "validation", "cache_dir": str(tmp_path)})]


def test_missing_datasets_package_names_the_extra(hf_data, monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)
    monkeypatch.delitem(sys.modules, "pixelpipe.readers.hfds", raising=False)
    with pytest.raises(ImportError, match=r"pixelpipe\[hf\]"):
        create_reader("hfds/OnDisk", root=hf_data)
    with pytest.raises(ImportError, match=r"pixelpipe\[hf\]"):
        create_dataset("hfds/OnDisk", root=hf_data, split="train")


def test_reader_returns_file_like(hf_data):
    reader = create_reader("hfds/OnDisk", root=hf_data)
    f, target = reader[0]
    assert isinstance(f, io.BytesIO) and f.read(4) == b"\x89PNG" and target == 0
