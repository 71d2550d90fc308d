"""The calls timm's ``train.py`` and ``validate.py`` (timm 1.0.29) make, with exactly their argument names
and values, for each flag set the scripts are commonly run with.

The values are what the scripts pass with their defaults (``--seed 42``, ``--remode pixel``,
``--scale 0.08 1.0``, ``--train-interpolation random``, ``--grayscale-prob None``, ...) and the named
flags; the calls are written here, the scripts are not copied. Each flag set runs with 0 and 2 workers.
"""

from __future__ import annotations

import tarfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np
import pytest
import torch

from conftest import encode, make_image
from pixelpipe import (
    AugMixDataset,
    FastCollateMixup,
    Mixup,
    create_dataset,
    create_loader,
    resolve_data_config,
)

NUM_CLASSES = 3
BATCH = 4
DEVICE = torch.device("cpu")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("timm_scripts")
    for split, n in (("train", 6), ("validation", 2)):
        for c in range(NUM_CLASSES):
            d = root / "data" / split / f"class{c}"
            d.mkdir(parents=True)
            for i in range(n):
                (d / f"{i}.jpg").write_bytes(encode(make_image(100 * c + i, size=(40, 36))))
    with tarfile.open(root / "train.tar", "w") as tf:
        tf.add(root / "data" / "train", arcname=".")
    with tarfile.open(root / "both.tar", "w") as tf:
        tf.add(root / "data" / "train", arcname="train")
        tf.add(root / "data" / "validation", arcname="val")
    (root / "class_map.txt").write_text("".join(f"class{c}\n" for c in range(NUM_CLASSES)))
    return root


def train_args(**flags: Any) -> SimpleNamespace:
    """train.py's parsed arguments (their defaults) with ``flags`` set, for the data-side options."""
    args = dict(
        dataset="",
        data_dir=None,
        train_split="train",
        val_split="validation",
        train_num_samples=None,
        val_num_samples=None,
        dataset_download=False,
        class_map="",
        input_img_mode=None,
        input_key=None,
        target_key=None,
        dataset_trust_remote_code=False,
        model="resnet10t",
        num_classes=NUM_CLASSES,
        img_size=32,
        in_chans=None,
        input_size=None,
        crop_pct=None,
        mean=None,
        std=None,
        interpolation="",
        batch_size=BATCH,
        validation_batch_size=None,
        epoch_repeats=0.0,
        no_aug=False,
        train_crop_mode=None,
        scale=[0.08, 1.0],
        ratio=[3.0 / 4.0, 4.0 / 3.0],
        hflip=0.5,
        vflip=0.0,
        color_jitter=0.4,
        color_jitter_prob=None,
        grayscale_prob=None,
        gaussian_blur_prob=None,
        aa=None,
        aug_repeats=0,
        aug_splits=0,
        jsd_loss=False,
        reprob=0.0,
        remode="pixel",
        recount=1,
        resplit=False,
        mixup=0.0,
        cutmix=0.0,
        cutmix_minmax=None,
        mixup_prob=1.0,
        mixup_switch_prob=0.5,
        mixup_mode="batch",
        smoothing=0.1,
        train_interpolation="random",
        seed=42,
        worker_seeding="all",
        workers=0,
        pin_mem=False,
        no_prefetcher=False,
        use_multi_epochs_loader=False,
        train_img_sizes=None,
        train_batch_sizes=None,
        train_size_probs=None,
        train_size_schedule="constant",
        train_size_schedule_spread=0.65,
        train_size_random_mix=0.1,
        train_batches_per_epoch=None,
        epochs=2,
        distributed=False,
    )
    args.update(flags)
    ns = SimpleNamespace(**args)
    ns.prefetcher = not ns.no_prefetcher
    return ns


class _Model:
    """What resolve_data_config reads from a timm model: its pretrained config."""

    pretrained_cfg: ClassVar[dict[str, Any]] = dict(
        input_size=(3, 224, 224),
        interpolation="bicubic",
        mean=(0.485, 0.456, 0.406),
        std=(0.229, 0.224, 0.225),
        crop_pct=0.95,
        crop_mode="center",
    )


def run_train_py(args: SimpleNamespace) -> dict[str, Any]:
    """The data side of train.py's main(), call by call; returns what it built."""
    data_config = resolve_data_config(vars(args), model=_Model(), verbose=True)
    num_aug_splits = args.aug_splits if args.aug_splits > 0 else 0
    input_img_mode = "RGB" if data_config["input_size"][0] == 3 else "L"
    dataset_train = create_dataset(
        args.dataset,
        root=args.data_dir,
        split=args.train_split,
        is_training=True,
        class_map=args.class_map,
        download=args.dataset_download,
        batch_size=args.batch_size,
        seed=args.seed,
        repeats=args.epoch_repeats,
        input_img_mode=input_img_mode,
        input_key=args.input_key,
        target_key=args.target_key,
        num_samples=args.train_num_samples,
        trust_remote_code=args.dataset_trust_remote_code,
    )
    dataset_eval = None
    if args.val_split:
        dataset_eval = create_dataset(
            args.dataset,
            root=args.data_dir,
            split=args.val_split,
            is_training=False,
            class_map=args.class_map,
            download=args.dataset_download,
            batch_size=args.batch_size,
            input_img_mode=input_img_mode,
            input_key=args.input_key,
            target_key=args.target_key,
            num_samples=args.val_num_samples,
            trust_remote_code=args.dataset_trust_remote_code,
        )
    train_interpolation = args.train_interpolation
    if args.no_aug or not train_interpolation:
        train_interpolation = data_config["interpolation"]
    common = dict(
        mean=data_config["mean"],
        std=data_config["std"],
        pin_memory=args.pin_mem,
        img_dtype=torch.float32,
        device=DEVICE,
        distributed=args.distributed,
        use_prefetcher=args.prefetcher,
    )
    train_kwargs = dict(
        batch_size=args.batch_size,
        is_training=True,
        no_aug=args.no_aug,
        re_prob=args.reprob,
        re_mode=args.remode,
        re_count=args.recount,
        re_split=args.resplit,
        train_crop_mode=args.train_crop_mode,
        scale=args.scale,
        ratio=args.ratio,
        hflip=args.hflip,
        vflip=args.vflip,
        color_jitter=args.color_jitter,
        color_jitter_prob=args.color_jitter_prob,
        grayscale_prob=args.grayscale_prob,
        gaussian_blur_prob=args.gaussian_blur_prob,
        auto_augment=args.aa,
        num_aug_repeats=args.aug_repeats,
        num_aug_splits=num_aug_splits,
        interpolation=train_interpolation,
        num_workers=args.workers,
        worker_seeding=args.worker_seeding,
    )
    mixup_fn = collate_fn = None
    mixup_active = args.mixup > 0 or args.cutmix > 0.0 or args.cutmix_minmax is not None
    if mixup_active:
        mixup_args = dict(
            mixup_alpha=args.mixup,
            cutmix_alpha=args.cutmix,
            cutmix_minmax=args.cutmix_minmax,
            prob=args.mixup_prob,
            switch_prob=args.mixup_switch_prob,
            mode=args.mixup_mode,
            label_smoothing=args.smoothing,
            num_classes=args.num_classes,
        )
        if args.prefetcher:
            collate_fn = FastCollateMixup(**mixup_args)
        else:
            mixup_fn = Mixup(**mixup_args)
    if num_aug_splits > 1:
        dataset_train = AugMixDataset(dataset_train, num_splits=num_aug_splits)
    loader_train = create_loader(
        dataset_train,
        input_size=data_config["input_size"],
        input_size_choices=args.train_img_sizes,
        batch_size_choices=args.train_batch_sizes,
        batch_choice_weights=args.train_size_probs,
        batch_choice_seed=args.seed,
        batch_choice_schedule=args.train_size_schedule,
        batch_schedule_epochs=args.epochs if args.train_size_schedule == "progressive" else None,
        batch_schedule_spread=args.train_size_schedule_spread,
        batch_schedule_random_mix=args.train_size_random_mix,
        num_batches=args.train_batches_per_epoch,
        collate_fn=collate_fn,
        use_multi_epochs_loader=args.use_multi_epochs_loader,
        **common,
        **train_kwargs,
    )
    loader_eval = None
    if args.val_split:
        loader_eval = create_loader(
            dataset_eval,
            input_size=data_config["input_size"],
            batch_size=args.validation_batch_size or args.batch_size,
            is_training=False,
            interpolation=data_config["interpolation"],
            num_workers=args.workers,
            crop_pct=data_config["crop_pct"],
            **common,
        )
    return dict(
        data_config=data_config,
        loader_train=loader_train,
        loader_eval=loader_eval,
        mixup_fn=mixup_fn,
        dataset_train=dataset_train,
    )


def _set_loader_epoch(loader: Any, epoch: int) -> None:
    """What train.py does at the start of every epoch."""
    if hasattr(loader.dataset, "set_epoch"):
        loader.dataset.set_epoch(epoch)
    if hasattr(loader.batch_sampler, "set_epoch"):
        loader.batch_sampler.set_epoch(epoch)
    elif hasattr(loader.sampler, "set_epoch"):
        loader.sampler.set_epoch(epoch)


def train_epochs(built: dict[str, Any], args: SimpleNamespace, epochs: int = 2) -> list[tuple]:
    """Iterate the loaders as train.py's loops do (mixup on the batch without the prefetcher)."""
    seen = []
    loader = built["loader_train"]
    for epoch in range(epochs):
        _set_loader_epoch(loader, epoch)
        assert len(loader) > 0
        n = 0
        for x, y in loader:
            if not args.prefetcher:
                x, y = x.to(device=DEVICE, dtype=torch.float32), y.to(device=DEVICE)
                if built["mixup_fn"] is not None:
                    x, y = built["mixup_fn"](x, y)
            assert x.dtype == torch.float32 and x.ndim == 4 and torch.isfinite(x).all()
            seen.append((tuple(x.shape), tuple(y.shape), y.dtype))
            n += 1
        assert n == len(loader)
    if built["loader_eval"] is not None:
        for x, y in built["loader_eval"]:
            assert x.shape[1:] == built["data_config"]["input_size"] and y.dtype == torch.int64
    return seen


FLAG_SETS = {
    "defaults": dict(),
    "randaugment_erasing": dict(aa="rand-m9-mstd0.5-inc1", reprob=0.25, remode="pixel"),
    "mixup_batch": dict(mixup=0.8, cutmix=1.0),
    "mixup_elem": dict(mixup=0.8, cutmix=1.0, mixup_mode="elem"),
    "mixup_no_prefetcher": dict(mixup=0.8, cutmix=1.0, no_prefetcher=True),
    "augmix_jsd": dict(aug_splits=3, jsd_loss=True, aa="augmix-m3-w3-d2"),
    "epoch_repeats": dict(epoch_repeats=2.0),
    "splits": dict(train_split="train", val_split="validation"),
    "class_map": dict(class_map="CLASS_MAP"),
    "tar": dict(data_dir="TAR", val_split=""),
    "tar_with_splits": dict(data_dir="BOTH_TAR", train_split="train", val_split="val"),
    "train_img_sizes": dict(train_img_sizes=[24, 32], train_batch_sizes=[6, 4]),
    "train_img_sizes_progressive": dict(
        train_img_sizes=[16, 24, 32], train_size_schedule="progressive", train_batches_per_epoch=3
    ),
}


def _resolve_paths(flags: dict[str, Any], root: Path) -> dict[str, Any]:
    paths = {"TAR": root / "train.tar", "BOTH_TAR": root / "both.tar", "CLASS_MAP": root / "class_map.txt"}
    out = {k: str(paths[v]) if isinstance(v, str) and v in paths else v for k, v in flags.items()}
    out.setdefault("data_dir", str(root / "data"))
    return out


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize("flag_set", sorted(FLAG_SETS))
def test_train_py_flag_set(data_dir: Path, flag_set: str, workers: int) -> None:
    args = train_args(workers=workers, **_resolve_paths(FLAG_SETS[flag_set], data_dir))
    built = run_train_py(args)
    seen = train_epochs(built, args)
    n_train = NUM_CLASSES * 6
    if flag_set == "augmix_jsd":  # split-major batches: clean + 2 augmented views
        assert {s[0][0] for s in seen} == {3 * BATCH}
    elif flag_set.startswith("train_img_sizes"):
        sizes = {s[0][2:] for s in seen}
        assert sizes <= {(16, 16), (24, 24), (32, 32)} and len(sizes) > 1
        sampler = built["loader_train"].batch_sampler  # what train.py logs and scales the LR with
        assert sampler.average_batch_size > 0 and len(sampler) == len(built["loader_train"])
        if flag_set == "train_img_sizes_progressive":
            assert len(built["loader_train"]) == 3  # --train-batches-per-epoch
    else:
        assert {s[0] for s in seen} == {(BATCH, 3, 32, 32)}
    if flag_set == "epoch_repeats":
        assert len(built["dataset_train"]) == n_train  # a map-style dataset: repeats only reach streams
    if flag_set.startswith("mixup"):
        assert {s[1] for s in seen} == {(BATCH, NUM_CLASSES)}  # soft targets
    if flag_set == "tar_with_splits":
        assert len(built["dataset_train"]) == n_train  # only the asked split of the archive


def test_train_py_batches_do_not_depend_on_workers(data_dir: Path) -> None:
    """train.py passes --seed as batch_choice_seed; the batches are the same with 0 and 2 workers."""
    out = []
    for workers in (0, 2):
        args = train_args(workers=workers, data_dir=str(data_dir / "data"), train_img_sizes=[24, 32])
        torch.manual_seed(args.seed)  # train.py's utils.random_seed(args.seed, rank)
        loader = run_train_py(args)["loader_train"]
        _set_loader_epoch(loader, 0)
        out.append([(x.clone(), y.clone()) for x, y in loader])
    assert len(out[0]) == len(out[1])
    for (xa, ya), (xb, yb) in zip(*out):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_train_py_schedule_matches_timm(data_dir: Path) -> None:
    """--train-img-sizes gives the shape schedule timm gives for the same --seed."""
    scheduled = pytest.importorskip("timm.data.scheduled_sampler")
    args = train_args(data_dir=str(data_dir / "data"), train_img_sizes=[24, 32], train_batch_sizes=[6, 4])
    loader = run_train_py(args)["loader_train"]
    ref = scheduled.ScheduledBatchSampler(
        torch.utils.data.SequentialSampler(range(NUM_CLASSES * 6)), batch_sizes=[6, 4], seed=42
    )
    for epoch in range(3):
        _set_loader_epoch(loader, epoch)
        ref.set_epoch(epoch)
        ours = [tuple(x.shape[:3]) for x, _ in loader]
        theirs = [(len(b), 3, (24, 32)[b[0][1]]) for b in ref]
        assert ours == theirs


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize("prefetcher", [True, False])
def test_validate_py_loader(data_dir: Path, workers: int, prefetcher: bool) -> None:
    """validate.py: create_dataset / create_loader with its argument names and defaults."""
    args = SimpleNamespace(
        img_size=32,
        in_chans=None,
        input_size=None,
        crop_pct=None,
        crop_mode=None,
        mean=None,
        std=None,
        interpolation="",
        use_train_size=False,
        dataset="",
        split="validation",
        dataset_download=False,
        tf_preprocessing=False,
        class_map="",
        num_samples=None,
        input_key=None,
        input_img_mode=None,
        target_key=None,
        dataset_trust_remote_code=False,
        seed=42,
        batch_size=BATCH,
        prefetcher=prefetcher,
        workers=workers,
        crop_border_pixels=None,
        pin_mem=False,
    )
    data_config = resolve_data_config(
        vars(args), model=_Model(), use_test_size=not args.use_train_size, verbose=True
    )
    input_img_mode = "RGB" if data_config["input_size"][0] == 3 else "L"
    dataset = create_dataset(
        root=str(data_dir / "data"),
        name=args.dataset,
        split=args.split,
        download=args.dataset_download,
        load_bytes=args.tf_preprocessing,
        class_map=args.class_map,
        num_samples=args.num_samples,
        input_key=args.input_key,
        input_img_mode=input_img_mode,
        target_key=args.target_key,
        trust_remote_code=args.dataset_trust_remote_code,
        seed=args.seed,
    )
    loader = create_loader(
        dataset,
        input_size=data_config["input_size"],
        batch_size=args.batch_size,
        use_prefetcher=args.prefetcher,
        interpolation=data_config["interpolation"],
        mean=data_config["mean"],
        std=data_config["std"],
        num_workers=args.workers,
        crop_pct=data_config["crop_pct"],
        crop_mode=data_config["crop_mode"],
        crop_border_pixels=args.crop_border_pixels,
        pin_memory=args.pin_mem,
        device=DEVICE,
        img_dtype=torch.float32,
        tf_preprocessing=args.tf_preprocessing,
    )
    targets = np.concatenate([y.numpy() for _, y in loader])
    assert sorted(targets.tolist()) == sorted(c for c in range(NUM_CLASSES) for _ in range(2))
    assert dataset.filenames(basename=True)[0].endswith(".jpg")  # what RealLabelsImagenet is given


def test_none_probabilities_are_off() -> None:
    """train.py's --grayscale-prob / --gaussian-blur-prob default to None: no greyscale, no blur."""
    from pixelpipe import create_transform, transforms_imagenet_train

    off = dict(grayscale_prob=None, gaussian_blur_prob=None)
    assert repr(transforms_imagenet_train(32, **off)) == repr(transforms_imagenet_train(32))
    assert repr(create_transform(32, is_training=True, **off)) == repr(create_transform(32, is_training=True))
    assert "Grayscale" not in repr(create_transform(32, is_training=True, **off))


@pytest.mark.parametrize(
    "name", ["create_naflex_loader", "NaFlexMixup", "NaFlexMapDatasetWrapper", "Patchify", "ResizeToSequence"]
)
def test_naflex_names_import_and_refuse(name: str) -> None:
    import pixelpipe
    from pixelpipe.errors import ConfigError

    with pytest.raises(ConfigError, match=r"out of scope.*input_size_choices"):
        getattr(pixelpipe, name)()


def test_tfds_refused_with_alternatives(data_dir: Path) -> None:
    from pixelpipe.errors import ConfigError

    with pytest.raises(ConfigError, match=r"not supported.*hfds"):
        create_dataset("tfds/mnist", root=str(data_dir), split="train", is_training=True, batch_size=BATCH)
