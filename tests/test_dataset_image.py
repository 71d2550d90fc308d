"""ImageDataset: user readers, return values, the error policy (raise / skip), workers and pickling."""

from __future__ import annotations

import io
import logging
import os
import pickle
import tarfile

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import encode, make_image
from pixelpipe.datasets import ImageDataset
from pixelpipe.errors import ConfigError, ImageDecodeError, SampleError
from pixelpipe.readers import Reader

pytestmark = pytest.mark.filterwarnings(
    "ignore:The image decoding and encoding capabilities:DeprecationWarning"
)

CLASSES = ["Abyssinian", "Bengal", "beagle", "boxer"]


def colour(label: int) -> tuple[int, int, int]:
    """Each label gets its own solid colour, so a delivered image tells which sample it came from."""
    return (40 + 50 * label, 200 - 40 * label, 17 * label)


def label_of(img) -> int:
    px = img.getpixel((2, 2)) if isinstance(img, Image.Image) else tuple(img[:, 2, 2].tolist())
    return min(range(len(CLASSES)), key=lambda k: sum(abs(a - b) for a, b in zip(px, colour(k))))


class PetsReader(Reader):
    """Oxford-IIIT Pets layout: one folder, the class is the file name up to the last ``_``."""

    def __init__(self, root, files=None):
        super().__init__()
        self.root = str(root)
        self.files = list(files) if files is not None else sorted(os.listdir(root))
        names = sorted({f.rsplit("_", 1)[0] for f in self.files})
        self.class_to_idx = {n: i for i, n in enumerate(names)}

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        f = self.files[i]
        return open(os.path.join(self.root, f), "rb"), self.class_to_idx[f.rsplit("_", 1)[0]]

    def _filename(self, i, basename=False, absolute=False):
        f = self.files[i]
        return os.path.abspath(os.path.join(self.root, f)) if absolute else f


class MemoryReader(Reader):
    """In-memory samples ``(bytes, target, *features)``; a sample may be an exception to raise."""

    def __init__(self, samples):
        super().__init__()
        self.samples = samples

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        s = self.samples[i]
        if isinstance(s, BaseException):
            raise s
        return s

    def _filename(self, i, basename=False, absolute=False):
        return f"mem/{i}.png"


def write_pets(root, per_class=2, fmt="PNG"):
    root.mkdir(exist_ok=True)
    for label, name in enumerate(CLASSES):
        for k in range(per_class):
            Image.new("RGB", (12, 10), colour(label)).save(root / f"{name}_{k}.png", format=fmt)
    return root


def corrupt_files():
    return {
        "truncated.jpg": encode(make_image(0, (64, 64)), "JPEG")[:400],
        "empty.jpg": b"",
        "random.jpg": np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes(),
        "text.jpg": b"I am a text file with a .jpg name\n" * 20,
    }


@pytest.fixture
def pets(tmp_path):
    return write_pets(tmp_path / "pets")


@pytest.fixture
def pets_with_corrupt(tmp_path):
    """Good pet images with one corrupt file after every second good one (never two bad in a row)."""
    root = write_pets(tmp_path / "mixed")
    good = sorted(os.listdir(root))
    bad = corrupt_files()
    files = []
    for i, name in enumerate(good):
        files.append(name)
        if i % 2 == 1 and bad:
            bad_name, data = bad.popitem()
            cls = CLASSES[i % len(CLASSES)]
            (root / f"{cls}_{bad_name}").write_bytes(data)
            files.append(f"{cls}_{bad_name}")
    return root, files


# --------------------------------------------------------------------------------------------------------
# return values


def test_user_reader_returns_pil_and_own_labels(pets):
    reader = PetsReader(pets)
    ds = ImageDataset(str(pets), reader=reader)
    assert len(ds) == 8 == len(reader)
    for i in range(len(ds)):
        img, target = ds[i]
        assert isinstance(img, Image.Image) and img.mode == "RGB" and img.size == (12, 10)
        assert target == reader.class_to_idx[reader.files[i].rsplit("_", 1)[0]]
        assert label_of(img) == CLASSES.index(reader.files[i].rsplit("_", 1)[0])
    assert ds.filename(0) == reader.files[0]
    assert ds.filename(0, absolute=True) == str(pets / reader.files[0])
    assert ds.filenames() == reader.files
    assert ds[-1][1] == ds[len(ds) - 1][1]
    with pytest.raises(IndexError):
        ds[len(ds)]
    r = repr(ds)
    assert "PetsReader" in r and str(pets) in r and "len=8" in r


def test_transforms_modes_and_backends(pets):
    reader = PetsReader(pets)
    ds = ImageDataset(pets, reader=reader, transform=lambda im: im.size, target_transform=lambda t: t * 10)
    assert ds[2] == ((12, 10), 10)
    assert ImageDataset(pets, reader=reader, input_img_mode="L")[0][0].mode == "L"
    assert ImageDataset(pets, reader=reader, input_img_mode=None)[0][0].mode == "RGB"
    t, _ = ImageDataset(pets, reader=reader, image_backend="tensor")[3]
    assert t.dtype == torch.uint8 and t.shape == (3, 10, 12)
    assert label_of(t) == 1
    assert ImageDataset(pets, reader=reader, image_backend="tensor", input_img_mode="L")[0][0].shape == (
        1,
        10,
        12,
    )


def test_load_bytes(pets):
    reader = PetsReader(pets)
    ds = ImageDataset(pets, reader=reader, load_bytes=True)
    data, target = ds[1]
    assert data == (pets / reader.files[1]).read_bytes() and target == 0
    ds = ImageDataset(pets, reader=reader, load_bytes=True, transform=len)
    assert ds[1][0] == len(data)
    mem = ImageDataset(None, reader=MemoryReader([(b"raw", 1), (bytearray(b"xy"), 2)]), load_bytes=True)
    assert mem[0] == (b"raw", 1) and mem[1] == (b"xy", 2)


def test_none_target_is_minus_one_without_target_transform():
    calls = []
    png = encode(Image.new("RGB", (4, 4)), "PNG")
    ds = ImageDataset(None, reader=MemoryReader([(png, None), (png, 3)]), target_transform=calls.append)
    assert ds[0][1] == -1 and calls == []
    ds[1]
    assert calls == [3]


def test_additional_features_are_appended():
    png = encode(Image.new("RGB", (4, 4)), "PNG")
    ds = ImageDataset(None, reader=MemoryReader([(io.BytesIO(png), 5, "caption", {"box": 1})]))
    img, target, caption, extra = ds[0]
    assert isinstance(img, Image.Image) and target == 5 and caption == "caption" and extra == {"box": 1}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"on_error": "ignore"}, "on_error"),
        ({"image_backend": "cv2"}, "image_backend"),
        ({"max_skips": 0}, "max_skips"),
        ({"max_skips": True}, "max_skips"),
    ],
)
def test_config_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        ImageDataset(None, reader=MemoryReader([]), **kwargs)


def test_file_handles_are_closed(pets):
    opened = []

    class Tracking(PetsReader):
        def __getitem__(self, i):
            f, t = super().__getitem__(i)
            opened.append(f)
            return f, t

    ds = ImageDataset(pets, reader=Tracking(pets))
    ds[0]
    ImageDataset(pets, reader=Tracking(pets), load_bytes=True)[1]
    assert len(opened) == 2 and all(f.closed for f in opened)


# --------------------------------------------------------------------------------------------------------
# error policy


def test_raise_policy_names_file_and_index(pets_with_corrupt):
    root, files = pets_with_corrupt
    ds = ImageDataset(root, reader=PetsReader(root, files))
    bad = [i for i, f in enumerate(files) if not f.endswith(".png")]
    assert len(bad) == 4
    for i in bad:
        with pytest.raises(ImageDecodeError) as info:
            ds[i]
        err = info.value
        assert files[i] in str(err) and f"index {i}" in str(err)
        assert err.index == i and err.filename == files[i]
        assert err.__cause__ is not None
    assert ds.num_skipped == 0 and ds.skipped == []


def test_skip_policy_counts_reports_and_keeps_labels(pets_with_corrupt, caplog):
    root, files = pets_with_corrupt
    reader = PetsReader(root, files)
    ds = ImageDataset(root, reader=reader, on_error="skip")
    bad = {i for i, f in enumerate(files) if not f.endswith(".png")}
    with caplog.at_level(logging.WARNING, logger="pixelpipe"):
        for i in range(len(ds)):
            img, target = ds[i]
            assert label_of(img) == target  # the image always comes with its own label
            if i not in bad:
                assert target == reader.class_to_idx[files[i].rsplit("_", 1)[0]]
    assert ds.num_skipped == len(bad) == len(ds.skipped)
    assert {r.index for r in ds.skipped} == bad
    assert {r.filename for r in ds.skipped} == {files[i] for i in bad}
    assert all("Error" in r.error for r in ds.skipped)
    skip_logs = [r.getMessage() for r in caplog.records if "skipped sample" in r.getMessage()]
    assert len(skip_logs) == len(bad) and all(any(files[i] in m for m in skip_logs) for i in bad)


def test_skip_policy_with_tensor_backend(pets_with_corrupt):
    root, files = pets_with_corrupt
    ds = ImageDataset(root, reader=PetsReader(root, files), on_error="skip", image_backend="tensor")
    for i in range(len(ds)):
        img, target = ds[i]
        assert label_of(img) == target
    assert ds.num_skipped == 4


def test_reader_failures_follow_the_policy():
    png = encode(Image.new("RGB", (4, 4), colour(1)), "PNG")
    samples = [(png, 1), OSError("gone"), tarfile.ReadError("bad tar"), KeyError("member"), (png, 1)]
    ds = ImageDataset(None, reader=MemoryReader(samples))
    for i, cause in [(1, OSError), (2, tarfile.ReadError), (3, KeyError)]:
        with pytest.raises(SampleError, match=rf"mem/{i}\.png.*index {i}") as info:
            ds[i]
        assert isinstance(info.value.__cause__, cause) and info.value.index == i
    skip = ImageDataset(None, reader=MemoryReader(samples), on_error="skip")
    img, target = skip[1]
    assert target == 1 and label_of(img) == 1
    assert skip.num_skipped == 1 and [r.index for r in skip.skipped] == [1]  # 2, 3: when asked for
    skip[2], skip[3]
    assert skip.num_skipped == 3 and [r.index for r in skip.skipped] == [1, 2, 3]


def test_skip_gives_up_after_max_skips():
    bad = [(b"junk", 0)] * 6
    ds = ImageDataset(None, reader=MemoryReader(bad), on_error="skip", max_skips=4)
    with pytest.raises(SampleError, match="4 consecutive samples failed") as info:
        ds[2]
    assert isinstance(info.value.__cause__, ImageDecodeError)
    assert ds.num_skipped == 1 and [r.index for r in ds.skipped] == [2]  # the candidates were not asked for
    tiny = ImageDataset(None, reader=MemoryReader([(b"", 0), (b"", 1)]), on_error="skip")
    with pytest.raises(SampleError, match="2 consecutive"):
        tiny[0]


# --------------------------------------------------------------------------------------------------------
# workers and pickling


def test_pickle_round_trip_keeps_count(pets_with_corrupt):
    root, files = pets_with_corrupt
    ds = ImageDataset(root, reader=PetsReader(root, files), on_error="skip", transform=np.asarray)
    bad = next(i for i, f in enumerate(files) if not f.endswith(".png"))
    ds[bad]
    clone = pickle.loads(pickle.dumps(ds))
    assert clone.num_skipped == 1 and len(clone.skipped) == 1
    np.testing.assert_array_equal(clone[0][0], ds[0][0])
    clone[bad]
    assert clone.num_skipped == 2 and ds.num_skipped == 1  # a plain copy counts on its own


def test_dataloader_two_workers_share_skip_counter(pets_with_corrupt):
    root, files = pets_with_corrupt
    ds = ImageDataset(root, reader=PetsReader(root, files), on_error="skip", image_backend="tensor")
    loader = torch.utils.data.DataLoader(ds, batch_size=3, num_workers=2, shuffle=False)
    seen = 0
    for imgs, targets in loader:
        for img, target in zip(imgs, targets.tolist()):
            assert label_of(img) == target
            seen += 1
    assert seen == len(ds)
    assert ds.num_skipped == 4  # counted in the workers, visible here
    bad = {f for f in files if not f.endswith(".png")}
    assert {r.filename for r in ds.skipped} == bad  # recorded in the workers, listed here
    assert {r.worker for r in ds.skipped} <= {0, 1}


def test_dataloader_two_workers_clean(pets):
    ds = ImageDataset(pets, reader=PetsReader(pets), transform=lambda im: torch.from_numpy(np.array(im)))
    loader = torch.utils.data.DataLoader(ds, batch_size=4, num_workers=2)
    targets = torch.cat([t for _, t in loader]).tolist()
    assert targets == [ds[i][1] for i in range(len(ds))]


def test_filename_label_reader_plugs_in(pets):
    filename_label = pytest.importorskip("pixelpipe.readers.filename_label")
    reader = filename_label.ReaderFilenameLabel(pets)
    ds = ImageDataset(pets, reader=reader, on_error="skip")
    assert len(ds) == 8
    for i in range(len(ds)):
        img, target = ds[i]
        assert CLASSES[label_of(img)] == ds.filename(i).rsplit("_", 1)[0]
        assert reader.class_to_idx[CLASSES[label_of(img)]] == target
    assert "ReaderFilenameLabel" in repr(ds)
