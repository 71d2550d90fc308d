"""AugMix with a Jensen-Shannon consistency loss: ``AugMixDataset`` + ``create_loader(num_aug_splits=3)``.

AugMix (Hendrycks et al., ICLR 2020) shows the model each image three times: clean, and two AugMix views
(chains of augmentation ops blended with the clean image). Training adds to the usual cross entropy on
the clean view a Jensen-Shannon divergence between the three predicted distributions, which pushes the
model to answer the same whatever the corruption.

In pixelpipe, ``create_transform(..., separate=True)`` splits the training pipeline into three stages:
``primary`` (crop, flip: applied once per sample), ``secondary`` (AugMix: drawn afresh for every
augmented view) and ``final`` (to tensor). ``AugMixDataset(dataset, num_splits=3)`` returns
``(clean, aug_1, aug_2)`` per sample, and ``create_loader(..., num_aug_splits=3)`` collates them
split-major, so ``torch.split(images, batch_size)`` gives the three views. ``re_split=True`` keeps random
erasing off the clean split.

    python examples/augmix_jsd.py --data path/to/train_folder_or.tar --steps 200

Without ``--data`` it runs a few steps on small generated class folders.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from pixelpipe import AugMixDataset, create_dataset, create_loader, create_transform
from pixelpipe.rng import manual_seed
from pixelpipe.synthetic import write_shapes_folder

AUG = "augmix-m3-w3-d2"  # severity 3, 3 chains of depth up to 2


def jensen_shannon(logits: Sequence[torch.Tensor]) -> torch.Tensor:
    """Generalised JS divergence of ``softmax(l)`` for each ``l`` in ``logits`` (batch mean, in nats).

    ``JS(p_1..p_k) = 1/k * sum_i KL(p_i || m)`` with ``m`` the mean distribution; 0 when all agree.
    """
    log_p = torch.stack([F.log_softmax(x.float(), dim=-1) for x in logits])  # (k, B, C)
    log_m = torch.logsumexp(log_p, dim=0) - math.log(len(logits))  # log of the mixture, stably
    return (log_p.exp() * (log_p - log_m)).sum(-1).mean()


def augmix_loss(logits: torch.Tensor, targets: torch.Tensor, num_splits: int, weight: float = 12.0):
    """Cross entropy on the clean split plus ``weight`` times the JS divergence across all splits."""
    splits = torch.split(logits, logits.shape[0] // num_splits)
    clean_targets = targets[: splits[0].shape[0]]
    ce = F.cross_entropy(splits[0], clean_targets, label_smoothing=0.1)
    js = jensen_shannon(splits)
    return ce + weight * js, ce.detach(), js.detach()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="a folder or .tar of class folders")
    parser.add_argument("--img-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    manual_seed(args.seed)
    root = args.data
    if root is None:
        root = tempfile.mkdtemp(prefix="augmix-")
        write_shapes_folder(root, per_class=max(args.batch_size, 4), size=2 * args.img_size)
    num_splits = 3

    dataset = create_dataset("", root=root, split="train", is_training=True)
    num_classes = len(dataset.reader.class_to_idx)
    # AugMixDataset takes the (primary, secondary, final) stages from the wrapped dataset's transform;
    # create_loader below builds the same split again from its own arguments and hands it over.
    dataset.transform = create_transform(
        args.img_size, is_training=True, auto_augment=AUG, separate=True, use_prefetcher=True
    )
    dataset = AugMixDataset(dataset, num_splits=num_splits)
    loader = create_loader(
        dataset,
        input_size=(3, args.img_size, args.img_size),
        batch_size=args.batch_size,
        is_training=True,
        auto_augment=AUG,
        num_aug_splits=num_splits,
        re_prob=0.25,
        re_split=True,
        num_workers=args.workers,
        device="cpu",
    )

    stages = (dataset.transform, dataset.augmentation, dataset.normalize)
    for name, stage in zip(("primary", "secondary", "final"), stages):
        print(f"{name}: {', '.join(type(t).__name__ for t in stage.transforms)}")

    model = nn.Sequential(
        nn.Conv2d(3, 32, 3, stride=2, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
        nn.Conv2d(64, 128, 3, stride=2, padding=1), nn.BatchNorm2d(128), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, num_classes),
    )  # fmt: skip
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
    history, step, epoch = [], 0, 0
    while step < args.steps:
        loader.set_epoch(epoch)
        for images, targets in loader:  # images (3 * B, C, H, W): clean, aug_1, aug_2, split-major
            logits = model(images)  # one pass: BatchNorm sees all three views, as in the paper
            loss, ce, js = augmix_loss(logits, targets, num_splits)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            history.append((ce.item(), js.item()))
            step += 1
            if step % 10 == 0 or step == args.steps:
                print(f"step {step}: cross entropy {ce.item():.3f}, JS divergence {js.item():.4f}")
            if step == args.steps:
                break
        epoch += 1
    return {
        "classes": num_classes,
        "batch": tuple(images.shape),
        "targets": tuple(targets.shape),
        "views": torch.split(images, args.batch_size),
        "history": history,
    }


if __name__ == "__main__":
    main()
