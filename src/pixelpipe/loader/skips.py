"""Skip reports through a loader: which samples the dataset skipped in an epoch, whatever wraps it.

:class:`~pixelpipe.loader.PrefetchLoader` (what ``create_loader`` returns by default) marks the dataset's
skip log when a pass starts, logs a one-line warning summary when the pass ends with skipped samples, and
answers ``loader.skip_report()`` with the skips of its latest pass. For a plain ``DataLoader`` use
:func:`skip_report` with a mark you took before the epoch.

Example:
    >>> import torch
    >>> from pixelpipe.datasets import ImageDataset
    >>> from pixelpipe.readers import Reader
    >>> class Junk(Reader):
    ...     def __len__(self):
    ...         return 1
    ...     def __getitem__(self, i):
    ...         return b'', 0
    ...     def _filename(self, i, basename=False, absolute=False):
    ...         return 'empty.jpg'
    >>> ds = ImageDataset(None, reader=Junk(), on_error='skip')
    >>> loader = torch.utils.data.DataLoader(ds)
    >>> mark = find_skip_source(loader).skip_mark()
    >>> try:
    ...     _ = list(loader)
    ... except Exception:
    ...     pass
    >>> skip_report(loader, since=mark).num_skipped
    1
"""

from __future__ import annotations

from typing import Any

__all__ = ["find_skip_source", "skip_report"]


def find_skip_source(obj: Any) -> Any | None:
    """The dataset with a skip log behind ``obj`` (a loader, a wrapper dataset, ...), or ``None``.

    Looks through ``.dataset`` attributes (``DataLoader``, :class:`~pixelpipe.loader.PrefetchLoader`,
    :class:`~pixelpipe.loader.SeededDataset`, :class:`~pixelpipe.datasets.AugMixDataset`).
    """
    for _ in range(8):
        if obj is None:
            return None
        if callable(getattr(obj, "skip_report", None)) and callable(getattr(obj, "skip_mark", None)):
            return obj
        obj = getattr(obj, "dataset", None)
    return None


def skip_report(obj: Any, since: Any = None) -> Any | None:
    """The :class:`~pixelpipe.datasets.SkipReport` of the dataset behind ``obj`` (``None`` without one).

    Args:
        obj: a loader or dataset (see :func:`find_skip_source`).
        since: a mark from ``skip_mark()`` of the same dataset; default: every skip so far.
    """
    source = find_skip_source(obj)
    return None if source is None else source.skip_report(since=since)
