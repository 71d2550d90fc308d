"""The epoch plan, shuffle buffer, shard specs and the stream core (no tar files, no processes)."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader

from pixelpipe.errors import ConfigError, SampleError
from pixelpipe.streaming import (
    EpochPlan,
    ListShardSource,
    ShardStream,
    consumed_per_worker,
    expand_braces,
    parse_shard_spec,
    resolve_rank_world,
    shuffle_buffer,
)

plans = st.fixed_dictionaries(
    {
        "lengths": st.lists(st.integers(0, 12), min_size=1, max_size=8).filter(lambda x: sum(x) > 0),
        "world": st.integers(1, 4),
        "workers": st.integers(0, 3),
        "shuffle": st.booleans(),
        "batch": st.integers(1, 5),
        "seed": st.integers(0, 2**31),
        "epoch": st.integers(0, 5),
    }
)


def _plan(p, **kw):
    args = dict(
        seed=p["seed"],
        epoch=p["epoch"],
        world_size=p["world"],
        num_workers=p["workers"],
        shuffle=p["shuffle"],
        batch_size=p["batch"],
        pad_to_batch=p["shuffle"],
    )
    args.update(kw)
    return EpochPlan(p["lengths"], **args)


def _ids(plan, rank, worker):
    return plan.sample_ids(rank, worker)


@settings(max_examples=150, deadline=None)
@given(plans)
def test_plan_covers_dataset_with_documented_padding(p):
    plan = _plan(p)
    n = sum(p["lengths"])
    workers = max(1, p["workers"])
    per_rank = [sum(len(_ids(plan, r, w)) for w in range(workers)) for r in range(p["world"])]
    assert per_rank == [plan.per_rank] * p["world"]  # equal counts per rank
    everything = Counter(s for r in range(p["world"]) for w in range(workers) for s in _ids(plan, r, w))
    all_ids = {(s, i) for s, n_s in enumerate(p["lengths"]) for i in range(n_s)}
    assert set(everything) == all_ids  # the union is the dataset
    total = p["world"] * plan.per_rank
    assert sum(everything.values()) == total
    if p["shuffle"]:  # training: per-worker counts are whole batches, the same on every worker
        assert plan.worker_counts == (plan.worker_counts[0],) * workers
        assert plan.worker_counts[0] % p["batch"] == 0
        per_worker = math.ceil(n / (p["world"] * workers))
        assert plan.per_rank == math.ceil(per_worker / p["batch"]) * p["batch"] * workers
    else:  # evaluation: ceil(N / world) per rank, whole batches per worker but one
        assert plan.per_rank == -(-n // p["world"])
        assert sum(c % p["batch"] != 0 for c in plan.worker_counts) <= 1
    # padding: each sample at most ceil(total / n) times, and positions are a permutation
    assert max(everything.values()) <= -(-total // n)
    positions = sorted(q for r in range(p["world"]) for w in range(workers) for q in plan.positions(r, w))
    assert positions == list(range(total))


@settings(max_examples=60, deadline=None)
@given(plans)
def test_plan_is_pure_and_epochs_differ(p):
    a, b = _plan(p), _plan(p)
    assert all(_ids(a, 0, w) == _ids(b, 0, w) for w in range(max(1, p["workers"])))
    if p["shuffle"] and sum(1 for n in p["lengths"] if n) >= 4:
        orders = {tuple(_plan(p, epoch=e).order.tolist()) for e in range(4)}
        assert len(orders) > 1


def test_uneven_empty_and_fewer_shards_than_workers():
    plan = EpochPlan([5, 0, 1], seed=0, epoch=0, world_size=2, num_workers=3)
    assert plan.per_rank == 3 and plan.worker_counts == (1, 1, 1)
    got = [plan.sample_ids(r, w) for r in range(2) for w in range(3)]
    assert got == [[(0, 0)], [(0, 1)], [(0, 2)], [(0, 3)], [(0, 4)], [(2, 0)]]
    padded = EpochPlan([1, 0, 1], seed=0, epoch=0, world_size=4, num_workers=1)  # 2 samples, 4 ranks
    assert [padded.sample_ids(r, 0) for r in range(4)] == [[(0, 0)], [(2, 0)], [(0, 0)], [(2, 0)]]
    with pytest.raises(ConfigError, match="no samples"):
        EpochPlan([0, 0], seed=0, epoch=0)


def test_num_samples_trims_and_repeats():
    trim = EpochPlan([4, 4], seed=0, epoch=0, num_samples=3)
    assert trim.sample_ids(0, 0) == [(0, 0), (0, 1), (0, 2)]
    more = EpochPlan([2], seed=0, epoch=0, num_samples=5)
    assert more.sample_ids(0, 0) == [(0, 0), (0, 1), (0, 0), (0, 1), (0, 0)]


def test_shuffle_buffer_bounded_and_seeded():
    out = list(shuffle_buffer(range(100), size=10, initial=5, rng=np.random.default_rng(1)))
    assert sorted(out) == list(range(100)) and out != list(range(100))
    again = list(shuffle_buffer(range(100), size=10, initial=5, rng=np.random.default_rng(1)))
    assert out == again
    # bounded: an item can be emitted at most `size` reads after it entered
    assert all(out.index(i) >= i - 10 for i in range(100))
    assert list(shuffle_buffer(range(5), size=0, initial=0, rng=np.random.default_rng(0))) == list(range(5))


def test_shard_specs():
    assert expand_braces("a-{08..11}.tar") == ["a-08.tar", "a-09.tar", "a-10.tar", "a-11.tar"]
    assert parse_shard_spec("a-{0..1}.tar::b.tar|7") == (["a-0.tar", "a-1.tar", "b.tar"], 7)
    with pytest.raises(ConfigError, match="unbalanced"):
        expand_braces("a-{0..1.tar")
    with pytest.raises(ConfigError, match="empty"):
        expand_braces("a-{3..1}.tar")


def test_rank_world_resolution(monkeypatch):
    monkeypatch.setenv("RANK", "2")
    monkeypatch.setenv("WORLD_SIZE", "3")
    assert resolve_rank_world() == (2, 3)
    assert resolve_rank_world(0, None) == (0, 3)
    monkeypatch.setenv("RANK", "5")
    with pytest.raises(ConfigError, match="rank"):
        resolve_rank_world()


def _source(lengths):
    i, shards = 0, []
    for n in lengths:
        shards.append([(f"k{j}", i + j, i + j) for j in range(n)])
        i += n
    return ListShardSource(shards)


@pytest.mark.parametrize(
    "workers,batch,training", [(2, 3, False), (2, 2, True), (2, 4, False), (0, 3, False)]
)
def test_consumed_per_worker_matches_dataloader_order(workers, batch, training):
    src = _source([7, 0, 4, 6])
    stream = ShardStream(src, is_training=training, batch_size=batch, world_size=1, shuffle_size=0)
    stream.set_loader_cfg(num_workers=workers, batch_size=batch, drop_last=training)
    plan = stream.plan()
    per_worker = [[x for x, _ in _records(stream, plan, w)] for w in range(plan.num_workers)]
    loader = DataLoader(_Wrap(stream), batch_size=batch, num_workers=workers, drop_last=training)
    batches = [b.tolist() for b in loader]
    assert len(batches) == len(loader)  # the reported length is exact
    for k in range(len(batches) + 1):
        seen = [x for b in batches[:k] for x in b]
        want = consumed_per_worker(plan.worker_counts, batch, training, k)
        assert sorted(seen) == sorted(x for w in range(plan.num_workers) for x in per_worker[w][: want[w]])


class _Wrap(torch.utils.data.IterableDataset):
    def __init__(self, stream):
        self.stream = stream

    def __iter__(self):
        return (x for x, _ in self.stream)

    def __len__(self):
        return len(self.stream)


def _records(stream, plan, worker):
    return [(r.input, r.target) for r in stream.read_segments(plan.segments(stream.rank, worker))]


def test_stream_state_resume_in_process():
    src = _source([5, 3, 0, 6])
    full = [x for x, _ in ShardStream(src, is_training=True, batch_size=2, shuffle_size=4, initial_size=2)]
    s = ShardStream(src, is_training=True, batch_size=2, shuffle_size=4, initial_size=2)
    it = iter(s)
    first = [next(it)[0] for _ in range(5)]
    state = s.state_dict()
    assert state["consumed"] == [5]
    t = ShardStream(src, is_training=True, batch_size=2, shuffle_size=4, initial_size=2)
    t.load_state_dict(state)
    rest = [x for x, _ in t]
    assert first + rest == full
    assert [x for x, _ in t] == full  # resumes once, then whole epochs again
    t.set_epoch(1)
    assert sorted(x for x, _ in t) == sorted(full) and [x for x, _ in t] != full
    # elastic: the state loads on every rank of a 2-rank world; together they read exactly the rest
    halves = []
    for rank in range(2):
        u = ShardStream(src, is_training=True, batch_size=2, shuffle_size=4, initial_size=2, rank=rank,
                        world_size=2)  # fmt: skip
        u.load_state_dict(state)
        halves.append([x for x, _ in u])
    rest_ids = Counter(halves[0] + halves[1])
    assert len(halves[0]) == len(halves[1]) == 6  # ceil(9 / 2) = 5, rounded up to whole batches of 2
    assert set(rest_ids) == set(full) - set(first) and sum(rest_ids.values()) - 9 == 3  # 3 padding
    with pytest.raises(ConfigError, match="seed"):
        ShardStream(src, is_training=True, seed=7).load_state_dict(state)
    with pytest.raises(ConfigError, match="is_training"):
        ShardStream(src, world_size=2, rank=0).load_state_dict(state)


def test_unreadable_shard_keeps_counts():
    class Broken(ListShardSource):
        def iter_shard(self, index, start=0):
            if index == 1:
                yield "ok", 1, 1
                raise OSError("disk on fire")
            yield from super().iter_shard(index, start)

    recs = list(ShardStream(Broken([[("a", 0, 0)], [("b", 1, 1), ("c", 2, 2)]])).iter_records())
    assert len(recs) == 3 and isinstance(recs[2].input, SampleError)
    assert "disk on fire" in str(recs[2].input) and "shard-1" in str(recs[2].input)
