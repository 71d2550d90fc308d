"""The ``hfids/`` streaming reader over local parquet / arrow data: exact sharding, padding, resume."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter

import pytest
import torch

from conftest import encode
from pixelpipe.errors import ConfigError, SampleError
from pixelpipe.readers import create_reader

datasets = pytest.importorskip("datasets")
pq = pytest.importorskip("pyarrow.parquet")

NAMES = ["Cat", "dog", "Emu"]
FILE_ROWS = (9, 0, 6, 8)  # uneven files, one empty; 23 rows in all
N = sum(FILE_ROWS)
SHARDS = [4, 4, 1, 0, 4, 2, 4, 4]  # row groups of 4 rows; the empty file: one empty shard
WORLD, WORKERS, BATCH = 2, 2, 2


def _png(i: int) -> bytes:
    from PIL import Image

    return encode(Image.new("RGB", (4, 3), (i, 2 * i, 3)), "PNG")


def _table(first: int, rows: int, corrupt: tuple[int, ...] = (), no_image: tuple[int, ...] = ()):
    feats = datasets.Features(
        {"image": datasets.Image(), "label": datasets.ClassLabel(names=NAMES), "idx": datasets.Value("int64")}
    )
    ids = range(first, first + rows)
    images = [
        None if i in no_image else {"bytes": b"broken" if i in corrupt else _png(i), "path": None}
        for i in ids
    ]
    ds = datasets.Dataset.from_dict(
        {"image": images, "label": [i % 3 for i in ids], "idx": list(ids)}, features=feats
    )
    return ds


def _write_parquet(folder, **bad) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    first = 0
    for k, rows in enumerate(FILE_ROWS):
        table = _table(first, rows, **bad).with_format("arrow")[:]
        pq.write_table(table, folder / f"train-{k:05d}-of-{len(FILE_ROWS):05d}.parquet", row_group_size=4)
        first += rows
    pq.write_table(_table(100, 3).with_format("arrow")[:], folder / "validation-00000-of-00001.parquet")


@pytest.fixture(scope="module")
def parquet_dir(tmp_path_factory):
    base = tmp_path_factory.mktemp("hfids") / "MyParquet"
    _write_parquet(base)
    return base


def _ids(reader) -> list[int]:
    return [int(t) for _, t in reader]


def test_local_parquet_folder_rows_and_shards(parquet_dir):
    r = create_reader(f"hfids/{parquet_dir}", split="train", target_key="idx")
    assert len(r) == N and sum(r.source.shard_lengths) == N
    assert r.source.shard_lengths == SHARDS  # one shard per parquet row group
    assert r.source.shard_name(0).endswith("train-00000-of-00004.parquet#rg0")
    assert sorted(_ids(r)) == list(range(N))
    labels = create_reader(f"hfids/{parquet_dir}", split="train")
    assert labels.class_to_idx == {"Cat": 0, "dog": 1, "Emu": 2}
    assert [t for _, t in labels] == [i % 3 for i in range(N)]
    first_input = next(iter(labels))[0]
    assert isinstance(first_input, bytes) and first_input[:4] == b"\x89PNG"
    val = create_reader(f"hfids/{parquet_dir}", split="validation", target_key="idx")
    assert _ids(val) == [100, 101, 102]


def test_name_under_root_keeps_case_and_other_layouts(parquet_dir, tmp_path):
    r = create_reader("HFIDS/MyParquet", root=parquet_dir.parent, split="train", target_key="idx")
    assert len(r) == N
    one = create_reader(f"hfids/{parquet_dir / 'train-00002-of-00004.parquet'}", target_key="idx")
    assert _ids(one) == list(range(9, 15))
    glob = create_reader(f"hfids/{parquet_dir}/train-*.parquet", target_key="idx")
    assert _ids(glob) == list(range(N))
    datasets.disable_progress_bars()
    try:
        ds = _table(0, 5)
        ds.save_to_disk(str(tmp_path / "OnDisk"))
        datasets.DatasetDict({"train": ds, "test": _table(50, 2)}).save_to_disk(str(tmp_path / "Dict"))
    finally:
        datasets.enable_progress_bars()
    assert _ids(create_reader(f"hfids/{tmp_path / 'OnDisk'}", target_key="idx")) == list(range(5))
    assert _ids(create_reader("hfids/Dict", root=tmp_path, split="test", target_key="idx")) == [50, 51]
    with pytest.raises(ConfigError, match=r"split='validation'.*\['test', 'train'\]"):
        create_reader("hfids/Dict", root=tmp_path, split="validation")


def test_class_map_and_bad_columns(parquet_dir):
    r = create_reader(f"hfids/{parquet_dir}", class_map={"Emu": 0, "dog": 1, "Cat": 2})
    assert [t for _, t in r][:4] == [2, 1, 0, 2]
    partial = create_reader(f"hfids/{parquet_dir}", class_map={"dog": 0, "Cat": 1})
    first_three = list(partial)[:3]
    assert first_three[1] == (first_three[1][0], 0)
    assert isinstance(first_three[2][0], SampleError) and "'Emu' is not in the class_map" in str(
        first_three[2][0]
    )
    with pytest.raises(ConfigError, match="input_key='img'"):
        create_reader(f"hfids/{parquet_dir}", input_key="img")
    with pytest.raises(ConfigError, match="target_key='cls'"):
        create_reader(f"hfids/{parquet_dir}", target_key="cls")


def test_counts_and_padding_rule_single_process(parquet_dir):
    for is_training in (False, True):
        seen = []
        for rank in range(WORLD):
            r = create_reader(
                f"hfids/{parquet_dir}",
                target_key="idx",
                is_training=is_training,
                batch_size=BATCH,
                rank=rank,
                world_size=WORLD,
                shuffle_size=8,
            )
            seen.append(_ids(r))
        assert len(seen[0]) == len(seen[1]) == 12  # ceil(23 / 2); training: ceil(23 / 2) -> batches of 2
        counts = Counter(seen[0] + seen[1])
        assert set(counts) == set(range(N)) and sum(counts.values()) == N + 1


def test_bad_rows_become_per_sample_errors(tmp_path):
    folder = tmp_path / "Bad"
    _write_parquet(folder, no_image=(3,), corrupt=(5,))
    out = list(create_reader(f"hfids/{folder}", target_key="idx"))
    assert isinstance(out[3][0], SampleError) and "neither image bytes nor a path" in str(out[3][0])
    assert out[5][0] == b"broken"  # still encoded: the dataset's decoder applies its error policy


def test_num_samples_and_repeats(parquet_dir):
    r = create_reader(f"hfids/{parquet_dir}", target_key="idx", num_samples=10)
    assert _ids(r) == list(range(10))
    twice = create_reader(f"hfids/{parquet_dir}", target_key="idx", repeats=2)
    assert Counter(_ids(twice)) == Counter(list(range(N)) * 2)


def test_missing_datasets_package_names_the_extra(parquet_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)
    monkeypatch.delitem(sys.modules, "pixelpipe.readers.hfids", raising=False)
    monkeypatch.delitem(sys.modules, "pixelpipe.readers.hfds", raising=False)
    with pytest.raises(ImportError, match=r"pixelpipe\[hf\]"):
        create_reader(f"hfids/{parquet_dir}")


# -- 2 ranks x 2 workers, gloo ---------------------------------------------------------------------------
class _Targets(torch.utils.data.IterableDataset):
    """The stream's targets (the ``idx`` column), so each delivered sample names its row."""

    def __init__(self, reader):
        self.reader = reader

    def __iter__(self):
        for _, target in self.reader:
            yield target


def _loader(reader):
    reader.set_loader_cfg(num_workers=WORKERS, batch_size=BATCH, drop_last=False)
    # spawned ranks would start their workers with spawn too (seconds each); torchrun's ranks fork them
    return torch.utils.data.DataLoader(
        _Targets(reader), batch_size=BATCH, num_workers=WORKERS, multiprocessing_context="fork"
    )


def _make_reader(data: str, **kwargs):
    return create_reader(
        f"hfids/{data}",
        split="train",
        target_key="idx",
        is_training=True,
        batch_size=BATCH,
        shuffle_size=8,
        seed=7,
        **kwargs,
    )


def _rank_main(rank: int, data: str, out: str, init: str) -> None:
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=WORLD)
    try:
        r = _make_reader(data)
        if (r.rank, r.world_size) != (rank, WORLD):  # taken from torch.distributed
            raise RuntimeError(f"rank {rank}: the reader resolved rank {r.rank}, world size {r.world_size}")
        result = {}
        for epoch in (0, 1):
            r.set_epoch(epoch)
            result[f"epoch{epoch}"] = [int(t) for b in _loader(r) for t in b]
        again = _make_reader(data)
        again.set_epoch(1)
        result["epoch1_again"] = [int(t) for b in _loader(again) for t in b]
        r.set_epoch(1)
        before = []
        for k, b in enumerate(_loader(r)):
            before += [int(t) for t in b]
            if k == 2:
                result["state"] = r.state_dict(num_batches=3)
                break
        result["before"] = before
        with open(os.path.join(out, f"rank{rank}.json.tmp"), "w") as f:
            json.dump(result, f)
        os.replace(os.path.join(out, f"rank{rank}.json.tmp"), os.path.join(out, f"rank{rank}.json"))
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_ranks_two_workers_gloo(parquet_dir, tmp_path):
    import torch.multiprocessing as mp

    init = f"file://{tmp_path / 'rendezvous'}"
    mp.spawn(_rank_main, args=(str(parquet_dir), str(tmp_path), init), nprocs=WORLD, join=True)
    ranks = []
    for rank in range(WORLD):
        with open(tmp_path / f"rank{rank}.json") as f:
            ranks.append(json.load(f))
    for epoch in ("epoch0", "epoch1"):
        per_rank = [r[epoch] for r in ranks]
        assert len(per_rank[0]) == len(per_rank[1]) == 12  # equal counts per rank
        counts = Counter(per_rank[0] + per_rank[1])
        assert set(counts) == set(range(N))  # the union is the dataset
        assert sum(counts.values()) == N + 1  # padding: one sample wraps around
    assert [r["epoch0"] for r in ranks] != [r["epoch1"] for r in ranks]  # epochs differ
    assert [r["epoch1"] for r in ranks] == [r["epoch1_again"] for r in ranks]  # and are reproducible
    # Stopped after 3 batches; resume each rank here, in another process: exactly the rest of the epoch.
    for rank, r in enumerate(ranks):
        fresh = _make_reader(str(parquet_dir), rank=rank, world_size=WORLD)
        fresh.set_loader_cfg(num_workers=WORKERS, batch_size=BATCH, drop_last=False)
        fresh.load_state_dict(r["state"])
        after = [int(t) for b in _loader(fresh) for t in b]
        assert len(r["before"]) == 3 * BATCH and len(after) == 12 - 3 * BATCH
        assert Counter(r["before"] + after) == Counter(r["epoch1"])


def test_create_dataset_decodes_with_the_error_policy(parquet_dir, tmp_path):
    from pixelpipe.factories import create_dataset

    ds = create_dataset(f"hfids/{parquet_dir}", split="train")
    out = list(ds)
    assert len(ds) == len(out) == N
    assert [img.getpixel((0, 0)) for img, _ in out] == [(i, 2 * i, 3) for i in range(N)]
    assert [t for _, t in out] == [i % 3 for i in range(N)]
    folder = tmp_path / "Bad"
    _write_parquet(folder, no_image=(3,), corrupt=(5,))
    with pytest.raises(SampleError, match=r"sample '3' of shard '.*train-00000-of-00004\.parquet#rg0'"):
        list(create_dataset(f"hfids/{folder}", split="train"))
    skipping = create_dataset(f"hfids/{folder}", split="train", on_error="skip")
    assert len(list(skipping)) == N and skipping.num_skipped == 2
    assert [s.filename.rsplit("/", 1)[-1] for s in skipping.skipped] == ["3", "5"]


def test_image_folder_goes_through_datasets(tmp_path):
    from PIL import Image

    from pixelpipe.factories import create_dataset

    for cls, n in (("Cat", 3), ("dog", 2)):
        (tmp_path / "Imgs" / "train" / cls).mkdir(parents=True)
        for i in range(n):
            Image.new("RGB", (4, 4), (i, 0, 0)).save(tmp_path / "Imgs" / "train" / cls / f"{i}.png")
    kw = dict(root=tmp_path / "cache", split="train")
    mapped = create_dataset(f"hfds/{tmp_path / 'Imgs'}", **kw)
    streamed = create_dataset(f"hfids/{tmp_path / 'Imgs'}", **kw)
    assert mapped.reader.class_to_idx == streamed.reader.class_to_idx == {"Cat": 0, "dog": 1}
    assert [t for _, t in streamed] == [mapped[i][1] for i in range(5)] == [0, 0, 0, 1, 1]
