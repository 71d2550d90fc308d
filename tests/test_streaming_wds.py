"""ReaderWds + IterableImageDataset over tar shards: routing, workers, errors, resume, shard writer."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest
from torch.utils.data import DataLoader

from pixelpipe.cli import main as cli_main
from pixelpipe.datasets import ImageDataset, IterableImageDataset
from pixelpipe.errors import ConfigError, DatasetNotFoundError, SampleError
from pixelpipe.factories import create_dataset
from pixelpipe.rng import get_rng
from pixelpipe.shard_writer import write_shards
from pixelpipe.synthetic import write_shapes_folder
from test_streaming_helpers import png, run_script, write_wds


def _targets(ds):
    return [int(t) for _, t in ds]


def test_create_dataset_wds_split_name_and_spec(tmp_path):
    write_wds(tmp_path, [4, 0, 3, 2])
    ds = create_dataset("wds/Mine", root=tmp_path, split="train")
    assert isinstance(ds, IterableImageDataset) and len(ds) == 9
    assert _targets(ds) == list(range(9))
    img, _ = next(iter(ds))
    assert img.mode == "RGB" and img.getpixel((0, 0)) == (0, 0, 3)
    spec = create_dataset("wds/", root=tmp_path, split="train-{000002..000003}.tar", image_backend="bytes")
    assert _targets(spec) == [4, 5, 6, 7, 8] and spec.reader.source.shard_lengths == [
        3,
        2,
    ]  # lengths from the info
    trimmed = create_dataset("wds/", root=tmp_path, split="train-{000000..000000}.tar|2")
    assert _targets(trimmed) == [0, 1]
    with pytest.raises(DatasetNotFoundError, match="splits in the dataset info: 'train'"):
        create_dataset("wds/", root=tmp_path, split="validation")


def test_no_info_counts_shards(tmp_path):
    write_wds(tmp_path, [2, 3], info=False, image=False)
    ds = IterableImageDataset(
        tmp_path, reader="wds/", split="train-{000000..000001}.tar", image_backend="bytes"
    )
    assert len(ds) == 5 and [b for b, _ in ds][:2] == [b"id0", b"id1"]


@pytest.mark.parametrize("training", [False, True])
def test_two_workers_cover_epoch_uneven_shards(tmp_path, training):
    write_wds(tmp_path, [5, 0, 1, 7], image=False)  # uneven, an empty shard, fewer shards than 2x2 workers
    counts = []
    for rank in range(2):
        ds = create_dataset(
            "wds/", root=tmp_path, split="train", is_training=training, batch_size=2, image_backend="bytes",
            rank=rank, world_size=2, sample_shuffle_size=4, sample_initial_size=2,
        )  # fmt: skip
        ds.set_loader_cfg(num_workers=2, batch_size=2, drop_last=training)
        loader = DataLoader(ds, batch_size=2, num_workers=2, drop_last=training)
        batches = [b[1].tolist() for b in loader]
        assert len(batches) == len(loader)
        counts.append(Counter(t for b in batches for t in b))
    assert sum(counts[0].values()) == sum(counts[1].values()) == len(ds)
    union = counts[0] + counts[1]
    assert set(union) == set(range(13))
    # padding wraps to the start of the epoch sequence: at most 1 (eval) / a few (training) repeats
    assert sum(union.values()) - 13 == (1 if not training else 16 - 13)


def test_corrupt_sample_raise_names_shard_and_key(tmp_path):
    write_wds(tmp_path, [3, 3], corrupt=[4])
    ds = create_dataset("wds/", root=tmp_path, split="train")
    with pytest.raises(SampleError, match=r"s00004.*train-000001\.tar|train-000001\.tar.*s00004") as info:
        list(ds)
    assert info.value.filename.endswith("train-000001.tar/s00004")


def test_corrupt_sample_skip_substitutes_whole_sample(tmp_path):
    write_wds(tmp_path, [3, 3], corrupt=[0, 4])
    ds = create_dataset("wds/", root=tmp_path, split="train", on_error="skip", input_img_mode="RGB")
    out = list(ds)
    assert len(out) == 6 and ds.num_skipped == 2
    assert [r.filename.rsplit("/", 1)[1] for r in ds.skipped] == ["s00000", "s00004"]
    # each image still belongs to its own label (a bad sample is replaced by a whole good one)
    assert [t for _, t in out] == [1, 1, 2, 3, 3, 5]
    assert all(img.getpixel((0, 0))[0] == t for img, t in out)


def test_missing_input_member_is_a_sample_error(tmp_path):
    write_wds(tmp_path, [2])
    ds = create_dataset("wds/", root=tmp_path, split="train", input_key="jpg;webp")
    with pytest.raises(SampleError, match="none of the input members"):
        list(ds)


def test_per_sample_augmentation_does_not_depend_on_workers(tmp_path):
    write_wds(tmp_path, [3, 4], image=False)

    def draw(_):
        return float(get_rng().random())

    results = []
    for workers in (0, 2):
        ds = create_dataset("wds/", root=tmp_path, split="train", image_backend="bytes", transform=draw)
        ds.set_loader_cfg(num_workers=workers)
        results.append(
            sorted((int(t), float(x)) for x, t in DataLoader(ds, batch_size=None, num_workers=workers))
        )
    assert results[0] == results[1]


def test_writer_round_trip_and_cli(tmp_path):
    write_shapes_folder(tmp_path / "src" / "train", per_class=3, size=16)
    folder = ImageDataset(tmp_path / "src" / "train", load_bytes=True)
    want = Counter((hashlib.sha1(b).hexdigest(), int(t)) for b, t in folder)
    assert cli_main(["shard", str(tmp_path / "src"), str(tmp_path / "out"), "--max-count", "4"]) == 0
    info = json.loads((tmp_path / "out" / "_info.json").read_text())["splits"]["train"]
    assert info["shard_lengths"] == [4, 4, 4, 3] and info["num_samples"] == 15
    ds = create_dataset("wds/", root=tmp_path / "out", split="train", image_backend="bytes")
    got = Counter((hashlib.sha1(b).hexdigest(), int(t)) for b, t in ds)
    assert got == want
    assert sorted(ds.filenames()) == sorted(folder.filenames())
    with pytest.raises(ConfigError, match="max_count"):
        write_shards(tmp_path / "src", tmp_path / "o2", max_count=0)


def test_filename_label_source_to_shards(tmp_path):
    src = tmp_path / "pets"
    src.mkdir()
    for name, v in [("Abyssinian_1.png", 1), ("Abyssinian_2.png", 2), ("beagle_1.png", 3)]:
        (src / name).write_bytes(png(v))
    write_shards(src, tmp_path / "out", max_count=2, label=r"^(.*)_\d+$", progress=False)
    ds = create_dataset("wds/", root=tmp_path / "out", split="train")
    assert sorted(_targets(ds)) == [0, 0, 1]


_RESUME = """
import json, sys
from torch.utils.data import DataLoader
from pixelpipe.factories import create_dataset

root, mode, out = sys.argv[1], sys.argv[2], sys.argv[3]
ds = create_dataset("wds/", root=root, split="train", is_training=True, batch_size=3, image_backend="bytes",
                    rank=1, world_size=2, sample_shuffle_size=5, sample_initial_size=2, seed=7)
ds.set_loader_cfg(num_workers=2, batch_size=3, drop_last=True)
ds.set_epoch(3)
if mode == "resume":
    ds.load_state_dict(json.load(open(out + ".state")))
loader = DataLoader(ds, batch_size=3, num_workers=2, drop_last=True, persistent_workers=True)
seen = []
for k, (_, t) in enumerate(loader):
    seen += t.tolist()
    if mode == "stop" and k == 2:
        json.dump(ds.state_dict(num_batches=k + 1), open(out + ".state", "w"))
        break
json.dump(seen, open(out + "." + mode, "w"))
"""


def test_resume_mid_epoch_in_new_process(tmp_path):
    write_wds(tmp_path / "d", [7, 2, 0, 9, 4], image=False)
    out = str(tmp_path / "r")
    for mode in ("full", "stop", "resume"):
        run_script(tmp_path, _RESUME, str(tmp_path / "d"), mode, out)
    full, first, rest = (json.loads(Path(f"{out}.{m}").read_text()) for m in ("full", "stop", "resume"))
    assert Counter(first) + Counter(rest) == Counter(full)  # exactly the rest: none lost, none repeated
    assert len(first) + len(rest) == len(full)
    # and within each worker the order is the uninterrupted one (batches alternate workers 0, 1, 0, ...)
    assert first == full[:9]
    assert rest == full[9:]


@pytest.mark.parametrize(("repeats", "length"), [(0.0, 12), (0, 12), (1.0, 12), (2.0, 24), (2, 24)])
def test_repeats_accepts_integral_floats(tmp_path, repeats, length):
    # timm's train.py passes --epoch-repeats (a float, default 0.) straight through as repeats=
    write_wds(tmp_path, [6, 6], image=False)
    ds = create_dataset(
        "wds/x", root=tmp_path, split="train", is_training=True, batch_size=4, seed=42, repeats=repeats,
        image_backend="bytes",
    )  # fmt: skip
    assert len(ds) == length and type(ds.reader.repeats) is int


@pytest.mark.parametrize("repeats", [1.5, -1, -2.0, True, "2", float("nan"), float("inf")])
def test_repeats_rejects_bad_values(tmp_path, repeats):
    write_wds(tmp_path, [6, 6], image=False)
    with pytest.raises(ConfigError, match=r"repeats must be an int >= 0, got"):
        create_dataset("wds/x", root=tmp_path, split="train", repeats=repeats, image_backend="bytes")
