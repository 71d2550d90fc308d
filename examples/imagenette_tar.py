"""Train from one ``.tar`` archive that holds both splits, the way Imagenette ships.

``imagenette2-160.tgz`` unpacks to ``imagenette2-160.tar`` with ``imagenette2-160/train/<class>/*.JPEG``
and ``imagenette2-160/val/<class>/*.JPEG`` inside. pixelpipe reads the members in memory (nothing is
extracted) and ``create_dataset('', root=tar, split=...)`` keeps only the asked split folder, so the
training set never contains validation images (timm's reader mixes both). ``create_loader`` then adds the
training augmentation (RandAugment, random erasing), uint8 collation and normalisation; this script
trains a small CNN for a few epochs and reports validation accuracy.

Run it on the real archive::

    python examples/imagenette_tar.py --data imagenette2-160.tar --img-size 128 --epochs 10

or without ``--data`` on a generated archive of the same layout (five shape classes; a few minutes on
two CPU cores, ``--epochs 2`` for a quick look).
"""

from __future__ import annotations

import argparse
import io
import tarfile
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from pixelpipe import create_dataset, create_loader
from pixelpipe.rng import manual_seed, new_rng
from pixelpipe.synthetic import SHAPES, render_shape


def make_tar(path: str | Path, per_class: int = 200, size: int = 64, classes=SHAPES) -> str:
    """Write ``tiny-imagenette/{train,val}/<class>/<class>_<n>.jpg`` members into one tar."""
    with tarfile.open(path, "w") as tar:
        for si, (split, count) in enumerate((("train", per_class), ("val", max(per_class // 4, 2)))):
            for ci, name in enumerate(classes):
                for i in range(count):
                    buf = io.BytesIO()
                    render_shape(name, new_rng(si, ci, i), size).save(buf, format="JPEG", quality=90)
                    member = tarfile.TarInfo(f"tiny-imagenette/{split}/{name}/{name}_{i:04d}.jpg")
                    member.size = buf.tell()
                    buf.seek(0)
                    tar.addfile(member, buf)
    return str(path)


def small_cnn(num_classes: int, width: int = 32) -> nn.Module:
    def block(cin: int, cout: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

    return nn.Sequential(
        *block(3, width),
        *block(width, 2 * width),
        *block(2 * width, 4 * width),
        *block(4 * width, 4 * width),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4 * width, num_classes),
    )


@torch.no_grad()
def evaluate(model: nn.Module, loader) -> float:
    model.eval()
    correct = total = 0
    for images, targets in loader:
        correct += int((model(images).argmax(1) == targets).sum())
        total += len(targets)
    return correct / max(total, 1)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="a .tar with train/ and val/ class folders inside")
    parser.add_argument("--per-class", type=int, default=200, help="generated images per class")
    parser.add_argument("--img-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--aug", default="rand-m9-mstd0.5-inc1", help="RandAugment config ('' for none)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    manual_seed(args.seed)  # one seed: shuffling, augmentation, erasing and the model's init
    tar = args.data or make_tar(Path(tempfile.mkdtemp(prefix="imagenette-")) / "tiny.tar", args.per_class)

    train_set = create_dataset("", root=tar, split="train", is_training=True)
    val_set = create_dataset("", root=tar, split="validation")  # 'validation' finds the val/ folder
    num_classes = len(train_set.reader.class_to_idx)
    print(f"{tar}: {len(train_set)} train / {len(val_set)} val images, {num_classes} classes")

    common = dict(input_size=(3, args.img_size, args.img_size), num_workers=args.workers, device="cpu")
    train_loader = create_loader(
        train_set,
        batch_size=args.batch_size,
        is_training=True,
        auto_augment=args.aug or None,
        scale=(0.35, 1.0),
        re_prob=0.25,
        **common,
    )
    val_loader = create_loader(val_set, batch_size=2 * args.batch_size, crop_pct=1.0, **common)

    model = small_cnn(num_classes)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    steps = max(args.epochs * len(train_loader), 1)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=steps, pct_start=0.2)
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    losses, accuracy = [], 0.0
    for epoch in range(args.epochs):
        train_loader.set_epoch(epoch)  # a new order and new augmentations, reproducibly
        model.train()
        start, seen = time.perf_counter(), 0
        for images, targets in train_loader:  # float32, normalised, (B, 3, H, W)
            loss = criterion(model(images), targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
            seen += len(images)
        accuracy = evaluate(model, val_loader)
        rate = seen / (time.perf_counter() - start)
        print(f"epoch {epoch + 1}: loss {losses[-1]:.3f}, val accuracy {accuracy:.1%}, {rate:.0f} images/s")
    return {
        "train": len(train_set),
        "val": len(val_set),
        "classes": num_classes,
        "losses": losses,
        "accuracy": accuracy,
    }


if __name__ == "__main__":
    main()
