"""2 ranks x 2 DataLoader workers with torch.distributed (gloo, CPU) over webdataset shards."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from test_streaming_helpers import run_script, write_wds

_SCRIPT = """
import json, os, sys
import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def run(rank, world, root, out, port):
    mp.set_start_method("fork", force=True)  # DataLoader workers: fork (spawn re-imports everything)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=port)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    from torch.utils.data import DataLoader
    from pixelpipe.factories import create_dataset
    from pixelpipe.factories import create_loader

    result = {}
    # 1. epochs over the shards: rank and world come from torch.distributed
    for training in (False, True):
        ds = create_dataset("wds/", root=root, split="train", is_training=training, batch_size=2,
                            image_backend="bytes", sample_shuffle_size=6, sample_initial_size=3, seed=3)
        ds.set_loader_cfg(num_workers=2, batch_size=2, drop_last=training)
        loader = DataLoader(ds, batch_size=2, num_workers=2, drop_last=training, persistent_workers=True)
        for epoch in (0, 1, 0):
            ds.set_epoch(epoch)
            seen = [t for _, y in loader for t in y.tolist()]
            result.setdefault(f"{training}", []).append(seen)
        result[f"len{training}"] = len(ds)
    # 2. a tiny DDP training loop consuming create_loader over the shards
    ds = create_dataset("wds/", root=root, split="train", is_training=True, batch_size=4, seed=0)
    loader = create_loader(ds, input_size=(3, 8, 8), batch_size=4, is_training=True, num_workers=2,
                           use_prefetcher=False, device="cpu", no_aug=True, seed=0)
    model = torch.nn.parallel.DistributedDataParallel(torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 32)))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    steps = 0
    for epoch in range(2):
        ds.set_epoch(epoch)
        for x, y in loader:
            loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            steps += 1
    result["steps"] = steps
    result["loss"] = float(loss.detach())
    dist.barrier()
    dist.destroy_process_group()
    json.dump(result, open(f"{out}.{rank}", "w"))


if __name__ == "__main__":
    mp.spawn(run, args=(2, sys.argv[1], sys.argv[2], sys.argv[3]), nprocs=2, join=True)
"""


def _free_port() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


@pytest.fixture(scope="module")
def dist_results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dist")
    write_wds(tmp / "d", [6, 0, 5, 1, 7, 3])  # 22 samples, uneven, an empty shard
    out = str(tmp / "res")
    run_script(tmp, _SCRIPT, str(tmp / "d"), out, _free_port(), timeout=180)
    return [json.loads(Path(f"{out}.{r}").read_text()) for r in range(2)]


@pytest.mark.parametrize("training", [False, True])
def test_each_epoch_union_is_dataset_with_equal_counts(dist_results, training):
    key = str(training)
    for epoch in range(3):
        per_rank = [r[key][epoch] for r in dist_results]
        assert len(per_rank[0]) == len(per_rank[1]) == dist_results[0][f"len{training}"]
        union = Counter(per_rank[0]) + Counter(per_rank[1])
        assert set(union) == set(range(22))
        padding = sum(union.values()) - 22
        # eval: ceil(22 / 2) per rank, no padding; training: per worker ceil(22 / 4) = 6 -> 6 (batch 2)
        assert padding == (0 if not training else 2 * 2 * 6 - 22)


def test_epochs_differ_but_are_reproducible(dist_results):
    for r in dist_results:
        assert r["True"][0] != r["True"][1]  # training: epoch 1 is another order
        assert r["True"][0] == r["True"][2]  # epoch 0 again: the same order
        assert r["False"][0] == r["False"][1] == r["False"][2]  # evaluation: fixed order


def test_ddp_loop_ran_to_completion(dist_results):
    # 22 samples, 2 ranks x 2 workers, batch 4: 8 per worker -> 2 batches per worker -> 4 per rank per epoch
    assert [r["steps"] for r in dist_results] == [8, 8]
