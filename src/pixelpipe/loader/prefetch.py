"""Moving ``uint8`` batches to the device, normalising and erasing them there.

Follows the reference's ``PrefetchLoader`` (``timm.data.loader``, REFERENCE §9.2), itself after the
NVIDIA Apex ImageNet example: the next batch is copied to the GPU on a side CUDA stream while the model
works on the current one, then converted to float and normalised there (``(x - 255 * mean) / (255 * std)``,
bit-identical to the reference) and, in training, randomly erased there in one batched call.

Differences from the reference:

* one side stream per loader, created on first use and kept (the reference makes a new stream every epoch,
  and the caching allocator keeps each old stream's blocks: issue #2781); tensors handed to the consumer
  are marked with ``record_stream`` so their memory is not reused while the consumer's work is pending;
* the consumer stream waits on an event recorded right after the batch's own preparation, not on the
  whole side stream: the next batch, queued there before the hand-over, is prepared while the consumer
  computes (a ``wait_stream`` at that point would make every step wait for the next batch too);
* no host synchronisation per batch: the erasing boxes are drawn on the host (``RandomErasing.make_params``
  with a CPU ``torch.Generator``, the batched contract) and copied non-blocking from pinned memory (see
  :mod:`pixelpipe._transfer`);
* ``device=None`` means CUDA when available, else the CPU (the reference always defaults to CUDA); on the
  CPU there is no stream and no look-ahead copy;
* optional ``channels_last`` output;
* batched random erasing draws from ``derive_seed(epoch_seed, batch_index)`` when the wrapped loader
  samples through a :class:`~pixelpipe.loader.SeededSampler`, so it is reproducible from the loader's seed
  (the epoch seed is read when an epoch's first batch arrives; with ``MultiEpochsDataLoader`` and epochs
  shorter than the DataLoader's prefetch depth the sampler may already be an epoch ahead by then);
* on the CPU the batch work runs on one thread, leaving the cores to the DataLoader workers;
* an empty loader yields nothing instead of failing;
* skip report: each pass marks the dataset's skip log when it starts; when it ends with skipped samples
  (``on_error='skip'``) one warning summarises them, and :meth:`PrefetchLoader.skip_report` lists them
  (file, index or shard/key, error), DataLoader workers included (:mod:`pixelpipe.loader.skips`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from .._transfer import to_device
from ..base import BatchDesc
from ..config import adapt_to_chs  # defined in the bottom layer: the device path uses it too
from ..constants import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from ..errors import ConfigError
from ..memory import BatchBuffers
from ..rng import derive_seed, get_rng, use_rng
from .scheduled import ScheduledBatchSampler
from .seeding import ERASE_TAG, find_seeded_sampler
from .skips import find_skip_source

if TYPE_CHECKING:
    from ..transforms.erasing import RandomErasing

__all__ = ["PrefetchLoader", "adapt_to_chs", "resolve_device"]

_LOG = logging.getLogger(__name__)


def resolve_device(device: torch.device | str | None) -> torch.device:
    """``None`` becomes CUDA when it is available, else the CPU; strings become ``torch.device``.

    Example:
        >>> resolve_device("cpu")
        device(type='cpu')
    """
    if device is None:
        return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise ConfigError(f"device must be a torch.device, a device string or None, got {device!r}.") from e


@contextlib.contextmanager
def _one_thread(device: torch.device) -> Iterator[None]:
    """Run CPU batch work on one thread, then restore torch's thread count.

    The DataLoader workers are busy on the other cores; intra-op threads would compete with them, and
    OpenMP threads keep spinning for a while after each parallel operation, taking CPU time the workers
    need (measured: about 2 ms per image of main-process CPU time on 2 cores, against 0.5 ms here).
    """
    threads = torch.get_num_threads()
    if device.type != "cpu" or threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _tensors(obj: Any) -> Iterator[torch.Tensor]:
    """The tensors in a batch: ``obj`` itself, or those in its (nested) tuples, lists and dicts."""
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, (tuple, list)):
        for v in obj:
            yield from _tensors(v)
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _tensors(v)


class PrefetchLoader:
    """Wrap a loader of ``uint8`` batches: copy each to ``device``, normalise, optionally erase.

    Args:
        loader: yields ``(images, targets)`` with ``uint8`` images shaped ``(B, C, H, W)``
            (:func:`~pixelpipe.loader.fast_collate`).
        mean: per-channel mean in ``[0, 1]`` units (scalar or one value per channel).
        std: per-channel standard deviation in ``[0, 1]`` units.
        channels: number of image channels; ``mean``/``std`` are adapted to it.
        device: target device; ``None`` means CUDA when available, else the CPU.
        img_dtype: floating dtype of the output images (default ``float32``).
        fp16: deprecated alias for ``img_dtype=torch.float16`` (wins when set).
        re_prob: probability of random erasing per image (0 disables it).
        re_mode: erasing fill: ``'const'``, ``'rand'`` or ``'pixel'``.
        re_count: maximum number of erased boxes per image.
        re_num_splits: with AugMix splits, the first ``B // re_num_splits`` images (the clean split) are
            never erased.
        channels_last: return images in ``torch.channels_last`` memory format.

    Example:
        >>> import torch
        >>> batches = [(torch.full((2, 3, 4, 4), 255, dtype=torch.uint8), torch.tensor([0, 1]))]
        >>> pf = PrefetchLoader(batches, mean=(0.5,) * 3, std=(0.5,) * 3, device="cpu")
        >>> x, y = next(iter(pf))
        >>> x.dtype, x.unique().tolist(), y.tolist()
        (torch.float32, [1.0], [0, 1])
    """

    def __init__(
        self,
        loader: Any,
        mean: float | Sequence[float] = IMAGENET_DEFAULT_MEAN,
        std: float | Sequence[float] = IMAGENET_DEFAULT_STD,
        channels: int = 3,
        device: torch.device | str | None = None,
        img_dtype: torch.dtype | None = None,
        fp16: bool = False,
        re_prob: float = 0.0,
        re_mode: str = "const",
        re_count: int = 1,
        re_num_splits: int = 0,
        channels_last: bool = False,
    ) -> None:
        if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
            raise ConfigError(f"PrefetchLoader: channels must be a positive int, got {channels!r}.")
        if not 0.0 <= float(re_prob) <= 1.0:
            raise ConfigError(f"PrefetchLoader: re_prob must be in [0, 1], got {re_prob!r}.")
        self.loader = loader
        self.device = resolve_device(device)
        if fp16:
            img_dtype = torch.float16
        self.img_dtype = img_dtype if img_dtype is not None else torch.float32
        if not self.img_dtype.is_floating_point:
            raise ConfigError(f"PrefetchLoader: img_dtype must be a floating dtype, got {self.img_dtype}.")
        shape = (1, channels, 1, 1)
        mean_t = [v * 255 for v in adapt_to_chs(mean, channels)]
        std_t = [v * 255 for v in adapt_to_chs(std, channels)]
        if any(v <= 0 for v in std_t):
            raise ConfigError(f"PrefetchLoader: std must be > 0 for every channel, got {std!r}.")
        # blocking copies, once at construction: ready for whichever stream reads them
        dev, dt = self.device, self.img_dtype
        self.mean = torch.tensor(mean_t, device=dev, dtype=dt).view(shape)  # host-sync: once
        self.std = torch.tensor(std_t, device=dev, dtype=dt).view(shape)  # host-sync: once
        self.channels_last = bool(channels_last)
        self.random_erasing: RandomErasing | None = None
        if re_prob > 0.0:
            from ..transforms.erasing import RandomErasing  # lazy: only loaders that erase need it

            self.random_erasing = RandomErasing(
                probability=re_prob,
                mode=re_mode,
                max_count=re_count,
                num_splits=re_num_splits,
                device=self.device,
                inplace=True,  # the normalised batch is ours: no copy
            )
        self.is_cuda = self.device.type == "cuda" and torch.cuda.is_available()
        self.stream: torch.cuda.Stream | None = None
        self._buffers = BatchBuffers(keep=2)  # the batch the caller holds and the one being made
        self._skip_mark: Any = None

    def _normalize(self, x: torch.Tensor) -> torch.Tensor:
        fmt = torch.channels_last if self.channels_last and x.ndim == 4 else torch.contiguous_format
        # convert, then subtract and divide in place: the reference's arithmetic, bit for bit, and faster
        # on the CPU than one mixed-dtype ``torch.sub(x_uint8, mean, out=...)``
        if x.device.type != "cpu":
            return x.to(dtype=self.img_dtype, memory_format=fmt).sub_(self.mean).div_(self.std)
        # on the CPU, first touching a fresh float batch (tens of MB) costs as much as the arithmetic: reuse
        # the memory of batches nobody holds any more (huge pages where the kernel allows)
        out = self._buffers.empty(x.shape, self.img_dtype, fmt)
        return out.copy_(x).sub_(self.mean).div_(self.std)

    def _erase(self, x: torch.Tensor, erasing: RandomErasing) -> torch.Tensor:
        """Batched erasing, with the mask work limited to the images that get a box.

        On the CPU the boxes are written as slices of the batch itself (only erased pixels are touched);
        elsewhere the images with a box are gathered, erased with masks and scattered back.
        """
        # the batched contract: boxes from a host torch.Generator (seeded from pixelpipe's rng, so the
        # epoch seeding above applies), CPU tensors read as arrays: no device is involved in sampling
        gen = torch.Generator().manual_seed(int(get_rng().integers(0, 2**63 - 1)))
        params = erasing.make_params(BatchDesc.of(x), gen).on_host()
        rows = np.flatnonzero(np.asarray(params.valid).any(axis=1))  # on_host: NumPy already (a no-op)
        if rows.size == 0:
            return x
        if rows.size == x.shape[0] or x.device.type == "cpu":
            return erasing.apply(x, params)
        sub = type(params)(params.boxes[rows], params.valid[rows], params.seed)
        index = to_device(torch.from_numpy(rows), x.device)
        x.index_copy_(0, index, erasing.apply(x.index_select(0, index), sub))
        return x

    def _prepare(self, x: torch.Tensor, y: Any, batch_index: int, epoch_seed: int | None) -> tuple:
        x = x.to(device=self.device, non_blocking=True)
        if isinstance(y, torch.Tensor):
            y = to_device(y, self.device)  # pinned, non-blocking
        x = self._normalize(x)
        erasing = self.random_erasing
        if erasing is not None:
            if epoch_seed is None:
                x = self._erase(x, erasing)
            else:
                with use_rng(derive_seed(epoch_seed, ERASE_TAG, batch_index)):
                    x = self._erase(x, erasing)
        return x, y

    def __iter__(self) -> Iterator[tuple[torch.Tensor, Any]]:
        seeded = find_seeded_sampler(self.loader)
        skips = find_skip_source(getattr(self.loader, "dataset", None))
        if skips is not None:
            self._skip_mark = skips.skip_mark()  # before the DataLoader starts this pass
        yield from self._batches(seeded)
        if skips is not None:
            report = skips.skip_report(since=self._skip_mark)
            if report.num_skipped:
                epoch = f"epoch {seeded.epoch}" if seeded is not None else "this pass"
                _LOG.warning("%s: %s (loader.skip_report() lists them)", epoch, report.summary())

    def skip_report(self) -> Any:
        """The :class:`~pixelpipe.datasets.SkipReport` of the current or latest pass over the loader.

        ``None`` when the dataset keeps no skip log. With ``MultiEpochsDataLoader`` the workers may already
        load the next epoch's first batches before a pass ends; their skips then count in this pass's
        report instead of the next one's.
        """
        skips = find_skip_source(getattr(self.loader, "dataset", None))
        return None if skips is None else skips.skip_report(since=self._skip_mark)

    def _batches(self, seeded: Any) -> Iterator[tuple[torch.Tensor, Any]]:
        epoch_seed: int | None = None
        if self.is_cuda and self.stream is None:
            self.stream = torch.cuda.Stream(device=self.device)
        pending: tuple | None = None
        ready: Any = None
        for b, (x, y) in enumerate(self.loader):
            if b == 0 and seeded is not None:
                epoch_seed = seeded.epoch_seed  # the sampler has started this epoch by now
            if not self.is_cuda:
                with _one_thread(self.device):
                    batch = self._prepare(x, y, b, epoch_seed)
                yield batch
                continue
            with torch.cuda.stream(self.stream):
                nxt = self._prepare(x, y, b, epoch_seed)
                # marks the end of this batch's preparation: its hand-over waits for this alone, not for
                # whatever the side stream has queued since (the next batch's preparation)
                nxt_ready = torch.cuda.Event()
                nxt_ready.record(self.stream)
            if pending is not None:
                yield self._hand_over(pending, ready)
            pending, ready = nxt, nxt_ready
        if pending is not None:
            yield self._hand_over(pending, ready)

    def _hand_over(self, batch: tuple, ready: Any) -> tuple:
        """Give ``batch`` to the consumer's current stream once its preparation has run.

        The consumer stream waits on ``ready``, the event recorded right after this batch was prepared on
        the side stream, so the next batch, queued there meanwhile, prepares while the consumer computes.
        Every device tensor handed over is marked as used by the consumer stream (``record_stream``), so
        the caching allocator does not give its memory back to the side stream while the consumer's work
        on it is pending.
        """
        consumer = torch.cuda.current_stream(self.device)
        consumer.wait_event(ready)
        for t in _tensors(batch):
            if t.is_cuda:
                t.record_stream(consumer)
        return batch

    def set_epoch(self, epoch: int) -> None:
        """Forward to the sampler's ``set_epoch`` (the epoch the next pass loads); no-op without one.

        A scheduled batch sampler (``create_loader(input_size_choices=...)``) is told first: it passes the
        epoch on to the sample sampler."""
        batch_sampler = self.batch_sampler
        if isinstance(batch_sampler, ScheduledBatchSampler):
            batch_sampler.set_epoch(epoch)
            return
        setter = getattr(self.sampler, "set_epoch", None)
        if setter is not None:
            setter(epoch)

    def __len__(self) -> int:
        return len(self.loader)

    @property
    def sampler(self) -> Any:
        return self.loader.sampler

    @property
    def batch_sampler(self) -> Any:
        return self.loader.batch_sampler

    @property
    def dataset(self) -> Any:
        return self.loader.dataset

    def _mixup(self) -> Any:
        fn = getattr(self.loader, "collate_fn", None)
        fn = getattr(fn, "collate_fn", fn)  # look through SeededCollate
        return fn if hasattr(fn, "mixup_enabled") else None

    @property
    def mixup_enabled(self) -> bool:
        """Whether the collate function mixes (``FastCollateMixup``); ``False`` otherwise."""
        fn = self._mixup()
        return bool(fn.mixup_enabled) if fn is not None else False

    @mixup_enabled.setter
    def mixup_enabled(self, value: bool) -> None:
        fn = self._mixup()
        if fn is not None:
            fn.mixup_enabled = value
