"""Elastic resume in one process: the rest of an epoch on another number of ranks and workers.

DataLoader workers are emulated by telling the stream which worker it is (``_worker``); the order of the
loader's batches is :func:`consumed_per_worker`'s, which ``test_streaming_plan`` checks against a real
DataLoader. ``test_streaming_dist_resume`` runs the same matrix with gloo ranks, real workers and S3.
"""

from __future__ import annotations

import json
import math
from collections import Counter

import pytest

from pixelpipe.errors import ConfigError
from pixelpipe.streaming import ListShardSource, ShardStream, consumed_per_worker

LENGTHS = [7, 0, 5, 9, 3, 8, 1, 6]  # 39 samples, uneven, an empty shard
N = sum(LENGTHS)


def _source() -> ListShardSource:
    i, shards = 0, []
    for n in LENGTHS:
        shards.append([(f"k{i + j}", i + j, i + j) for j in range(n)])
        i += n
    return ListShardSource(shards)


def _stream(rank, world, workers, batch, training, **kw) -> ShardStream:
    s = ShardStream(_source(), is_training=training, batch_size=batch, rank=rank, world_size=world, seed=5,
                    shuffle_size=kw.pop("shuffle_size", 6), initial_size=3, **kw)  # fmt: skip
    s.set_loader_cfg(num_workers=workers, batch_size=batch, drop_last=training)
    return s


def _worker_records(stream: ShardStream, worker: int, workers: int) -> list:
    stream._worker = lambda: (worker, max(1, workers))  # as inside DataLoader worker `worker`
    try:
        return list(stream.iter_records())
    finally:
        del stream._worker


def _run(world, workers, batch, training, steps=None, state=None, **kw):
    """Every rank's records per worker and, with ``steps``, the records its loader delivered by then."""
    out, states = [], []
    for rank in range(world):
        s = _stream(rank, world, workers, batch, training, **kw)
        if state is not None:
            s.load_state_dict(json.loads(json.dumps(state)))  # a JSON round trip, as a checkpoint does
        per_worker = [_worker_records(s, w, workers) for w in range(max(1, workers))]
        if steps is None:
            out.append([r for recs in per_worker for r in recs])
            continue
        counts = consumed_per_worker([len(r) for r in per_worker], batch, training, steps)
        out.append([r for recs, c in zip(per_worker, counts) for r in recs[:c]])
        states.append(s.state_dict(num_batches=steps))
    return out, states


MATRIX = [((2, 2), (1, 3)), ((2, 2), (3, 1)), ((2, 2), (4, 2)), ((2, 2), (2, 2)), ((3, 1), (2, 0))]


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("old,new", MATRIX)
def test_rest_of_epoch_is_exactly_the_unconsumed_samples(old, new, training):
    batch, steps = 2, 2
    first, states = _run(*old, batch, training, steps=steps)
    assert all(st == states[0] for st in states)  # every rank saves the same state
    assert len(json.dumps(states[0])) < 1000  # small, JSON
    consumed = Counter(r.target for recs in first for r in recs)
    rest, _ = _run(*new, batch, training, state=states[1])  # rank 1's state on every new rank
    if old == new:  # the same world continues the uninterrupted run exactly (its padding included)
        full, _ = _run(*old, batch, training)
        for r in range(old[0]):
            assert sorted(x.position for x in first[r] + rest[r]) == sorted(x.position for x in full[r])
        return
    got = Counter(r.target for recs in rest for r in recs)
    left = set(range(N)) - set(consumed)
    assert set(got) == left  # every not-yet-consumed sample, nothing consumed again
    per_rank = [len(recs) for recs in rest]
    assert len(set(per_rank)) == 1  # equal counts per rank: DDP never waits
    world, workers = new[0], max(1, new[1])
    m = len(left)
    if training:  # each worker ceil(M / (W' K')) rounded up to whole batches; the shortfall wraps
        per_worker = math.ceil(math.ceil(m / (world * workers)) / batch) * batch
        assert per_rank[0] == per_worker * workers
    else:
        assert per_rank[0] == math.ceil(m / world)
    assert sum(got.values()) - m == world * per_rank[0] - m  # the only repeats are the padding
    positions = [r.position for recs in rest for r in recs] + [r.position for recs in first for r in recs]
    assert len(set(positions)) == len(positions)  # positions (augmentation seeds) stay unique


@pytest.mark.parametrize("training", [True, False])
def test_resume_twice_and_next_epoch_follows_the_new_world(training):
    batch = 3
    a, states = _run(2, 2, batch, training, steps=2)
    b_states, b = [], []  # 3 x 1 reads a batch of the rest, then stops again
    for rank in range(3):
        s = _stream(rank, 3, 1, batch, training)
        s.load_state_dict(states[0])
        recs = _worker_records(s, 0, 1)
        b.append(recs[:batch])  # one batch
        b_states.append(s.state_dict(num_batches=1))
    assert all(st == b_states[0] for st in b_states) and len(b_states[0]["generations"]) == 2
    c, _ = _run(1, 2, batch, training, state=b_states[2])  # then 1 x 2 finishes the epoch
    seen_before = {r.target for recs in a + b for r in recs}
    finished = {r.target for recs in c for r in recs}
    assert finished == set(range(N)) - seen_before
    # the next epoch is the new world's normal plan
    nxt = _stream(0, 1, 2, batch, training)
    nxt.load_state_dict(b_states[2])
    nxt.set_epoch(1)
    normal = _stream(0, 1, 2, batch, training)
    normal.set_epoch(1)
    for w in range(2):
        assert [r.target for r in _worker_records(nxt, w, 2)] == [
            r.target for r in _worker_records(normal, w, 2)
        ]


def test_everything_consumed_gives_an_empty_rest_and_bad_states_are_refused():
    _, states = _run(1, 1, 1, False, steps=N)
    rest, _ = _run(2, 2, 1, False, state=states[0])
    assert rest == [[], []]
    state = dict(states[0])
    with pytest.raises(ConfigError, match="same data"):
        s = ShardStream(ListShardSource([[("a", 0, 0)]]), seed=5)
        s.load_state_dict(state)
    bad = json.loads(json.dumps(state))
    bad["generations"][0]["consumed"] = [N + 1]
    with pytest.raises(ConfigError, match="consumed"):
        _stream(0, 1, 1, 1, False).load_state_dict(bad)
    bad["generations"] = [{"world_size": 1}]
    with pytest.raises(ConfigError, match="malformed"):
        _stream(0, 1, 1, 1, False).load_state_dict(bad)


def test_loader_cfg_after_load_replans_the_rest():
    _, states = _run(2, 2, 2, True, steps=1)
    late = _stream(0, 1, 0, 2, True)
    late.load_state_dict(states[0])  # planned for the main process ...
    late.set_loader_cfg(num_workers=3, batch_size=2, drop_last=True)  # ... then the loader says 3 workers
    early = _stream(0, 1, 3, 2, True)
    early.load_state_dict(states[0])
    for w in range(3):
        assert [r.target for r in _worker_records(late, w, 3)] == [
            r.target for r in _worker_records(early, w, 3)
        ]
