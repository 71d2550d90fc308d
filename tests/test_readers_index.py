"""The compact sample index: correctness, and 1,000,000 entries held in a few flat arrays."""

from __future__ import annotations

import numpy as np
import pytest

from pixelpipe.errors import ConfigError
from pixelpipe.readers import SampleIndex, StringArray, natural_key


def test_string_array_roundtrip_and_take():
    strings = ["", "a", "ünïcödé/图片.jpg", "x" * 300, "b\udcff"]  # surrogate-escaped bytes survive
    a = StringArray(strings)
    assert list(a) == strings and [a[i] for i in range(-5, 5)] == strings * 2
    assert list(a[1:4]) == strings[1:4] and list(a.take([4, 0, 4])) == [strings[4], "", strings[4]]
    assert list(StringArray([]).take([])) == [] and len(StringArray()) == 0
    with pytest.raises(IndexError):
        a[5]
    with pytest.raises(ConfigError):
        StringArray.from_buffers(np.zeros(3, np.uint8), np.array([0, 2]))


def test_sample_index_sort_and_columns():
    idx = SampleIndex(["c10", "C2", "c1"], [2, 1, 0], columns={"offset": [30, 20, 10]})
    s = idx.sorted_by([natural_key(n) for n in idx.names])
    assert list(s) == [("c1", 0), ("C2", 1), ("c10", 2)] and s.columns["offset"].tolist() == [10, 20, 30]
    with pytest.raises(ConfigError):
        SampleIndex(["a"], [1, 2])


def test_natural_key_never_mixes_types():
    names = ["2", "a", "²", "a2", "A10", "10a", ""]
    assert sorted(names, key=natural_key) == ["", "2", "10a", "a", "a2", "A10", "²"]


def test_one_million_entries_stay_compact():
    n = 1_000_000
    names = [f"n{i % 1000:08d}/n{i % 1000:08d}_{i}.JPEG" for i in range(n)]
    text_bytes = sum(map(len, names))
    idx = SampleIndex(names, np.arange(n, dtype=np.int64) % 1000)
    del names
    assert len(idx) == n and idx[123_456] == ("n00000456/n00000456_123456.JPEG", 456)
    # Text plus 8 bytes of offset and 8 of target per entry; a list of (str, int) tuples needs ~150 more.
    assert idx.nbytes <= text_bytes + 16 * n + 8
    assert idx.nbytes < 50 * n
    assert idx.names._data.dtype == np.uint8 and idx.targets.dtype == np.int64
