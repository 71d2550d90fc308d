"""``pixelpipe demo``: the main job end to end on a built-in procedural dataset.

Steps: write a labelled ``.tar`` of class folders (train and held-out), load each with
``create_dataset('', root=<tar>)``, augment with ``create_transform``-built pipelines through
``create_loader`` (uint8 collate, normalisation and random erasing on the device side), mix batches with
``Mixup``/CutMix, train a small CNN on the CPU, and report loss, held-out accuracy and images per second.
It also saves an augmentation preview grid. ``--data`` takes a folder or ``.tar`` of class folders, or a
folder of webdataset shards with ``_info.json`` (``pixelpipe shard``), read with ``create_dataset('wds/')``.

The model averages 4 x 4 pixel blocks first (``--img-size // 56``), so the default 224-pixel run (the
augmentation pipeline at full resolution) trains in about two minutes on two CPU cores.
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import sys
import time
from pathlib import Path

import torch
from torch import nn

from .errors import ConfigError
from .rng import manual_seed
from .synthetic import write_shapes_tar

__all__ = ["SmallCNN", "run_demo"]


class SmallCNN(nn.Module):
    """A pooling stem, four conv blocks (3x3 conv, batch norm, ReLU, 2x2 max-pool), global average pooling
    and a linear head.

    The stem averages ``stem`` x ``stem`` pixel blocks, so training at 224 pixels costs about what the
    four conv blocks cost at 56 (a 2-core CPU trains it on the shapes set in a couple of minutes) while
    the whole augmentation pipeline still runs at full resolution. Convolving before each downsampling
    (rather than with stride 2) keeps the shapes' thin edges: on the shapes set it learns in a few epochs
    what the strided version took 15-30 epochs to start learning, whatever the seed.

    Example:
        >>> SmallCNN(5, stem=4)(torch.zeros(2, 3, 224, 224)).shape
        torch.Size([2, 5])
    """

    def __init__(self, num_classes: int, width: int = 32, stem: int = 4) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.AvgPool2d(stem)] if stem > 1 else []
        chans = [3, width, width * 2, width * 4, width * 4]
        for cin, cout in itertools.pairwise(chans):
            layers += [
                nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(),
                nn.MaxPool2d(2, ceil_mode=True),
            ]
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(chans[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean((2, 3)))


def _class_names(dataset) -> list[str]:
    reader = dataset.reader
    mapping = getattr(reader, "class_to_idx", None) or getattr(reader, "class_name_to_idx", None) or {}
    if not mapping:  # webdataset shards: the class map pixelpipe shard records in _info.json
        mapping = (getattr(reader, "info", None) or {}).get("class_to_idx") or {}
    return [name for name, _ in sorted(mapping.items(), key=lambda kv: kv[1])]


_VAL_SPLITS = ("validation", "val", "test")


def _is_shards(root: str) -> bool:
    return os.path.isdir(root) and any(
        os.path.isfile(os.path.join(root, f)) for f in ("_info.json", "info.json")
    )


def _shard_datasets(root: str, args: argparse.Namespace):
    """Training and held-out ``wds/`` datasets of a shard folder (held-out: ``None`` without such a split)."""
    from .factories import create_dataset
    from .streaming.shards import load_dataset_info

    splits = load_dataset_info(root).get("splits") or {}
    train_split = "train" if "train" in splits or not splits else next(iter(splits))
    common = {"batch_size": args.batch_size, "seed": args.seed}
    train = create_dataset("wds/", root=root, split=train_split, is_training=True, **common)
    val_split = next((s for s in _VAL_SPLITS if s in splits and s != train_split), None)
    val = create_dataset("wds/", root=root, split=val_split, **common) if val_split else None
    return train, val, train_split


def _preview_samples(dataset, root: str, split: str | None) -> list:
    """Six undecorated samples spread over the dataset (``(PIL image, target)``)."""
    if split is None:
        saved = dataset.transform
        dataset.transform = None
        try:
            step = max(len(dataset) // 6, 1)
            return [dataset[i] for i in range(0, len(dataset), step)][:6]
        finally:
            dataset.transform = saved
    from PIL import Image

    from .factories import create_dataset

    stream = create_dataset("wds/", root=root, split=split, image_backend="bytes")
    step = max(len(stream) // 6, 1)
    picked = itertools.islice(iter(stream), 0, None, step)
    return [(Image.open(io.BytesIO(data)).convert("RGB"), int(t)) for data, t in itertools.islice(picked, 6)]


def _progress(iterable, total: int, desc: str):
    if not sys.stderr.isatty():
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, leave=False, dynamic_ncols=True)


def _prepare_data(args: argparse.Namespace, out: Path) -> tuple[str, str | None]:
    if args.data is not None:
        return args.data, None
    train_tar, val_tar = out / "shapes-train.tar", out / "shapes-val.tar"
    t0 = time.perf_counter()
    info = write_shapes_tar(train_tar, per_class=args.per_class, seed=args.seed, split="train")
    val = write_shapes_tar(val_tar, per_class=max(args.per_class // 4, 8), seed=args.seed, split="validation")
    print(
        f"wrote {info.num_images} training and {val.num_images} held-out images of {len(info.classes)} "
        f"classes to {train_tar.name}, {val_tar.name} in {time.perf_counter() - t0:.1f}s"
    )
    return str(train_tar), str(val_tar)


def _save_preview(samples: list, args: argparse.Namespace, out: Path, names: list[str]) -> Path:
    from .factories import create_transform
    from .preview import preview_grid

    aug = create_transform(
        args.img_size, is_training=True, auto_augment=args.aug, use_prefetcher=True, interpolation="bilinear"
    )
    grid = preview_grid([(img, names[t] if 0 <= t < len(names) else str(t)) for img, t in samples], aug)
    path = out / "preview.png"
    grid.save(path)
    return path


def run_demo(args: argparse.Namespace) -> int:
    """Run the demo with parsed CLI arguments (see ``pixelpipe demo --help``)."""
    from .batch import Mixup
    from .factories import create_dataset, create_loader

    if args.quick:
        args.per_class, args.img_size, args.epochs, args.workers = 10, 48, 1, 0
    torch.set_num_threads(max(torch.get_num_threads(), 1))
    manual_seed(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train_root, val_root = _prepare_data(args, out)

    shard_split = None
    if val_root is None and _is_shards(train_root):
        train_ds, val_ds, shard_split = _shard_datasets(train_root, args)
        kind = f"webdataset shards, split {shard_split!r}"
    else:
        train_ds = create_dataset("", root=train_root, split="train", is_training=True)
        val_ds = create_dataset("", root=val_root, split="validation") if val_root else None
        if val_ds is None:
            try:
                val_ds = create_dataset("", root=train_root, split="validation")
            except (FileNotFoundError, ValueError):
                val_ds = None
        kind = type(train_ds.reader).__name__
    names = _class_names(train_ds)
    if not names and shard_split is not None:  # shards without a class map: the targets they hold
        stream = create_dataset("wds/", root=train_root, split=shard_split, image_backend="bytes")
        names = [str(i) for i in range(max((int(t) for _, t in stream), default=0) + 1)]
    if not names:
        raise ConfigError(f"--data {train_root!r}: no classes found (expected class folders)")
    num_classes = len(names)
    print(f"dataset: {len(train_ds)} training images, {num_classes} classes ({', '.join(names)}) [{kind}]")
    if val_ds is None:
        print("no held-out split found: accuracy is not measured")
    samples = _preview_samples(train_ds, train_root, shard_split)
    print(f"preview grid: {_save_preview(samples, args, out, names)}")

    augment_on = getattr(args, "augment_on", "cpu")
    # the device path trains on the GPU when there is one; otherwise everything stays on the CPU
    device = torch.device("cuda" if augment_on == "device" and torch.cuda.is_available() else "cpu")
    if augment_on == "device":
        print(f"augmentation on the device ({device}): workers only decode")
    train_loader = create_loader(
        train_ds,
        input_size=(3, args.img_size, args.img_size),
        batch_size=args.batch_size,
        is_training=True,
        auto_augment=args.aug,
        scale=(0.35, 1.0),  # the shapes are small: the default 8% minimum crop often cuts them out
        re_prob=0.25,
        num_workers=args.workers,
        device=device,
        augment_on=augment_on,
    )
    mixup = Mixup(mixup_alpha=0.2, cutmix_alpha=1.0, prob=0.3, label_smoothing=0.1, num_classes=num_classes)
    model = SmallCNN(num_classes, stem=max(args.img_size // 56, 1)).to(device)
    steps = args.epochs * len(train_loader)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=max(steps, 1), pct_start=0.2)

    seen, t_start = 0, time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        if isinstance(train_ds, torch.utils.data.IterableDataset):
            train_ds.set_epoch(epoch)  # shards: the shuffle of this epoch, the same on every worker
        else:
            train_loader.set_epoch(epoch)
        total, count = 0.0, 0
        for x, y in _progress(train_loader, len(train_loader), f"epoch {epoch + 1}/{args.epochs}"):
            x, y = mixup(x, y)
            loss = torch.sum(-y * torch.log_softmax(model(x), dim=-1), dim=-1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * x.shape[0]
            count += x.shape[0]
        seen += count
        rate = seen / (time.perf_counter() - t_start)
        msg = f"epoch {epoch + 1}/{args.epochs}: train loss {total / max(count, 1):.3f}, {rate:.0f} images/s"
        if val_ds is not None:
            msg += f", held-out accuracy {_evaluate(model, val_ds, args, device):.1%}"
        print(msg, flush=True)
    print(f"chance level is {1 / num_classes:.1%}; outputs in {out}/")
    return 0


@torch.no_grad()
def _evaluate(model: nn.Module, dataset, args: argparse.Namespace, device: torch.device) -> float:
    from .factories import create_loader

    loader = create_loader(
        dataset,
        input_size=(3, args.img_size, args.img_size),
        batch_size=64,
        is_training=False,
        crop_pct=1.0,
        num_workers=0,
        device=device,
        augment_on=getattr(args, "augment_on", "cpu"),
    )
    model.eval()
    correct = total = 0
    for x, y in loader:
        correct += int((model(x).argmax(-1) == y).sum())
        total += int(y.numel())
    return correct / max(total, 1)
