"""Drop pixelpipe into an existing plain PyTorch training loop and a torchvision model.

Nothing here uses ``create_loader``: a pixelpipe reader (``ReaderImageFolder``) feeds an ``ImageDataset``
whose transform is ``create_transform`` (random-resized crop, flip, RandAugment, colour jitter,
normalisation and random erasing, per image), batched by an ordinary ``torch.utils.data.DataLoader``.
``Mixup`` (with CutMix) mixes each batch and returns soft targets, so the loss is a soft-target cross
entropy; the model is ``torchvision.models.resnet18(weights=None, num_classes=...)`` (no download).

Run it on your own ``train/`` and ``val/`` class folders::

    python examples/plain_pytorch_loop.py --data path/to/dataset --img-size 160 --epochs 5

or without ``--data`` on small generated ones.
"""

from __future__ import annotations

import argparse
import os
import tempfile

import torch
import torch.nn.functional as F
import torchvision
from torch.utils.data import DataLoader

from pixelpipe import ImageDataset, Mixup, create_transform
from pixelpipe.readers import ReaderImageFolder
from pixelpipe.rng import manual_seed
from pixelpipe.synthetic import write_shapes_folder


def soft_target_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross entropy against a probability vector per sample (what Mixup/CutMix targets are)."""
    return torch.sum(-target * F.log_softmax(logits, dim=-1), dim=-1).mean()


def make_standin(per_class: int = 12, size: int = 64) -> str:
    root = tempfile.mkdtemp(prefix="plain-loop-")
    write_shapes_folder(os.path.join(root, "train"), per_class=per_class, size=size)
    write_shapes_folder(os.path.join(root, "val"), per_class=max(per_class // 4, 2), size=size, split="val")
    return root


@torch.no_grad()
def evaluate(model: torch.nn.Module, loader: DataLoader) -> float:
    model.eval()
    correct = total = 0
    for images, targets in loader:
        correct += int((model(images).argmax(1) == targets).sum())
        total += len(targets)
    return correct / max(total, 1)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="a folder with train/ and val/ class folders")
    parser.add_argument("--per-class", type=int, default=12, help="generated images per class")
    parser.add_argument("--img-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--steps", type=int, default=None, help="stop each epoch after this many steps")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    manual_seed(args.seed)  # seeds torch and pixelpipe's one random source
    root = args.data or make_standin(args.per_class)

    # 1. pixelpipe readers and transforms, as plain map-style datasets
    train_reader = ReaderImageFolder(os.path.join(root, "train"))
    val_reader = ReaderImageFolder(os.path.join(root, "val"), class_map=train_reader.class_to_idx)
    num_classes = len(train_reader.class_to_idx)
    train_tf = create_transform(
        args.img_size, is_training=True, auto_augment="rand-m9-mstd0.5-inc1", re_prob=0.25
    )
    val_tf = create_transform(args.img_size, is_training=False, crop_pct=1.0)
    train_set = ImageDataset(root, reader=train_reader, transform=train_tf)
    val_set = ImageDataset(root, reader=val_reader, transform=val_tf)
    print(f"{len(train_set)} train / {len(val_set)} val images, {num_classes} classes")

    # 2. an ordinary DataLoader (drop_last: Mixup pairs samples, so batches must be even)
    train_loader = DataLoader(
        train_set,
        batch_size=args.batch_size,
        shuffle=True,
        drop_last=True,
        num_workers=args.workers,
        generator=torch.Generator().manual_seed(args.seed),
    )
    val_loader = DataLoader(val_set, batch_size=2 * args.batch_size, num_workers=args.workers)

    # 3. a torchvision model, Mixup/CutMix and the soft-target loss
    model = torchvision.models.resnet18(weights=None, num_classes=num_classes)
    mixup = Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, label_smoothing=0.1, num_classes=num_classes)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-5)
    losses, accuracy = [], 0.0
    for epoch in range(args.epochs):
        model.train()
        for step, (images, targets) in enumerate(train_loader):
            if args.steps is not None and step >= args.steps:
                break
            images, soft_targets = mixup(images, targets)  # new tensors; targets (B, num_classes)
            loss = soft_target_cross_entropy(model(images), soft_targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        accuracy = evaluate(model, val_loader)
        print(f"epoch {epoch + 1}: last loss {losses[-1]:.3f}, val accuracy {accuracy:.1%}")
    return {
        "classes": num_classes,
        "batch": tuple(images.shape),
        "soft_targets": tuple(soft_targets.shape),
        "losses": losses,
        "accuracy": accuracy,
    }


if __name__ == "__main__":
    main()
