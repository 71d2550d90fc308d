"""Nothing lost (issue 8): the skip report API, and counts that add up — for a dataset with known bad files,
the samples delivered as themselves plus the skipped ones are the dataset, with 0 and 2 workers, map-style
and streaming, through ``create_loader`` — and the loader's end-of-epoch report."""

from __future__ import annotations

import io
import logging
import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from _bad_inputs import index_colour, index_of, png_of, write_mixed_folder, write_mixed_shards
from pixelpipe.datasets import AugMixDataset, ImageDataset, SkipRecord, SkipReport
from pixelpipe.datasets.skips import RECORDS_PER_WORKER, SkipLog
from pixelpipe.factories import create_dataset, create_loader
from pixelpipe.loader import find_skip_source, skip_report
from pixelpipe.readers import Reader

LOADER = dict(batch_size=4, mean=(0.0,) * 3, std=(1.0,) * 3, seed=0)
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def _identities(loader) -> list[tuple[int, int]]:
    """(sample identity from the image colour, target) of everything the loader delivers."""
    out = []
    for x, y in loader:
        for img, target in zip(x.cpu(), y.tolist()):
            out.append((index_of((img[:, 2, 2] * 255).round().tolist()), target))
    return out


class MemoryReader(Reader):
    """Samples in memory; ``None`` marks a broken sample."""

    def __init__(self, n: int, bad) -> None:
        super().__init__()
        self.n, self.bad = n, set(bad)

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return io.BytesIO(b"broken" if i in self.bad else png_of(i)), i

    def _filename(self, i, basename=False, absolute=False):
        return f"mem/{i}.png"


# --------------------------------------------------------------------------------------------------------
# counts that add up


@pytest.mark.parametrize(
    ("workers", "device"), [(0, "cpu"), (2, "cpu"), pytest.param(2, "cuda", marks=[pytest.mark.cuda, CUDA])]
)
def test_map_style_delivered_plus_skipped_is_the_dataset(tmp_path, workers, device, caplog):
    root, bad = write_mixed_folder(tmp_path / "data")
    ds = ImageDataset(root, on_error="skip")
    names = ds.filenames()
    good = {i for i, n in enumerate(names) if n not in bad}
    number = {i: int(names[i].split("/")[1][:2]) for i in good}  # file number = colour identity
    assert len(bad) == 4 and len(ds) == 14
    loader = create_loader(ds, (3, 8, 8), num_workers=workers, device=device, **LOADER)
    with caplog.at_level(logging.WARNING, logger="pixelpipe.loader"):
        got = _identities(loader)
    assert len(got) == len(ds)  # every slot filled, by a whole sample
    assert all(target == ident % 2 for ident, target in got)  # never another sample's label
    assert {ident for ident, _ in got} == set(number.values())  # every good sample delivered as itself
    report = loader.skip_report()
    assert report.num_skipped == 4 and report.num_unlisted == 0
    assert {r.filename for r in report.records} == bad
    assert len(good) + report.num_skipped == len(ds)
    assert {r.index for r in report.records}.isdisjoint(good)
    assert any("epoch 0: 4 samples skipped" in r.getMessage() for r in caplog.records)
    assert {r.worker for r in report.records} <= ({None} if workers == 0 else {0, 1})
    got2 = _identities(loader)  # second epoch: its own report; the dataset's count goes on
    assert len(got2) == len(ds) and loader.skip_report().num_skipped == 4 and ds.num_skipped == 8


@pytest.mark.parametrize("workers", [0, 2])
def test_streaming_delivered_plus_skipped_is_the_dataset(tmp_path, workers):
    lengths, bad_keys = write_mixed_shards(tmp_path)
    ds = create_dataset("wds/", root=tmp_path, split="train", on_error="skip")
    loader = create_loader(ds, (3, 8, 8), num_workers=workers, device="cpu", **LOADER)
    got = _identities(loader)
    assert len(got) == sum(lengths) == len(ds) == 12
    assert all(ident == target for ident, target in got)  # the stand-in keeps its own label
    good = {i for i in range(12) if f"s{i:03d}" not in bad_keys}
    assert {ident for ident, _ in got} == good
    report = loader.skip_report()
    assert {r.key for r in report.records} == bad_keys and report.num_skipped == 3
    assert len(good) + report.num_skipped == len(ds)
    assert all(r.shard.endswith(".tar") and r.index is not None for r in report.records)


def test_plain_dataloader_and_marks():
    ds = ImageDataset(None, reader=MemoryReader(10, {3, 7}), on_error="skip", image_backend="tensor")
    loader = DataLoader(ds, batch_size=5, num_workers=2)
    mark = find_skip_source(loader).skip_mark()
    assert sum(len(y) for _, y in loader) == 10
    first = skip_report(loader, since=mark)
    assert first.num_skipped == 2 and sorted(r.index for r in first.records) == [3, 7]
    mark = ds.skip_mark()
    ds[3]
    assert ds.skip_report(since=mark).num_skipped == 1 and ds.skip_report().num_skipped == 3
    assert skip_report(object()) is None


def test_report_through_augmix_and_pickling():
    ds = ImageDataset(None, reader=MemoryReader(4, {1}), on_error="skip")
    wrapped = AugMixDataset(ds)
    assert find_skip_source(wrapped) is ds
    ds[1]
    clone = pickle.loads(pickle.dumps(ds))  # an independent copy, records included
    clone[1]
    assert clone.skip_report().num_skipped == 2 and ds.skip_report().num_skipped == 1
    assert [r.filename for r in clone.skipped] == ["mem/1.png", "mem/1.png"]


def test_worker_records_beyond_the_ring_are_counted_not_listed():
    n = 2 * RECORDS_PER_WORKER + 16
    bad = set(range(0, n, 2))
    ds = ImageDataset(None, reader=MemoryReader(n, bad), on_error="skip", image_backend="tensor")
    assert sum(len(y) for _, y in DataLoader(ds, batch_size=16, num_workers=1)) == n
    report = ds.skip_report()
    assert report.num_skipped == len(bad)
    assert len(report.records) == RECORDS_PER_WORKER and report.num_unlisted == len(bad) - RECORDS_PER_WORKER
    assert sorted(r.index for r in report.records) == sorted(bad)[-RECORDS_PER_WORKER:]  # the latest
    assert f"{report.num_unlisted} not listed" in report.summary()


def test_report_text_and_long_names():
    log = SkipLog()
    assert str(log.report()) == "no samples skipped" and not log.report()
    long = "d/" * 300 + "x.jpg"
    log.add(SkipRecord(0, long, "ImageDecodeError: " + "bad " * 200))
    log.add(SkipRecord(None, "shard.tar/k", "SampleError: gone", shard="shard.tar", key="k"))
    report = log.report()
    assert report and report.by_error() == {"ImageDecodeError": 1, "SampleError": 1}
    assert report.summary(max_listed=1).endswith("... 1 more listed")
    assert "'shard.tar/k': SampleError: gone" in report.summary()
    assert isinstance(report, SkipReport) and report.records[0].filename == long  # main process: kept whole


def test_worker_records_survive_long_names():
    class LongNames(MemoryReader):
        def _filename(self, i, basename=False, absolute=False):
            return "deep/" * 200 + f"{i}.jpg"

    ds = ImageDataset(None, reader=LongNames(4, {2}), on_error="skip", image_backend="tensor")
    assert sum(len(y) for _, y in DataLoader(ds, batch_size=2, num_workers=1)) == 4
    (rec,) = ds.skipped
    assert rec.index == 2 and rec.filename.endswith("deep/2.jpg") and rec.worker == 0


def test_identity_colours_are_distinct():
    colours = np.array([index_colour(i) for i in range(256)])
    assert all(index_of(c) == i for i, c in enumerate(colours[:64]))
    assert torch.tensor(colours).unique(dim=0).shape[0] == 256
