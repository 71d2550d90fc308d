"""Readers: where samples are (files, archives, shards) and their labels. Datasets decode."""

from .base import Reader

__all__ = ["Reader"]
