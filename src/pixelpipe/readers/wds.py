"""``ReaderWds``: webdataset tar shards, streamed with exact sharding over ranks and workers.

Same constructor as the reference's ``ReaderWds`` (REFERENCE §1.9), on pixelpipe's streaming core
(:mod:`pixelpipe.streaming`) instead of the webdataset pipeline:

* ``split`` is a split name of ``root/_info.json`` (or ``info.json``), or a shard spec such as
  ``'train-{000000..000009}.tar'`` with an optional ``|<num_samples>`` suffix (brace-expanded, relative
  to ``root``). Shard lengths come from the info file, or are counted from the tar headers.
* Every rank yields the same number of samples, split per sample (not per shard) over
  ``rank * num_workers + worker``; see :mod:`pixelpipe.streaming.plan` for the padding rule.
* Samples stay encoded in the reader: it yields ``(encoded image bytes, target)``; a sample without any of
  the ``input_key`` members, or with an unreadable ``cls``, is yielded with a
  :class:`~pixelpipe.errors.SampleError` as its input, naming the shard and key, and
  :class:`~pixelpipe.datasets.IterableImageDataset` applies its ``on_error`` policy.
* ``root`` and shard names may be local paths, object-store URLs (``s3://``, ``gs://``, ``hf://``, any
  fsspec URL; ``pixelpipe[s3]`` / ``pixelpipe[gcs]``), ``file://`` / ``http(s)://`` URLs or ``pipe:CMD``
  commands, opened with :func:`pixelpipe.streaming.gopen.open_stream`; the ``webdataset`` package is not
  needed. Remote shards are streamed, or with ``cache_dir`` downloaded once per node into a
  :class:`~pixelpipe.streaming.cache.ShardCache` (size limit ``cache_limit``, LRU eviction, next shard
  prefetched, transient errors retried). Their per-shard sample counts must come from the split info
  (``shard_lengths``, as ``pixelpipe shard`` writes it): without them the reader raises a
  :class:`~pixelpipe.errors.ConfigError` instead of downloading every shard to count it.
* A shard that cannot be fetched (missing, or failing after its retries) turns each of its samples into a
  per-sample error naming the shard's URL: ``on_error='raise'`` raises it, ``on_error='skip'`` counts
  every sample of the shard in the skip report.
* Commands and URLs come only from the caller (``root``, a shard spec in ``split``). The info file comes
  with the data: its shard names must be relative paths inside ``root`` (or URLs under a URL ``root``),
  else a :class:`~pixelpipe.errors.ConfigError` naming the file and the entry is raised at construction,
  before any shard is opened (see :mod:`pixelpipe.streaming.untrusted`).

Example:
    >>> import io, os, tarfile, tempfile
    >>> root = tempfile.mkdtemp()
    >>> with tarfile.open(os.path.join(root, 'val-0.tar'), 'w') as tf:
    ...     for name, data in [('a.png', b'x'), ('a.cls', b'3'), ('b.png', b'y'), ('b.cls', b'1')]:
    ...         ti = tarfile.TarInfo(name); ti.size = len(data); tf.addfile(ti, io.BytesIO(data))
    >>> r = ReaderWds(root, split='val-{0..0}.tar')
    >>> len(r), list(r)
    (2, [(b'x', 3), (b'y', 1)])
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from ..errors import ConfigError, DatasetNotFoundError, SampleError
from ..io.limits import DEFAULT_MAX_MEMBER_BYTES
from ..streaming.cache import ShardCache
from ..streaming.gopen import is_remote, join_url, local_path
from ..streaming.shards import load_dataset_info, resolve_split
from ..streaming.stream import ShardStream
from ..streaming.tar import Fields, TarShardSource
from .class_map import load_class_map

__all__ = ["ReaderWds"]

_LOG = logging.getLogger(__name__)


class _WdsSample:
    """Picks the input and target members of one sample (picklable, so it travels to workers)."""

    def __init__(
        self, input_keys: list[str], target_key: str, class_to_idx: dict[str, int] | None, alt_label: str
    ) -> None:
        self.input_keys = input_keys
        self.target_key = target_key
        self.class_to_idx = class_to_idx
        self.alt_label = alt_label

    def __call__(self, key: str, fields: Fields) -> tuple[Any, Any]:
        value: Any = next((fields[k] for k in self.input_keys if k in fields), None)
        if value is None:
            have = ", ".join(sorted(fields)) or "none"
            value = SampleError(
                f"sample {key!r} has none of the input members {self.input_keys} (members: {have})",
                filename=key,
            )
        try:
            return value, self._target(fields)
        except (ValueError, KeyError, TypeError) as e:
            err = SampleError(f"sample {key!r}: bad target: {type(e).__name__}: {e}", filename=key)
            return err, None

    def _target(self, fields: Fields) -> Any:
        if self.alt_label:
            return json.loads(fields["json"])[self.alt_label]
        raw = fields.get(self.target_key)
        if raw is None:
            return None
        text = raw.decode("utf-8").strip()
        if self.class_to_idx is not None:
            if text in self.class_to_idx:
                return self.class_to_idx[text]
            raise KeyError(f"label {text!r} is not in class_map")
        return int(text)


def make_cache(
    cache_dir: str | os.PathLike[str] | None, limit: int | str | None, retries: int, timeout: float
) -> ShardCache | None:
    """The :class:`ShardCache` of ``cache_dir`` (default ``$PIXELPIPE_CACHE_DIR``), or ``None``."""
    folder = cache_dir if cache_dir is not None else os.environ.get("PIXELPIPE_CACHE_DIR") or None
    if folder is None:
        if limit is not None:
            raise ConfigError("cache_limit needs cache_dir (or PIXELPIPE_CACHE_DIR): the folder to cache in")
        return None
    return ShardCache(folder, limit=limit, retries=retries, timeout=timeout)


class ReaderWds(ShardStream):
    """Stream webdataset tar shards (see the module docs).

    Args:
        root: folder or URL (``https://host/shards/``) holding the shards and ``_info.json``.
        name: dataset name (informational).
        split: split name of the info file, or a shard spec (``'x-{0000..0099}.tar|12345'``).
        is_training: shuffle shards and samples; round per-worker counts up to ``batch_size``.
        num_samples: samples per epoch (default: from the split info / suffix / shard lengths).
        batch_size: training batch size.
        repeats: repeat the data this many times per epoch.
        seed: common shuffle seed (the same on every rank).
        class_map: label-text-to-index map (dict or file) applied to ``target_key`` values.
        input_key: ``;``-separated member extensions to take the image from, first present wins.
        input_img_mode: PIL mode the dataset converts images to (kept for the reference's signature).
        target_key: member extension holding the integer label.
        target_img_mode: unused (targets are class indices here).
        filename_key: member holding a sample's original file name (used by :meth:`filenames`).
        sample_shuffle_size: shuffle buffer size (default ``WDS_SHUFFLE_SIZE`` or 8192).
        sample_initial_size: buffer warm-up (default ``WDS_INITIAL_SIZE`` or 2048).
        rank, world_size: override the distributed rank / world size.
        max_member_bytes: shard members larger than this are not read; their sample becomes a
            :class:`~pixelpipe.errors.SampleError` naming shard and key (``None``: no limit; default
            256 MiB).
        cache_dir: download remote shards into this folder and read them there (default: the
            ``PIXELPIPE_CACHE_DIR`` environment variable; unset: stream them). Share it between the workers
            and ranks of one node.
        cache_limit: the cache's size limit in bytes or as ``'50GB'`` (``None``: no limit).
        retries: extra attempts for a transient failure while fetching a shard.
        timeout: seconds any wait of the cache may last (locks, prefetches).

    Raises:
        DatasetNotFoundError: unknown split name, or a shard file is missing.
        ConfigError: bad arguments, or no samples at all.
    """

    source: TarShardSource  # the ShardStream source, as this reader builds it

    def __init__(
        self,
        root: str | os.PathLike[str],
        name: str | None = None,
        split: str = "train",
        is_training: bool = False,
        num_samples: int | None = None,
        batch_size: int = 1,
        repeats: int = 0,
        seed: int = 42,
        class_map: dict[str, int] | str | os.PathLike[str] | None = None,
        input_key: str = "jpg;png;webp",
        input_img_mode: str = "RGB",
        target_key: str = "cls",
        target_img_mode: str = "",
        filename_key: str = "filename",
        sample_shuffle_size: int | None = None,
        sample_initial_size: int | None = None,
        rank: int | None = None,
        world_size: int | None = None,
        max_member_bytes: int | None = DEFAULT_MAX_MEMBER_BYTES,
        cache_dir: str | os.PathLike[str] | None = None,
        cache_limit: int | str | None = None,
        retries: int = 3,
        timeout: float = 600.0,
    ) -> None:
        if root is None:
            raise ConfigError("ReaderWds needs root: the folder holding the shards and _info.json")
        self.root = os.fspath(root)
        if not is_remote(self.root) and not os.path.isdir(local_path(self.root)):
            raise DatasetNotFoundError(f"ReaderWds: root {self.root!r} is not a folder")
        self.name = name or ""
        self.info = load_dataset_info(self.root)
        self.split_info = resolve_split(self.root, split, self.info)
        paths = [join_url(self.root, f) for f in self.split_info.filenames]
        missing = [p for p in paths if not is_remote(p) and not os.path.isfile(local_path(p))]
        if missing:
            raise DatasetNotFoundError(
                f"ReaderWds: {len(missing)} of {len(paths)} shards of split {split!r} are missing, "
                f"e.g. {missing[0]!r}"
            )
        if not paths:
            raise DatasetNotFoundError(f"ReaderWds: split {split!r} lists no shard files")
        self.input_keys = [k.strip().lower() for k in input_key.split(";") if k.strip()]
        if not self.input_keys:
            raise ConfigError(
                f"ReaderWds: input_key must name at least one member extension, got {input_key!r}"
            )
        self.target_key = target_key
        self.filename_key = filename_key
        self.input_img_mode = input_img_mode
        self.target_img_mode = target_img_mode
        self.class_to_idx = load_class_map(class_map, self.root) if class_map else None
        make = _WdsSample(self.input_keys, target_key, self.class_to_idx, self.split_info.alt_label)
        if self.split_info.shard_lengths is None:
            _LOG.info(
                "ReaderWds: counting the samples of %d shards (no shard_lengths in the info)", len(paths)
            )
        self.cache = make_cache(cache_dir, cache_limit, retries, timeout)
        source = TarShardSource(
            paths,
            self.split_info.shard_lengths,
            make,
            max_member_bytes=max_member_bytes,
            cache=self.cache,
            retries=retries,
        )
        if (
            num_samples is None
            and self.split_info.num_samples
            and self.split_info.num_samples != sum(source.shard_lengths)
        ):
            num_samples = self.split_info.num_samples
        super().__init__(
            source,
            is_training=is_training,
            batch_size=batch_size,
            num_samples=num_samples,
            seed=seed,
            repeats=repeats,
            shuffle_size=sample_shuffle_size,
            initial_size=sample_initial_size,
            rank=rank,
            world_size=world_size,
        )

    def filenames(self, basename: bool = False, absolute: bool = False) -> list[str]:
        """Original file names (``filename_key`` members) or ``<key>.<image extension>``, in shard order."""
        from ..streaming.tar import iter_tar_samples

        out = []
        for path in self.source.paths:
            for key, fields in iter_tar_samples(path, max_member_bytes=self.source.max_member_bytes):
                if isinstance(fields.get(self.filename_key), bytes):
                    name = fields[self.filename_key].decode("utf-8", "replace").strip()
                else:
                    ext = next((k for k in self.input_keys if k in fields), "jpg")
                    name = f"{key}.{ext}"
                out.append(os.path.basename(name) if basename else name)
        return out
