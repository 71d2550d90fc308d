"""``IterableImageDataset``: decode and transform what a streaming reader yields, with exact sharding.

Follows the reference's ``IterableImageDataset`` (REFERENCE §2.2: same arguments; ``set_epoch``,
``set_loader_cfg``, ``filenames`` forwarded to the reader), with these additions:

* readers built on :class:`~pixelpipe.streaming.ShardStream` (``wds/``, ``hfids/``) give every rank the
  same number of samples per epoch (padding rule in :mod:`pixelpipe.streaming.plan`), so DDP never hangs;
* ``state_dict()`` / ``load_state_dict()`` resume in the middle of an epoch (see
  :class:`~pixelpipe.streaming.ShardStream`);
* every sample is transformed inside ``pixelpipe.rng.use_rng(derive_seed(seed, epoch, position))``
  (``position``: the sample's place in the epoch's global sequence), so its augmentation does not depend
  on the number of workers or ranks;
* the error policy of :class:`~pixelpipe.datasets.ImageDataset`: ``on_error='raise'`` (default) raises a
  :class:`~pixelpipe.errors.SampleError` naming the shard and key; ``on_error='skip'`` logs, records and
  counts the bad sample (:meth:`IterableImageDataset.skip_report`, shared with DataLoader workers) and
  yields, in its place, the previous good sample of the stream again (its own image and label, newly
  transformed), so the per-rank count does not change; every sample of a shard that cannot be fetched
  (missing, or failing after its retries) is skipped so, and does not count towards ``max_skips``;
* the decode options of :class:`~pixelpipe.datasets.ImageDataset`: ``max_image_pixels`` (refuse
  decompression bombs before decoding) and ``exif_transpose``.
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import torch.utils.data

from ..errors import ConfigError, SampleError
from ..io.decode import USE_DEFAULT, decode_pil, decode_tensor, read_bytes
from ..rng import derive_seed, use_rng
from ..streaming.plan import resolve_rank_world
from ..streaming.source import Record
from ..streaming.stream import ShardReadError
from .image_dataset import check_decode_options, error_text
from .skips import SkipLog, SkipRecord, SkipReporting

__all__ = ["IterableImageDataset"]

_LOG = logging.getLogger(__name__)
_ON_ERROR = ("raise", "skip")
_BACKENDS = ("pil", "tensor", "bytes")


class IterableImageDataset(SkipReporting, torch.utils.data.IterableDataset):
    """Images and targets streamed from a reader (``wds/``, ``hfids/`` or your own iterable reader).

    Args:
        root: dataset root (shard folder for ``wds/``, cache folder for ``hfids/``).
        reader: a reader name such as ``'wds/imagenet'`` (built with ``create_reader``) or an iterable
            reader instance (a :class:`~pixelpipe.streaming.ShardStream`, or any iterable of
            ``(input, target)``).
        split: split name or shard spec.
        class_map: class map passed to the reader.
        is_training: shuffle (shards with a common seed + epoch, samples in a buffer).
        batch_size: batch size (training: per-worker counts are rounded up to whole batches).
        num_samples: samples per epoch (default: all).
        seed: common seed: shuffling and per-sample augmentation (the same on every rank).
        repeats: repeat the data this many times per epoch.
        download: passed to readers that download (``hfids/``).
        input_img_mode: PIL mode images are converted to.
        input_key, target_key: passed to the reader (``None``: the reader's default).
        transform: applied to each image, inside the sample's own random generator.
        target_transform: applied to the target unless it is ``None`` (then the target is ``-1``).
        max_steps: if set, each epoch is ``max_steps`` batches per rank (``num_samples`` is derived).
        on_error: ``'raise'`` or ``'skip'`` (see the module docs).
        max_skips: with ``on_error='skip'``, consecutive bad samples tolerated before raising.
        image_backend: ``'pil'``, ``'tensor'`` (``uint8`` ``(C, H, W)``) or ``'bytes'`` (no decoding).
        max_image_pixels: refuse images declaring more pixels than this, before decoding (``None``: no
            limit; default: :func:`pixelpipe.io.get_max_image_pixels` when the dataset is built).
        exif_transpose: apply EXIF orientation tags (off by default).
        **kwargs: passed to the reader factory (``rank``, ``world_size``, ``sample_shuffle_size``, ...).

    Example:
        >>> import io
        >>> from PIL import Image
        >>> from pixelpipe.streaming import ListShardSource, ShardStream
        >>> def png(v):
        ...     buf = io.BytesIO(); Image.new('L', (4, 4), v).save(buf, format='PNG'); return buf.getvalue()
        >>> src = ListShardSource([[(f'k{i}', png(i), i) for i in range(3)], [('m', png(9), 9)]])
        >>> ds = IterableImageDataset(None, reader=ShardStream(src, world_size=1))
        >>> [(img.mode, t) for img, t in ds]
        [('RGB', 0), ('RGB', 1), ('RGB', 2), ('RGB', 9)]
        >>> len(ds), ds.state_dict()['consumed']
        (4, [4])
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None,
        reader: Any = None,
        split: str = "train",
        class_map: dict[str, int] | str | os.PathLike[str] | None = None,
        is_training: bool = False,
        batch_size: int = 1,
        num_samples: int | None = None,
        seed: int = 42,
        repeats: int = 0,
        download: bool = False,
        input_img_mode: str | None = "RGB",
        input_key: str | None = None,
        target_key: str | None = None,
        transform: Callable[[Any], Any] | None = None,
        target_transform: Callable[[Any], Any] | None = None,
        max_steps: int | None = None,
        on_error: str = "raise",
        max_skips: int = 20,
        image_backend: str = "pil",
        max_image_pixels: int | None = USE_DEFAULT,
        exif_transpose: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        limit = check_decode_options("IterableImageDataset", max_image_pixels, exif_transpose)
        if on_error not in _ON_ERROR:
            raise ConfigError(f"IterableImageDataset: on_error must be one of {_ON_ERROR}, got {on_error!r}")
        if image_backend not in _BACKENDS:
            raise ConfigError(
                f"IterableImageDataset: image_backend must be one of {_BACKENDS}, got {image_backend!r}"
            )
        if isinstance(max_skips, bool) or not isinstance(max_skips, int) or max_skips < 1:
            raise ConfigError(f"IterableImageDataset: max_skips must be an int >= 1, got {max_skips!r}")
        if reader is None:
            raise ConfigError(
                "IterableImageDataset needs a reader: a name such as 'wds/<name>' or 'hfids/<name>', "
                "or an iterable reader instance"
            )
        if max_steps is not None:
            if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
                raise ConfigError(f"IterableImageDataset: max_steps must be an int >= 1, got {max_steps!r}")
            _, world = resolve_rank_world(kwargs.get("rank"), kwargs.get("world_size"))
            num_samples = max_steps * batch_size * world
        if isinstance(reader, str):
            from ..readers.factory import create_reader

            reader = create_reader(
                reader,
                root=root,
                split=split,
                class_map=class_map,
                is_training=is_training,
                batch_size=batch_size,
                num_samples=num_samples,
                seed=seed,
                repeats=repeats,
                download=download,
                input_img_mode=input_img_mode,
                input_key=input_key,
                target_key=target_key,
                **kwargs,
            )
        self.root = root
        self.reader = reader
        self.seed = seed
        self.input_img_mode = input_img_mode
        self.transform = transform
        self.target_transform = target_transform
        self.on_error = on_error
        self.max_skips = max_skips
        self.image_backend = image_backend
        self.max_image_pixels = limit
        self.exif_transpose = exif_transpose
        self._skips = SkipLog()

    # -- delegation -----------------------------------------------------------------------------------
    def __len__(self) -> int:
        """Samples this rank yields per epoch (``0`` when the reader cannot tell)."""
        try:
            return len(self.reader)
        except TypeError:
            return 0

    @property
    def epoch(self) -> int:
        """The reader's current epoch (``0`` for readers without epochs)."""
        return int(getattr(self.reader, "epoch", 0))

    def set_epoch(self, count: int) -> None:
        """Stream epoch ``count`` next (reaches persistent DataLoader workers)."""
        if hasattr(self.reader, "set_epoch"):
            self.reader.set_epoch(count)

    def set_loader_cfg(self, num_workers: int | None = None, **kwargs: Any) -> None:
        """Forward ``num_workers`` (and ``batch_size``, ``drop_last`` where the reader takes them)."""
        setter = getattr(self.reader, "set_loader_cfg", None)
        if setter is None:
            return
        params = inspect.signature(setter).parameters
        extra = {k: v for k, v in kwargs.items() if k in params and v is not None}
        setter(num_workers=num_workers, **extra)

    def state_dict(self, num_batches: int | None = None) -> dict[str, Any]:
        """The position in the current epoch (see :meth:`pixelpipe.streaming.ShardStream.state_dict`)."""
        if not hasattr(self.reader, "state_dict"):
            raise ConfigError(f"{type(self.reader).__name__} cannot save its position (no state_dict)")
        return self.reader.state_dict(num_batches=num_batches)

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Resume the epoch saved in ``state`` on the next pass (call before iterating)."""
        if not hasattr(self.reader, "load_state_dict"):
            raise ConfigError(f"{type(self.reader).__name__} cannot resume (no load_state_dict)")
        self.reader.load_state_dict(state)

    def filename(self, index: int, basename: bool = False, absolute: bool = False) -> str:
        """Not available: streamed samples have no index (use :meth:`filenames`)."""
        raise ConfigError("IterableImageDataset.filename: streamed samples have no index; use filenames()")

    def filenames(self, basename: bool = False, absolute: bool = False) -> list[str]:
        """Sample names as the reader lists them."""
        return self.reader.filenames(basename=basename, absolute=absolute)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reader={self.reader!r}, len={len(self)}, on_error={self.on_error!r})"

    # -- iteration ------------------------------------------------------------------------------------
    def _records(self) -> Iterator[Record]:
        iter_records = getattr(self.reader, "iter_records", None)
        if callable(iter_records):
            yield from iter_records()
            return
        for i, (value, target, *_) in enumerate(self.reader):
            yield Record(str(i), value, target, type(self.reader).__name__, i)

    def _decode(self, rec: Record) -> Any:
        if isinstance(rec.input, BaseException):
            raise rec.input
        if self.image_backend == "bytes":
            return read_bytes(rec.input, filename=rec.where)
        decode = decode_tensor if self.image_backend == "tensor" else decode_pil
        return decode(
            rec.input,
            self.input_img_mode,
            filename=rec.where,
            max_image_pixels=self.max_image_pixels,
            exif_transpose=self.exif_transpose,
        )

    def _error(self, rec: Record, err: BaseException) -> SampleError:
        """A :class:`SampleError` naming the shard and key, of the same class as ``err`` when it is one."""
        cls = type(err) if isinstance(err, SampleError) else SampleError
        msg = (
            f"cannot load sample {rec.key!r} of shard {rec.shard!r} (epoch {self.epoch}, position "
            f"{rec.position}): {err}"
        )
        try:
            out = cls(msg, index=rec.position, filename=rec.where)
        except TypeError:  # a subclass with another constructor
            out = SampleError(msg, index=rec.position, filename=rec.where)
        for name in ("width", "height", "limit"):  # ImageTooLargeError's details
            if hasattr(err, name):
                setattr(out, name, getattr(err, name))
        out.__cause__ = err
        return out

    def _finish(self, img: Any, target: Any, position: int, epoch: int) -> tuple[Any, Any]:
        with use_rng(derive_seed(self.seed, epoch, position)):
            if self.transform is not None:
                img = self.transform(img)
            if target is None:
                target = -1
            elif self.target_transform is not None:
                target = self.target_transform(target)
        return img, target

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        epoch = self.epoch
        last: tuple[Any, Any] | None = None  # the latest good (decoded image, target)
        pending: list[int] = []  # positions of bad samples waiting for a good one to stand in
        unreadable = 0  # of them, samples of shards that could not be fetched (not counted by max_skips)
        for rec in self._records():
            try:
                img = self._decode(rec)
            except (SampleError, TypeError) as e:
                err = self._error(rec, e)
                if self.on_error == "raise":
                    raise err from e
                self._record_skip(rec, err)
                pending.append(rec.position)
                unfetched = isinstance(rec.input, ShardReadError)
                unreadable += unfetched
                if len(pending) - unreadable >= self.max_skips:
                    raise SampleError(
                        f"{len(pending)} consecutive samples failed to load, the last {rec.where!r}: {err}",
                        index=rec.position,
                        filename=rec.where,
                    ) from e
                if last is None:
                    continue
                pending.pop()
                unreadable -= unfetched
                yield self._finish(last[0], last[1], rec.position, epoch)
                continue
            last, unreadable = (img, rec.target), 0
            for position in pending:  # bad samples before the first good one of this stream
                yield self._finish(img, rec.target, position, epoch)
            pending.clear()
            yield self._finish(img, rec.target, rec.position, epoch)
        if pending:
            raise SampleError(f"every sample of this stream failed to load ({len(pending)} samples)")

    def _record_skip(self, rec: Record, err: SampleError) -> None:
        cause = err.__cause__
        record = SkipRecord(
            index=rec.position,
            filename=rec.where,
            error=error_text(cause if isinstance(cause, SampleError) else err),
            shard=rec.shard,
            key=rec.key,
        )
        self._skips.add(record)
        _LOG.warning("skipped sample %s: %s", rec.where, err)
