"""The skip report: which samples a dataset skipped under ``on_error='skip'``, and why.

A dataset keeps its skips in a :class:`SkipLog` that lives in shared memory, so the skips of DataLoader
worker processes (forked or spawned) are visible in the main process without a manager process, a queue or
a pipe that could fill up and block a worker:

* an exact count per process (one slot each, so increments never race);
* the latest :data:`RECORDS_PER_WORKER` records of each worker (a ring of fixed-size JSON entries per
  worker; workers beyond 16 share rings, and a record overwritten or read while being written is left out
  of the listing, never the count);
* the main process's records in a plain list, all of them.

``dataset.skip_mark()`` remembers a position; ``dataset.skip_report(since=mark)`` gives a
:class:`SkipReport` of what was skipped after it (:class:`~pixelpipe.loader.PrefetchLoader` does this for
every pass and logs the summary at the end of the epoch).

Example:
    >>> log = SkipLog()
    >>> log.add(SkipRecord(3, 'cat/3.jpg', 'ImageDecodeError: truncated'))
    >>> mark = log.mark()
    >>> log.add(SkipRecord(7, 'dog/7.jpg', 'ImageTooLargeError: 60000 x 60000'))
    >>> log.report().num_skipped, log.report(since=mark).num_skipped
    (2, 1)
    >>> print(log.report())
    2 samples skipped (1 ImageDecodeError, 1 ImageTooLargeError): 'cat/3.jpg' (index 3): ...
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils.data import get_worker_info

__all__ = ["RECORDS_PER_WORKER", "SkipLog", "SkipMark", "SkipRecord", "SkipReport", "SkipReporting"]

_COUNT_SLOTS = 257  # slot 0: the main process; 1 + k: DataLoader worker k (mod 256)
_RINGS = 16  # worker k writes its records to ring k % 16
RECORDS_PER_WORKER = 32
"""How many of its latest skip records each DataLoader worker keeps for the report."""
_ENTRY_BYTES = 512
# characters kept of (file name, error, shard, key) in a worker's record, tried in turn until it fits
_CLIPS = ((160, 200, 120, 80), (100, 100, 60, 60), (40, 40, 30, 40))
_INT_BYTES = 8 * (_COUNT_SLOTS + _RINGS)  # counts, then each ring's write position
_MAX_LOCAL = 100_000  # main-process records kept (the count stays exact beyond)


@dataclass(frozen=True)
class SkipRecord:
    """One skipped sample.

    Attributes:
        index: its dataset index (map-style) or position in the epoch (streams).
        filename: the file, archive member or ``shard/key``.
        error: ``'<error type>: <message>'``.
        shard: the shard (streams only).
        key: the sample key inside the shard (streams only).
        worker: the DataLoader worker that skipped it (``None``: the main process).
    """

    index: int | None
    filename: str | None
    error: str
    shard: str | None = None
    key: str | None = None
    worker: int | None = None

    @property
    def error_type(self) -> str:
        """The error's type name (the part of :attr:`error` before the first ``':'``)."""
        return self.error.split(":", 1)[0]

    def describe(self) -> str:
        """``'<file>' (index i): <error>``, or just the error when it names the file already."""
        if self.filename is not None and repr(self.filename) in self.error:
            return self.error
        where = repr(self.filename) if self.filename is not None else "<unnamed>"
        if self.index is not None and self.shard is None:
            where += f" (index {self.index})"
        return f"{where}: {self.error}"


@dataclass(frozen=True)
class SkipMark:
    """A position in a :class:`SkipLog` (from :meth:`SkipLog.mark`)."""

    total: int
    local: int
    rings: tuple[int, ...]


@dataclass(frozen=True)
class SkipReport:
    """The skips of a dataset since a mark (or since it was built).

    Attributes:
        num_skipped: samples skipped, exactly, in every process.
        records: the skips that are listed: all of the main process's, then the latest
            :data:`RECORDS_PER_WORKER` of each DataLoader worker, in time order.
    """

    num_skipped: int
    records: tuple[SkipRecord, ...] = field(default=())

    @property
    def num_unlisted(self) -> int:
        """Skips counted but not listed in :attr:`records`."""
        return max(0, self.num_skipped - len(self.records))

    def by_error(self) -> dict[str, int]:
        """Listed skips per error type, most frequent first."""
        return dict(Counter(r.error_type for r in self.records).most_common())

    def __bool__(self) -> bool:
        return self.num_skipped > 0

    def summary(self, max_listed: int = 3) -> str:
        """One line: the count, the error types and the first ``max_listed`` records."""
        if not self.num_skipped:
            return "no samples skipped"
        noun = "sample" if self.num_skipped == 1 else "samples"
        kinds = ", ".join(f"{n} {k}" for k, n in self.by_error().items())
        if self.num_unlisted:
            kinds += f"{', ' if kinds else ''}{self.num_unlisted} not listed"
        head = f"{self.num_skipped} {noun} skipped ({kinds})"
        listed = "; ".join(r.describe() for r in self.records[:max_listed])
        more = f"; ... {len(self.records) - max_listed} more listed" if len(self.records) > max_listed else ""
        return f"{head}: {listed}{more}" if listed else head

    def __str__(self) -> str:
        return self.summary()


def _clip(text: str | None, n: int, keep_end: bool = False) -> str | None:
    if text is None or len(text) <= n:
        return text
    return "..." + text[-(n - 3) :] if keep_end else text[: n - 3] + "..."


def _encode(record: SkipRecord, worker: int, pos: int) -> bytes:
    """A worker's record as JSON of at most ``_ENTRY_BYTES`` bytes (long texts clipped)."""
    # a stream's file name is '<shard>/<key>': rebuilt from those when read back
    same = record.shard is not None and record.filename == f"{record.shard}/{record.key}"
    for f, e, s, k in _CLIPS:
        entry = {
            "i": record.index,
            "f": None if same else _clip(record.filename, f, keep_end=True),
            "e": _clip(record.error, e),
            "s": _clip(record.shard, s, keep_end=True),
            "k": _clip(record.key, k, keep_end=True),
            "w": worker,
            "q": pos,
            "t": time.time(),
        }
        data = json.dumps(entry, ensure_ascii=True).encode("ascii")
        if len(data) <= _ENTRY_BYTES:
            return data
    return data[:_ENTRY_BYTES]  # unreadable when listed: counted, not listed


class SkipLog:
    """Skip counts and records shared between a dataset and its DataLoader workers (see the module docs).

    A plain ``pickle``/``copy`` gets an independent copy (with the records so far); DataLoader workers
    share it (fork: inherited; spawn/forkserver: torch's shared-memory pickling).
    """

    def __init__(self) -> None:
        ring_bytes = _RINGS * RECORDS_PER_WORKER * _ENTRY_BYTES
        self._shm = torch.zeros(_INT_BYTES + ring_bytes, dtype=torch.uint8).share_memory_()
        self._local: list[SkipRecord] = []
        self._local_total = 0

    # views of the one shared buffer (made on demand: they survive any pickling of ``_shm``)
    def _ints(self) -> torch.Tensor:
        return self._shm[:_INT_BYTES].view(torch.int64)

    def _ring(self) -> torch.Tensor:
        return self._shm[_INT_BYTES:].view(_RINGS, RECORDS_PER_WORKER, _ENTRY_BYTES)

    @property
    def num_skipped(self) -> int:
        """Skips so far in every process."""
        return int(self._ints()[:_COUNT_SLOTS].sum())

    def add(self, record: SkipRecord) -> None:
        """Count ``record`` and keep it for the report (call in the process that skipped the sample)."""
        info = get_worker_info()
        ints = self._ints()
        if info is None:
            if len(self._local) < _MAX_LOCAL:
                self._local.append(record)
            self._local_total += 1
            ints[0] += 1
            return
        ring = info.id % _RINGS
        pos = int(ints[_COUNT_SLOTS + ring])
        data = _encode(record, info.id, pos)
        slot = self._ring()[ring, pos % RECORDS_PER_WORKER]
        slot.zero_()
        slot[: len(data)] = torch.frombuffer(bytearray(data), dtype=torch.uint8)
        ints[_COUNT_SLOTS + ring] = pos + 1
        ints[1 + info.id % (_COUNT_SLOTS - 1)] += 1

    def mark(self) -> SkipMark:
        """The current position: :meth:`report` ``(since=mark)`` lists only later skips."""
        ints = self._ints()
        rings = tuple(int(v) for v in ints[_COUNT_SLOTS:].tolist())
        return SkipMark(int(ints[:_COUNT_SLOTS].sum()), self._local_total, rings)

    def _worker_records(self, since: SkipMark | None) -> list[tuple[float, SkipRecord]]:
        ints = self._ints()
        ring = self._ring().numpy()
        out = []
        for r in range(_RINGS):
            pos = int(ints[_COUNT_SLOTS + r])
            start = max(pos - RECORDS_PER_WORKER, since.rings[r] if since is not None else 0)
            for q in range(start, pos):
                raw = ring[r, q % RECORDS_PER_WORKER].tobytes().rstrip(b"\0")
                try:
                    d: dict[str, Any] = json.loads(raw)
                    if d.get("q") != q:
                        continue  # overwritten by a worker sharing this ring
                    name = d["f"] if d["f"] is not None or d["s"] is None else f"{d['s']}/{d['k']}"
                    rec = SkipRecord(d["i"], name, d["e"], d["s"], d["k"], d["w"])
                    out.append((float(d["t"]), rec))
                except (ValueError, KeyError, TypeError):
                    continue  # being written right now, or clipped: counted, not listed
        out.sort(key=lambda x: x[0])
        return out

    def report(self, since: SkipMark | None = None) -> SkipReport:
        """A :class:`SkipReport` of the skips after ``since`` (default: all of them)."""
        total = self.num_skipped - (since.total if since is not None else 0)
        local_from = since.local if since is not None else 0
        local = self._local[local_from:] if local_from <= len(self._local) else []
        records = [r for _, r in self._worker_records(since)]
        return SkipReport(max(0, total), tuple(local + records))


class SkipReporting:
    """The skip API of a dataset that keeps a :class:`SkipLog` in ``self._skips`` (map-style and streams).

    Records name the file and index of a map-style sample, or the shard, key and position of a streamed
    one.
    """

    _skips: SkipLog

    @property
    def num_skipped(self) -> int:
        """Samples skipped so far by this dataset in every process (DataLoader workers included)."""
        return self._skips.num_skipped

    @property
    def skipped(self) -> list[SkipRecord]:
        """The listed skips so far (see :meth:`skip_report`)."""
        return list(self._skips.report().records)

    def skip_mark(self) -> SkipMark:
        """The current position in the skip log, for :meth:`skip_report` ``(since=...)``."""
        return self._skips.mark()

    def skip_report(self, since: SkipMark | None = None) -> SkipReport:
        """Which samples were skipped and why, in every process, since ``since`` or ever.

        Example:
            >>> from pixelpipe.datasets import ImageDataset
            >>> from pixelpipe.readers import Reader
            >>> class Junk(Reader):
            ...     def __len__(self):
            ...         return 2
            ...     def __getitem__(self, i):
            ...         return b'not an image', i
            ...     def _filename(self, i, basename=False, absolute=False):
            ...         return f'junk{i}.jpg'
            >>> ds = ImageDataset(None, reader=Junk(), on_error='skip', max_skips=1)
            >>> ds[0]
            Traceback (most recent call last):
            ...
            pixelpipe.errors.SampleError: 1 consecutive samples failed to load, ...
            >>> print(ds.skip_report().summary())
            1 sample skipped (1 ImageDecodeError): ImageDecodeError: ... ('junk0.jpg', index 0): ...
        """
        return self._skips.report(since)
