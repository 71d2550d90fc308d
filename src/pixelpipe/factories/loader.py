"""``create_loader``: transform, sampler, DataLoader and device prefetcher in one call.

Follows the reference's ``create_loader`` (``timm.data.loader``, REFERENCE §9.3): same arguments and
defaults (except ``device``), sets ``dataset.transform`` from :func:`~pixelpipe.create_transform`,
drops the last partial batch in training, picks the distributed sampler, collates ``uint8`` with
:func:`~pixelpipe.loader.fast_collate` and wraps the result in a :class:`~pixelpipe.loader.PrefetchLoader`
that normalises (and, in training, erases) on the device.

Differences from the reference:

* ``num_workers=0`` works with the default ``persistent_workers=True`` (workers persist only when there are
  workers);
* ``device=None`` (default) is CUDA when available, else the CPU;
* one random source: every sample gets its own generator keyed by ``(seed, epoch, index, copy)``
  (:mod:`pixelpipe.loader.seeding`), so ``seed=`` (or ``pixelpipe.rng.manual_seed`` before the call)
  gives the same batches with any ``num_workers``; shuffling comes from the same seed. A map-style
  dataset is therefore wrapped: ``loader.dataset`` is a :class:`~pixelpipe.loader.SeededDataset` that
  forwards attribute reads and writes (``transform``, ``filenames()``, ...) to your dataset, and
  ``loader.sampler`` a :class:`~pixelpipe.loader.SeededSampler` (``set_epoch`` works as usual);
* ``channels_last`` output option;
* ``augment_on='device'`` (not in the reference): the workers only decode (or read bytes) and the batch
  is augmented on the device (:mod:`pixelpipe.device`);
* argument errors are :class:`~pixelpipe.errors.ConfigError` (the reference ``assert``\\ s);
  ``tf_preprocessing=True`` (needs TensorFlow) is rejected with a clear error;
* ``grayscale_prob=None`` and ``gaussian_blur_prob=None`` (timm's ``train.py`` defaults) are off, as in
  the reference.

Scheduled resolution (``input_size_choices``, REFERENCE §9.8, timm's ``train.py --train-img-sizes``): each
batch gets one of the input sizes (with its batch size from ``batch_size_choices``), drawn by a
:class:`~pixelpipe.loader.ScheduledBatchSampler` whose shape schedule is a pure function of
``batch_choice_seed`` and the epoch (the same as the reference's for the same seed); ``loader.batch_sampler``
is that sampler and the dataset is wrapped in a :class:`~pixelpipe.loader.ScheduledTransformDataset` that
applies the batch's transform (images are decoded whole first: the fused crop-while-decoding is not used
in this mode). While ``input_size_choices`` is ``None`` the other scheduling arguments are ignored, as in
the reference.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, cast

import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler, IterableDataset, default_collate

from .. import loader as _lower
from ..config import adapt_to_chs
from ..constants import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from ..errors import ConfigError
from ..loader.collate import fast_collate
from ..loader.multi_epochs import MultiEpochsDataLoader
from ..loader.prefetch import PrefetchLoader, resolve_device
from ..loader.samplers import OrderedDistributedSampler, RepeatAugSampler
from ..loader.scheduled import ScheduledBatchSampler, ScheduledTransformDataset
from ..loader.seeding import SeededCollate, SeededDataset, SeededSampler, check_worker_seeding, worker_init
from ..recipe import AugmentRecipe
from ..transforms.compose import Compose
from ..transforms.decode_crop import fuse_decode
from ..transforms.factory import transforms_from_recipe
from .device_loader import DevicePrefetchLoader, device_loader_parts

# timm.data.loader's names (this module is timm.data.loader's path under pixelpipe.timm)
__all__ = ["MultiEpochsDataLoader", "PrefetchLoader", "adapt_to_chs", "create_loader", "fast_collate"]


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"create_loader: {name} must be an int >= {minimum}, got {value!r}.")
    return value


def _check_unknown(kwargs: dict[str, Any]) -> None:
    if kwargs:
        raise ConfigError(
            f"create_loader() got an unexpected keyword argument {sorted(kwargs)[0]!r}; see "
            "help(pixelpipe.create_loader) for the arguments."
        )


def _scheduled_sizes(
    choices: Any, batch_size: int, batch_size_choices: Any, weights: Any, channels: int
) -> tuple[list[tuple[int, int, int]], list[int]]:
    """Resolve ``input_size_choices`` to ``(C, H, W)`` sizes and the batch size of each."""
    if isinstance(choices, (str, bytes)) or not isinstance(choices, Sequence) or not choices:
        raise ConfigError(
            f"create_loader: input_size_choices must be a non-empty sequence of sizes, got {choices!r}."
        )
    sizes: list[tuple[int, int, int]] = []
    for size in choices:
        if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
            size = (channels, int(size), int(size))
        elif isinstance(size, Sequence) and not isinstance(size, (str, bytes)) and len(size) in (2, 3):
            size = (channels, *size) if len(size) == 2 else tuple(size)
            if size[0] != channels:
                raise ConfigError(
                    f"create_loader: input size choice {size!r} has {size[0]} channels, not {channels}."
                )
        else:
            raise ConfigError(
                f"create_loader: each input size choice must be an int, (H, W) or (C, H, W), got {size!r}."
            )
        if not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0 for d in size):
            raise ConfigError(f"create_loader: input size choice {size!r} must have positive int dimensions.")
        c, h, w = (int(d) for d in size)
        sizes.append((c, h, w))
    if batch_size_choices is None:
        batch_sizes = [batch_size] * len(sizes)
    elif isinstance(batch_size_choices, Sequence) and len(batch_size_choices) == len(sizes):
        batch_sizes = list(batch_size_choices)
    else:
        raise ConfigError(
            f"create_loader: batch_size_choices must hold one batch size per input size choice "
            f"({len(sizes)}), got {batch_size_choices!r}."
        )
    if weights is not None and (not isinstance(weights, Sequence) or len(weights) != len(sizes)):
        raise ConfigError(
            f"create_loader: batch_choice_weights must hold one weight per input size choice ({len(sizes)}), "
            f"got {weights!r}."
        )
    return sizes, batch_sizes


def _channels(input_size: Any, mean: Any) -> int:
    if isinstance(input_size, (tuple, list)) and len(input_size) == 3:
        return int(input_size[0])
    return len(mean) if isinstance(mean, (tuple, list)) else 3


def _make_sampler(
    dataset: Any, *, is_training: bool, distributed: bool, num_aug_repeats: int, seed: int | None
) -> Any:
    if not distributed:
        if num_aug_repeats:
            raise ConfigError(
                "create_loader: num_aug_repeats > 0 (repeated augmentation) needs distributed=True and a "
                "map-style dataset."
            )
        return None
    shared_seed = 0 if seed is None else seed  # the order must agree on every rank
    if not is_training:
        return OrderedDistributedSampler(dataset)
    if num_aug_repeats:
        return RepeatAugSampler(dataset, num_repeats=num_aug_repeats, seed=shared_seed)
    return DistributedSampler(dataset, seed=shared_seed)


def create_loader(
    dataset: Any,
    input_size: int | Sequence[int],
    batch_size: int,
    is_training: bool = False,
    no_aug: bool = False,
    re_prob: float = 0.0,
    re_mode: str = "const",
    re_count: int = 1,
    re_split: bool = False,
    train_crop_mode: str | None = None,
    scale: Sequence[float] | None = None,
    ratio: Sequence[float] | None = None,
    hflip: float = 0.5,
    vflip: float = 0.0,
    color_jitter: float | Sequence[float] = 0.4,
    color_jitter_prob: float | None = None,
    grayscale_prob: float | None = 0.0,
    gaussian_blur_prob: float | None = 0.0,
    auto_augment: str | None = None,
    num_aug_repeats: int = 0,
    num_aug_splits: int = 0,
    interpolation: str = "bilinear",
    mean: Sequence[float] = IMAGENET_DEFAULT_MEAN,
    std: Sequence[float] = IMAGENET_DEFAULT_STD,
    num_workers: int = 1,
    distributed: bool = False,
    crop_pct: float | None = None,
    crop_mode: str | None = None,
    crop_border_pixels: int | None = None,
    collate_fn: Callable[[list[Any]], Any] | None = None,
    pin_memory: bool = False,
    fp16: bool = False,
    img_dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
    use_prefetcher: bool = True,
    use_multi_epochs_loader: bool = False,
    persistent_workers: bool = True,
    worker_seeding: str | Callable[[Any], int] = "all",
    tf_preprocessing: bool = False,
    input_size_choices: Sequence[int | Sequence[int]] | None = None,
    batch_size_choices: Sequence[int] | None = None,
    batch_choice_weights: Sequence[float] | None = None,
    batch_choice_seed: int = 0,
    batch_choice_schedule: str = "constant",
    batch_schedule_epochs: int | None = None,
    batch_schedule_spread: float = 0.65,
    batch_schedule_random_mix: float = 0.1,
    num_batches: int | None = None,
    channels_last: bool = False,
    seed: int | None = None,
    augment_on: str = "cpu",
    decode_on: str = "worker",
    **unknown: Any,
) -> PrefetchLoader | DataLoader:
    """Build the loader for ``dataset``: transform, sampler, collate, workers and device prefetch.

    ``dataset.transform`` is replaced by ``create_transform(input_size, is_training, ...)`` built from
    the augmentation arguments (as the reference does), made a
    :class:`~pixelpipe.transforms.decode_crop.DecodePipeline`: an
    :class:`~pixelpipe.datasets.ImageDataset` then hands it the encoded image instead of decoding it, and it
    decodes straight to a ``uint8`` tensor (a leading random resized crop fused with the decode, at
    reduced JPEG scale where that keeps the output resolution), whatever the dataset's ``image_backend``;
    decode errors still follow the dataset's ``on_error``. Other datasets' images go through it unchanged.
    A transform you set yourself afterwards is used as is. With ``use_prefetcher`` (default) the transform
    stops at ``uint8`` images, batches are collated with :func:`fast_collate` and a
    :class:`PrefetchLoader` moves them to ``device``, normalises them with ``mean``/``std`` and, when
    training with ``re_prob > 0``, erases there; without it the transform normalises and erases per image.

    Args:
        dataset: a map-style dataset with a ``transform`` attribute (``ImageDataset``, ``AugMixDataset``),
            or an iterable dataset.
        input_size: ``(C, H, W)``, ``(H, W)`` or one side.
        batch_size: samples per batch (per rank).
        is_training: training transforms, shuffling, ``drop_last``.
        no_aug: training without augmentation (and without erasing).
        re_prob, re_mode, re_count: random erasing probability, fill mode and maximum box count.
        re_split: never erase the first (clean) split: ``num_aug_splits`` splits, or halves.
        train_crop_mode, scale, ratio, hflip, vflip, color_jitter, color_jitter_prob, grayscale_prob,
            gaussian_blur_prob, auto_augment, interpolation, crop_pct, crop_mode, crop_border_pixels:
            passed to ``create_transform``.
        num_aug_repeats: repeated augmentation (:class:`RepeatAugSampler`), distributed training only.
        num_aug_splits: AugMix splits (``dataset`` must be an ``AugMixDataset``); batches come split-major.
        mean, std: normalisation statistics in ``[0, 1]`` units.
        num_workers: DataLoader worker processes (0: load in this process).
        distributed: shard across ``torch.distributed`` ranks.
        collate_fn: replaces the default (``fast_collate`` with the prefetcher, else ``default_collate``).
        pin_memory: pin host batches (helps CUDA copies overlap). Always on with ``augment_on='device'``
            on CUDA, whose zero-padded batches (up to 1024 px a side) would otherwise be copied from
            pageable memory.
        fp16: deprecated alias for ``img_dtype=torch.float16``.
        img_dtype: floating dtype of the device batch.
        device: device of the batches; ``None`` is CUDA when available, else the CPU.
        use_prefetcher: collate ``uint8`` and normalise on the device (see above).
        use_multi_epochs_loader: keep one DataLoader iterator across epochs (:class:`MultiEpochsDataLoader`).
        persistent_workers: keep workers between epochs (only when ``num_workers > 0``).
        worker_seeding: ``'all'``, ``'part'`` or ``callable(worker_info) -> int``
            (see :func:`~pixelpipe.loader.seeding.worker_init`).
        channels_last: prefetched batches in ``torch.channels_last`` memory format.
        seed: the loader's one seed (shuffle, every sample's augmentation, erasing, collate-time mixing);
            ``None`` draws it from :func:`pixelpipe.rng.get_rng` (set by ``pixelpipe.rng.manual_seed``).
        augment_on: ``'cpu'`` (default): the reference's path, each image augmented in the workers.
            ``'device'``: the workers only decode, and crop, flip, augmentation, colour jitter,
            normalisation, erasing (and Mixup, when ``collate_fn`` is a ``Mixup`` / ``FastCollateMixup``)
            run on whole batches on ``device`` (:class:`~pixelpipe.device.DeviceAugment`), for training
            and evaluation; the loader is then a
            :class:`~pixelpipe.factories.device_loader.DevicePrefetchLoader`.
        decode_on: with ``augment_on='device'``: ``'worker'`` (default) decodes in the workers,
            ``'device'`` has them read bytes only and decodes on the device (nvJPEG on CUDA).
        tf_preprocessing: the reference's TensorFlow preprocessing; only ``False`` is supported.
        input_size_choices: scheduled resolution: the input sizes (int, ``(H, W)`` or ``(C, H, W)``) batches
            choose from (training, map-style datasets, no AugMix splits, not with
            ``use_multi_epochs_loader``). ``None`` (default): one ``input_size``, and the next arguments are
            ignored.
        batch_size_choices: the batch size of each input size (default ``batch_size`` for all).
        batch_choice_weights: base sampling weight of each input size (default uniform).
        batch_choice_seed: seed of the shape schedule (timm's ``train.py`` passes ``--seed``).
        batch_choice_schedule: ``'constant'`` or ``'progressive'`` (small sizes first, moving to the last).
        batch_schedule_epochs: epochs over which a progressive schedule moves through the sizes.
        batch_schedule_spread, batch_schedule_random_mix: width of the progressive window (in choices) and
            its share of uniform exploration.
        num_batches: a fixed number of batches per epoch (the sampler is cycled as needed); ``None``: the
            batches spend one pass over the samples (progressive schedules infer a number).

    Returns:
        A :class:`PrefetchLoader` (``use_prefetcher``) or the ``DataLoader``.

    Raises:
        ConfigError: an invalid or unsupported argument (also an unknown keyword argument).

    Example:
        >>> import torch
        >>> class Solid(torch.utils.data.Dataset):
        ...     transform = None
        ...     def __len__(self):
        ...         return 4
        ...     def __getitem__(self, i):
        ...         img = torch.full((3, 12, 10), 64 * i, dtype=torch.uint8)
        ...         return self.transform(img), i
        >>> loader = create_loader(Solid(), (3, 8, 8), batch_size=2, num_workers=0, device="cpu",
        ...                        mean=(0.0,) * 3, std=(1.0,) * 3, seed=0)
        >>> [(tuple(x.shape), x.dtype, y.tolist()) for x, y in loader]
        [((2, 3, 8, 8), torch.float32, [0, 1]), ((2, 3, 8, 8), torch.float32, [2, 3])]
        >>> float(next(iter(loader))[0][1].max())  # 64 / 255, normalised by the prefetcher
        0.2509...
    """
    _check_unknown(unknown)
    if tf_preprocessing:
        raise ConfigError(
            "create_loader: tf_preprocessing=True is not supported (TF preprocessing needs TensorFlow and is "
            "out of scope); leave it False."
        )
    batch_size = _check_int("batch_size", batch_size, 1)
    num_workers = _check_int("num_workers", num_workers, 0)
    num_aug_splits = _check_int("num_aug_splits", num_aug_splits, 0)
    repeats_ok = isinstance(num_aug_repeats, (int, float)) and not isinstance(num_aug_repeats, bool)
    if not repeats_ok or num_aug_repeats < 0:
        raise ConfigError(f"create_loader: num_aug_repeats must be >= 0, got {num_aug_repeats!r}.")
    check_worker_seeding(worker_seeding)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ConfigError(f"create_loader: seed must be an int or None, got {seed!r}.")
    if not hasattr(dataset, "transform"):
        raise ConfigError(
            f"create_loader: the dataset ({type(dataset).__name__}) has no 'transform' attribute to set."
        )
    device = resolve_device(device)

    if augment_on not in ("cpu", "device"):
        raise ConfigError(f"create_loader: augment_on must be 'cpu' or 'device', got {augment_on!r}.")
    if augment_on == "cpu" and decode_on != "worker":
        raise ConfigError(f"create_loader: decode_on={decode_on!r} needs augment_on='device'.")
    recipe = AugmentRecipe.from_kwargs(**{k: v for k, v in locals().items() if k in _RECIPE_ARGS})
    device_augment = None
    scheduled = None
    if input_size_choices is not None:  # scheduled resolution; otherwise its arguments are ignored
        if not is_training:
            raise ConfigError("create_loader: scheduled input sizes (input_size_choices) need is_training.")
        if use_multi_epochs_loader:
            raise ConfigError(
                "create_loader: scheduled input sizes (input_size_choices) do not work with "
                "use_multi_epochs_loader=True."
            )
        if isinstance(dataset, IterableDataset):
            raise ConfigError(
                "create_loader: scheduled input sizes (input_size_choices) need a map-style dataset, got "
                f"{type(dataset).__name__}."
            )
        if num_aug_splits > 0:
            raise ConfigError(
                "create_loader: scheduled input sizes (input_size_choices) do not work with num_aug_splits."
            )
        if augment_on != "cpu":
            raise ConfigError(
                "create_loader: scheduled input sizes (input_size_choices) need augment_on='cpu'."
            )
        scheduled = _scheduled_sizes(
            input_size_choices,
            batch_size,
            batch_size_choices,
            batch_choice_weights,
            _channels(input_size, recipe.mean),
        )
    if augment_on == "device":  # workers decode (or read bytes); the prefetcher augments on the device
        dataset.transform, collate_fn, device_augment = device_loader_parts(
            recipe, decode_on=decode_on, collate_fn=collate_fn, num_aug_splits=num_aug_splits
        )
    elif scheduled is not None:
        # one transform per input size; the dataset returns decoded images and the wrapper applies the
        # transform of each batch's choice
        dataset.transform = None
        # separate=False here (num_aug_splits is refused above): each pipeline is one Compose
        per_size = [cast(Compose, transforms_from_recipe(recipe.replace(input_size=s))) for s in scheduled[0]]
        dataset = ScheduledTransformDataset(dataset, per_size)
    else:
        # an ImageDataset hands this pipeline encoded images; it decodes them itself (fused crop)
        dataset.transform = fuse_decode(transforms_from_recipe(recipe))

    if collate_fn is None:
        collate_fn = fast_collate if use_prefetcher else default_collate

    loader_kwargs: dict[str, Any] = {
        "num_workers": num_workers,
        # the device path copies large padded batches: from pinned memory, asynchronously
        "pin_memory": bool(pin_memory) or (device_augment is not None and device.type == "cuda"),
        "worker_init_fn": partial(worker_init, worker_seeding=worker_seeding),
        "persistent_workers": bool(persistent_workers) and num_workers > 0,
        "batch_size": batch_size,
        "drop_last": is_training,
    }
    if isinstance(dataset, IterableDataset):
        if num_aug_repeats:
            raise ConfigError("create_loader: num_aug_repeats > 0 needs a map-style dataset.")
        set_loader_cfg = getattr(dataset, "set_loader_cfg", None)
        if set_loader_cfg is not None:  # before the workers start: they copy the configured dataset
            params = inspect.signature(set_loader_cfg).parameters
            takes_more = "batch_size" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())
            if takes_more:
                set_loader_cfg(num_workers=num_workers, batch_size=batch_size, drop_last=is_training)
            else:
                set_loader_cfg(num_workers=num_workers)
        loader_dataset: Any = dataset
        loader_kwargs.update(collate_fn=collate_fn)
    else:
        inner = _make_sampler(
            dataset,
            is_training=is_training,
            distributed=distributed,
            num_aug_repeats=num_aug_repeats,
            seed=seed,
        )
        sampler = SeededSampler(dataset, inner, shuffle=inner is None and is_training, seed=seed)
        loader_dataset = SeededDataset(dataset)
        loader_kwargs.update(sampler=sampler, collate_fn=SeededCollate(collate_fn))
        if scheduled is not None:
            for key in ("batch_size", "drop_last", "sampler"):
                del loader_kwargs[key]
            loader_kwargs["batch_sampler"] = ScheduledBatchSampler(
                sampler,
                batch_sizes=scheduled[1],
                choice_weights=batch_choice_weights,
                seed=batch_choice_seed,
                drop_last=is_training,
                num_batches=num_batches,
                choice_schedule=batch_choice_schedule,
                schedule_epochs=batch_schedule_epochs,
                schedule_spread=batch_schedule_spread,
                schedule_random_mix=batch_schedule_random_mix,
            )

    loader_class = MultiEpochsDataLoader if use_multi_epochs_loader else DataLoader
    loader = loader_class(loader_dataset, **loader_kwargs)
    if not use_prefetcher:
        return loader
    if device_augment is not None:
        return DevicePrefetchLoader(loader, device_augment, device=device)
    return PrefetchLoader(
        loader,
        mean=recipe.mean,
        std=recipe.std,
        channels=_channels(input_size, recipe.mean),
        device=device,
        img_dtype=recipe.img_dtype,
        re_prob=recipe.re_prob if recipe.training_aug else 0.0,
        re_mode=recipe.re_mode,
        re_count=recipe.re_count,
        re_num_splits=recipe.re_num_splits,
        channels_last=recipe.channels_last,
    )


#: create_loader's arguments that are the recipe's (AugmentRecipe.from_kwargs translates re_split,
#: num_aug_splits and fp16); the rest configure the loading itself.
_RECIPE_ARGS = frozenset(inspect.signature(create_loader).parameters) & frozenset(AugmentRecipe.keywords())


def __getattr__(name: str) -> Any:
    """Other names from :mod:`pixelpipe.loader`. Under :mod:`pixelpipe.timm`, importing
    ``timm.data.loader`` (this module) also sets it as the ``loader`` attribute of ``timm.data``, which is
    the ``pixelpipe`` package; ``pixelpipe.loader.<name>`` then still finds the loader package's names."""
    try:
        return getattr(_lower, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
