"""The resume matrix end to end: gloo ranks with DataLoader workers stream shards from S3 through a cache.

A 2 ranks x 2 workers run stops after 3 lockstep steps; rank 1's state (JSON) is loaded by every rank of
1 x 3, 3 x 1, 4 x 2 and 2 x 2 runs. Each must read exactly the samples not yet consumed (plus the
documented padding), with equal counts per rank, and the next epoch must be the new world's whole epoch.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from test_streaming_helpers import run_script, write_wds

LENGTHS = [9, 0, 6, 11, 4, 10]  # 40 samples, uneven, an empty shard
N = sum(LENGTHS)
BATCH, STEPS = 2, 3

_SCRIPT = """
import json, os, sys
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.utils.data import DataLoader

from pixelpipe.factories import create_dataset  # imported once: every rank is forked from here


def run(rank, world, workers, root, cache, state_in, out, port, steps):
    torch.set_num_threads(1)
    if world > 1:
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=port)
        dist.init_process_group("gloo", rank=rank, world_size=world)
    ds = create_dataset(
        "wds/", root=root, split="train", is_training=True, batch_size=2, image_backend="bytes",
        sample_shuffle_size=6, sample_initial_size=3, seed=3, cache_dir=cache,
    )
    ds.set_loader_cfg(num_workers=workers, batch_size=2, drop_last=True)
    if state_in != "-":
        with open(state_in) as f:
            ds.load_state_dict(json.load(f))
    loader = DataLoader(ds, batch_size=2, num_workers=workers, drop_last=True)
    result = {"seen": [], "len": len(ds), "rank": ds.reader.rank, "world": ds.reader.world_size}
    for step, (_, y) in enumerate(loader):
        result["seen"] += y.tolist()
        if steps and step + 1 == steps:
            result["state"] = ds.state_dict(num_batches=steps)
            break
    if not steps:
        ds.set_epoch(1)
        result["next"] = [t for _, y in loader for t in y.tolist()]
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    with open(f"{out}-{world}x{workers}.{rank}", "w") as f:
        json.dump(result, f)


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


def launch(world, workers, state, steps):
    args = (world, workers, ROOT, CACHE, state, OUT, free_port(), steps)
    mp.start_processes(run, args=args, nprocs=world, join=True, start_method="fork")


if __name__ == "__main__":
    ROOT, CACHE, OUT = sys.argv[1:4]
    launch(2, 2, "-", int(sys.argv[4]))  # the first run stops after a few steps
    with open(f"{OUT}-2x2.1") as f:
        state = json.load(f)["state"]  # rank 1's state
    os.rename(f"{OUT}-2x2.0", f"{OUT}-first.0")
    os.rename(f"{OUT}-2x2.1", f"{OUT}-first.1")
    with open(f"{OUT}-state.json", "w") as f:
        json.dump(state, f)
    for world, workers in [(1, 3), (3, 1), (4, 2), (2, 2)]:
        launch(world, workers, f"{OUT}-state.json", 0)
"""


@pytest.fixture(scope="module")
def matrix(s3_server, tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("resume")
    write_wds(tmp / "d", LENGTHS, image=False)
    root = "s3://pp-resume/wds"
    s3_server.upload(tmp / "d", root)
    out = tmp / "res"
    run_script(tmp, _SCRIPT, root, str(tmp / "cache"), str(out), str(STEPS), timeout=300)

    def load(tag: str, world: int) -> list[dict]:
        return [json.loads(Path(f"{out}-{tag}.{r}").read_text()) for r in range(world)]

    results: dict = {"first": load("first", 2)}
    for world, workers in [(1, 3), (3, 1), (4, 2), (2, 2)]:
        results[(world, workers)] = load(f"{world}x{workers}", world)
    return results


def test_first_run_states_agree(matrix):
    first = matrix["first"]
    assert [r["rank"] for r in first] == [0, 1] and all(r["world"] == 2 for r in first)
    assert first[0]["state"] == first[1]["state"]  # every rank saves the same state
    assert all(len(r["seen"]) == STEPS * BATCH for r in first)


@pytest.mark.parametrize("world,workers", [(1, 3), (3, 1), (4, 2), (2, 2)])
def test_rest_of_epoch_then_next_epoch(matrix, world, workers):
    consumed = Counter(t for r in matrix["first"] for t in r["seen"])
    runs = matrix[(world, workers)]
    assert [r["rank"] for r in runs] == list(range(world))
    rest = Counter(t for r in runs for t in r["seen"])
    per_rank = {len(r["seen"]) for r in runs}
    assert len(per_rank) == 1  # equal counts per rank
    if (world, workers) == (2, 2):  # same world: the uninterrupted epoch, padding included
        assert set(consumed + rest) == set(range(N))
        assert sum((consumed + rest).values()) == 2 * runs[0]["len"]
    else:
        left = set(range(N)) - set(consumed)
        assert set(rest) == left  # exactly the samples not yet consumed
        m, k = len(left), world * workers
        per_worker = -(-m // k)
        per_worker = -(-per_worker // BATCH) * BATCH
        assert per_rank == {per_worker * workers}  # the documented padding, no more
    nxt = [r["next"] for r in runs]  # the next epoch: the new world's normal plan
    assert {len(x) for x in nxt} == {runs[0]["len"]}
    assert set(t for x in nxt for t in x) == set(range(N))
