"""Split names and their synonyms, shared by the folder split search and the tar split selection."""

from __future__ import annotations

__all__ = ["EVAL_SPLITS", "TRAIN_SPLITS", "split_candidates"]

TRAIN_SPLITS: tuple[str, ...] = ("train", "training")
"""Split names meaning "training", tried in this order."""

EVAL_SPLITS: tuple[str, ...] = ("val", "valid", "validation", "eval", "evaluation")
"""Split names meaning "evaluation", tried in this order."""


def split_candidates(split: str) -> tuple[str, ...]:
    """Folder names that may hold ``split``, in the order they are tried.

    ``split`` is cut at its first ``[`` (``'train[:10%]'`` -> ``'train'``) and tried first; then, for a
    training split, ``train`` and ``training``; for an evaluation split ``val``, ``valid``, ``validation``,
    ``eval`` and ``evaluation``.

    Example:
        >>> split_candidates('validation')
        ('validation', 'val', 'valid', 'eval', 'evaluation')
        >>> split_candidates('train[:10%]')
        ('train', 'training')
        >>> split_candidates('holdout')
        ('holdout',)
    """
    name = split.split("[")[0]
    synonyms = TRAIN_SPLITS if name in TRAIN_SPLITS else EVAL_SPLITS if name in EVAL_SPLITS else ()
    return (name, *(s for s in synonyms if s != name))
