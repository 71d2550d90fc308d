"""A DataLoader worker that dies, or raises, surfaces in the main process through pixelpipe's wrappers
(``create_loader``: SeededSampler, SeededDataset, SeededCollate, PrefetchLoader, MultiEpochsDataLoader):
an error naming the worker, or the worker's own exception with its traceback text — never a hang."""

from __future__ import annotations

import io
import os
import signal

import pytest
import torch
from torch.utils.data import Dataset, IterableDataset, get_worker_info

from _bad_inputs import bad_files, png_of
from pixelpipe.datasets import ImageDataset
from pixelpipe.errors import ImageDecodeError
from pixelpipe.factories import create_loader
from pixelpipe.readers import Reader

pytestmark = pytest.mark.timeout(90)  # a hang fails here, with every thread's stack, instead of stalling

LOADER = dict(batch_size=2, mean=(0.0,) * 3, std=(1.0,) * 3, seed=0)
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
DEVICES = ["cpu", pytest.param("cuda", marks=[pytest.mark.cuda, CUDA])]  # CUDA: the side-stream path


class Fragile(Dataset):
    """Eight tiny samples; in a worker process, sample 2 kills the worker or raises.

    Sample 2 is the first of worker 1 (batches of 2, in order), so the worker dies before it has sent
    anything: a worker killed while the main process is still receiving one of its tensors can make torch
    report a ``ConnectionResetError`` first (still an error, not a hang), which would make this test flaky.
    """

    transform = None

    def __init__(self, how: str) -> None:
        self.how = how

    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 2 and get_worker_info() is not None:
            if self.how == "exit":
                os._exit(3)
            if self.how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            raise ValueError(f"sample {i} is cursed")
        return self.transform(torch.full((3, 8, 8), i, dtype=torch.uint8)), i


class FragileStream(IterableDataset):
    transform = None

    def __iter__(self):
        info = get_worker_info()
        for i in range(6):
            if i == 0 and info is not None and info.id == 1:  # before sending anything (see Fragile)
                os._exit(4)
            yield self.transform(torch.zeros((3, 8, 8), dtype=torch.uint8)), i


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("multi_epochs", [False, True], ids=["DataLoader", "MultiEpochsDataLoader"])
@pytest.mark.parametrize("how", ["exit", "kill"])
def test_dead_worker_is_an_error_not_a_hang(how, multi_epochs, device):
    loader = create_loader(
        Fragile(how), (3, 8, 8), num_workers=2, use_multi_epochs_loader=multi_epochs, device=device, **LOADER
    )
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid\(s\) [\d, ]+\) exited unexpectedly"):
        for _ in loader:
            pass


def test_dead_worker_of_an_iterable_dataset():
    loader = create_loader(FragileStream(), (3, 8, 8), num_workers=2, device="cpu", **LOADER)
    with pytest.raises(RuntimeError, match="exited unexpectedly"):
        list(loader)


@pytest.mark.parametrize("device", DEVICES)
def test_worker_exception_keeps_its_type_and_traceback(device):
    loader = create_loader(Fragile("raise"), (3, 8, 8), num_workers=2, device=device, **LOADER)
    with pytest.raises(ValueError) as info:
        list(loader)
    text = str(info.value)
    assert "Caught ValueError in DataLoader worker process" in text
    assert "Original Traceback" in text and "in __getitem__" in text and "sample 2 is cursed" in text


def test_sample_error_from_a_worker_names_the_file():
    class Files(Reader):
        def __init__(self):
            super().__init__()
            self.data = [png_of(0), png_of(1), bad_files()["truncated.jpg"], png_of(3)]

        def __len__(self):
            return 4

        def __getitem__(self, i):
            return io.BytesIO(self.data[i]), i

        def _filename(self, i, basename=False, absolute=False):
            return f"cls/{i}.jpg"

    loader = create_loader(
        ImageDataset(None, reader=Files()), (3, 8, 8), num_workers=2, device="cpu", **LOADER
    )
    with pytest.raises(ImageDecodeError) as info:  # the class survives the trip from the worker
        list(loader)
    text = str(info.value)
    assert "'cls/2.jpg', index 2" in text and "Original Traceback" in text and "decode_tensor" in text
