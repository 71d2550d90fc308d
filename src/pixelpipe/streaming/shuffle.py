"""A bounded shuffle buffer over encoded samples, seeded explicitly.

Shard order shuffling alone keeps the samples of one shard together; the buffer mixes samples across the
shards a worker reads. It holds *encoded* records (before decoding), so its memory is ``size`` times the
encoded sample size, not the decoded one.

Example:
    >>> import numpy as np
    >>> out = list(shuffle_buffer(range(10), size=4, initial=2, rng=np.random.default_rng(0)))
    >>> sorted(out) == list(range(10)), out != list(range(10))
    (True, True)
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import TypeVar

import numpy as np

from ..errors import ConfigError

__all__ = ["shuffle_buffer"]

T = TypeVar("T")


def shuffle_buffer(items: Iterable[T], size: int, initial: int, rng: np.random.Generator) -> Iterator[T]:
    """Yield ``items`` in a random order using a buffer of at most ``size`` items.

    Nothing is emitted until ``initial`` items are buffered (a warm-up that avoids a nearly unshuffled
    start); after that every incoming item is buffered and one random buffered item is emitted, the buffer
    growing by one extra read per emitted item until it holds ``size``. At the end the buffer is drained in
    random order. Every item is emitted exactly once; the order is a pure function of ``items`` and
    ``rng``'s state. ``size <= 1`` passes items through unchanged.

    Args:
        items: the records to shuffle.
        size: maximum number of buffered items.
        initial: items buffered before the first one is emitted (clamped to ``[1, size]``).
        rng: the generator every draw comes from.

    Raises:
        ConfigError: ``size`` or ``initial`` is negative.
    """
    if size < 0 or initial < 0:
        raise ConfigError(f"shuffle buffer size and initial size must be >= 0, got {size}, {initial}")
    if size <= 1:
        yield from items
        return
    initial = min(max(initial, 1), size)
    buf: list[T] = []
    source = iter(items)

    def pop_random() -> T:
        j = int(rng.integers(len(buf)))
        buf[j], buf[-1] = buf[-1], buf[j]
        return buf.pop()

    for item in source:
        buf.append(item)
        if len(buf) < size:  # grow: read one more for every item emitted, up to `size`
            buf.extend(itertools.islice(source, 1))
        if len(buf) >= initial:
            yield pop_random()
    while buf:
        yield pop_random()
