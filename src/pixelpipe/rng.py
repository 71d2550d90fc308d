"""One source of randomness for the whole pipeline.

Every random decision pixelpipe makes (crop windows, flips, augmentation ops and magnitudes, erasing boxes,
Mixup/CutMix lambdas, shuffles) is drawn from the :class:`numpy.random.Generator` returned by
:func:`get_rng`, or from a :class:`torch.Generator` made from it with :func:`torch_generator`. pixelpipe
never draws from Python's ``random`` module or NumPy's global state, unlike the reference library, which
mixes three separately seeded sources.

Where :func:`get_rng` takes its generator from, first match wins:

1. a generator installed for the current context with :func:`use_rng` (datasets install one per sample,
   derived from ``(seed, epoch, index)``, so a sample's augmentation does not depend on how many
   DataLoader workers there are);
2. the process generator. It is drawn from torch's default generator, and drawn again whenever that one
   has moved (re-seeded, or used by a torch random op), so ``torch.manual_seed(s)`` (or
   :func:`manual_seed`) makes a run reproducible, also when a process re-seeds with the same seed, and
   every DataLoader worker process, whose torch seed differs, gets its own stream.

Example:
    >>> import pixelpipe.rng as prng
    >>> prng.manual_seed(0)
    >>> a = prng.get_rng().random()
    >>> prng.manual_seed(0)
    >>> a == prng.get_rng().random()
    True
    >>> with prng.use_rng(123):
    ...     b = prng.get_rng().integers(0, 10)
    >>> with prng.use_rng(123):
    ...     bool(b == prng.get_rng().integers(0, 10))
    True
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np
import torch

__all__ = ["derive_seed", "get_rng", "manual_seed", "new_rng", "torch_generator", "use_rng"]

_MASK64 = (1 << 64) - 1
_SCOPED: ContextVar[np.random.Generator | None] = ContextVar("pixelpipe_rng", default=None)


def _splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def derive_seed(*keys: int) -> int:
    """Mix integer keys into one well-spread, non-negative 63-bit seed.

    The result is a pure function of the keys (stable across processes, platforms and Python versions,
    unlike ``hash``), so ``derive_seed(seed, epoch, index)`` names one sample's randomness exactly.

    Example:
        >>> derive_seed(42, 0, 7) == derive_seed(42, 0, 7)
        True
        >>> derive_seed(42, 0, 7) != derive_seed(42, 1, 7)
        True
    """
    h = 0x243F6A8885A308D3
    for k in keys:
        h = _splitmix64(h ^ (int(k) & _MASK64))
    return h >> 1


def new_rng(*keys: int) -> np.random.Generator:
    """A fresh generator seeded with ``derive_seed(*keys)``."""
    return np.random.default_rng(derive_seed(*keys))


def _torch_state() -> bytes:
    return torch.default_generator.get_state().numpy().tobytes()


class _ProcessRng:
    """The per-process generator, drawn from torch's default generator.

    It is drawn again (one 64-bit draw, which advances torch's generator) whenever torch's generator has
    moved since the last draw: re-seeded (``torch.manual_seed``, also with the same seed as before, and the
    per-worker seeding of DataLoader workers) or used by any torch random op. So pixelpipe's stream is a
    function of torch's: re-seeding torch replays both, whatever ran in between. While torch's generator
    does not move, the same generator keeps going.
    """

    def __init__(self) -> None:
        self.pid: int | None = None
        self.torch_state: bytes | None = None
        self.rng: np.random.Generator | None = None

    def get(self) -> np.random.Generator:
        state = _torch_state()
        if self.rng is None or state != self.torch_state or os.getpid() != self.pid:
            self.rng = new_rng(int(torch.empty((), dtype=torch.int64).random_()))
            self.torch_state = _torch_state()
            self.pid = os.getpid()
        return self.rng


_PROCESS = _ProcessRng()


def get_rng() -> np.random.Generator:
    """The generator every random draw in pixelpipe uses right now (see the module docs)."""
    scoped = _SCOPED.get()
    if scoped is not None:
        return scoped
    return _PROCESS.get()


def manual_seed(seed: int) -> None:
    """Seed pixelpipe and torch in this process: the same seed gives the same samples and batches.

    DataLoader workers derive their own streams from torch's per-worker seeds, which depend on this seed
    through the loader's base seed.
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"manual_seed: seed must be an int, got {type(seed).__name__}")
    torch.manual_seed(int(seed) & _MASK64)  # the process generator is drawn again: torch's state moved


@contextmanager
def use_rng(rng: np.random.Generator | int) -> Iterator[np.random.Generator]:
    """Install ``rng`` (or a generator seeded with ``derive_seed(rng)``) for the current context.

    Everything pixelpipe draws inside the ``with`` block comes from it; the previous generator is
    restored afterwards. Context-local, so threads and async tasks do not see each other's generator.
    """
    gen = rng if isinstance(rng, np.random.Generator) else new_rng(rng)
    token = _SCOPED.set(gen)
    try:
        yield gen
    finally:
        _SCOPED.reset(token)


def torch_generator(
    rng: np.random.Generator | None = None, device: torch.device | str | None = None
) -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded from ``rng`` (default :func:`get_rng`).

    Batched tensor ops (Mixup/CutMix, batched random erasing) draw from such a generator so that their
    randomness still comes from the one source.
    """
    src = rng if rng is not None else get_rng()
    gen = torch.Generator(device=device if device is not None else "cpu")
    gen.manual_seed(int(src.integers(0, 2**63 - 1)))
    return gen
