"""Distributed data-parallel training over webdataset shards: ``torchrun --nproc_per_node 2``.

Every rank builds the same ``create_dataset('wds/', root=SHARDS, split='train', is_training=True, ...)``;
the stream reads rank and world size from ``torch.distributed`` and splits the shards (and the samples
within them) so that every rank gets the same number of samples per epoch, which is what keeps DDP's
gradient all-reduce from hanging on the last batch. ``create_loader`` adds the augmentation, DataLoader
workers and device-side normalisation; ``dataset.set_epoch(epoch)`` before each epoch reshuffles shards
and samples (the same order on every rank for a given seed and epoch).

Run it on your shards (written by ``pixelpipe shard SRC DIR``)::

    torchrun --nproc_per_node 2 examples/distributed_shards.py --shards DIR --img-size 128 --epochs 5

or without ``--shards``: rank 0 writes a tiny procedural shard set to a temporary folder and the other
ranks wait at a barrier. The backend is NCCL when CUDA is available (one GPU per rank), else gloo on the
CPU. Started without torchrun it runs as a world of one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import tempfile
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

from pixelpipe import create_dataset, create_loader
from pixelpipe.rng import manual_seed
from pixelpipe.shard_writer import write_shards
from pixelpipe.synthetic import write_shapes_folder


def tiny_cnn(num_classes: int, width: int = 16) -> nn.Module:
    def block(cin: int, cout: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

    return nn.Sequential(
        *block(3, width),
        *block(width, 2 * width),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(2 * width, num_classes),
    )


def _init_distributed() -> tuple[int, int, torch.device]:
    if "RANK" not in os.environ:  # plain `python examples/distributed_shards.py`: a world of one
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        os.environ.update(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0")
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    if torch.cuda.is_available():
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
        dist.init_process_group("nccl")
    else:
        device = torch.device("cpu")
        dist.init_process_group("gloo")
    return dist.get_rank(), dist.get_world_size(), device


def _make_shards(per_class: int, size: int, max_count: int) -> str:
    """Rank 0 writes tiny shards to a temporary folder; every rank gets its path."""
    path = [None]
    if dist.get_rank() == 0:
        root = Path(tempfile.mkdtemp(prefix="pixelpipe-ddp-"))
        write_shapes_folder(root / "src", per_class=per_class, size=size)
        write_shards(root / "src", root / "shards", max_count=max_count, split="train", progress=False)
        path = [str(root / "shards")]
    dist.broadcast_object_list(path, src=0)
    dist.barrier()  # the shards are complete before any rank opens them
    return str(path[0])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", default=None, help="folder of webdataset shards + _info.json")
    parser.add_argument("--split", default="train")
    parser.add_argument("--img-size", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=8, help="per rank")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1, help="DataLoader workers per rank")
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--per-class", type=int, default=8, help="generated images per class (no --shards)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    rank, world, device = _init_distributed()
    manual_seed(args.seed)  # the same seed on every rank: same shuffle plan, DDP syncs the weights anyway
    generated = args.shards is None
    root = _make_shards(args.per_class, 2 * args.img_size, max_count=4) if generated else args.shards
    try:
        dataset = create_dataset(
            "wds/", root=root, split=args.split, is_training=True, batch_size=args.batch_size, seed=args.seed
        )
        num_classes = len(dataset.reader.info.get("class_to_idx") or {}) or 1000
        loader = create_loader(
            dataset,
            input_size=(3, args.img_size, args.img_size),
            batch_size=args.batch_size,
            is_training=True,
            auto_augment="rand-m9-mstd0.5",
            num_workers=args.workers,
            device=device,
            seed=args.seed,
        )
        model = nn.parallel.DistributedDataParallel(
            tiny_cnn(num_classes).to(device), device_ids=[device.index] if device.type == "cuda" else None
        )
        opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
        if rank == 0:
            print(f"{world} ranks, {len(dataset)} samples per rank per epoch, {num_classes} classes, {root}")
        history = []
        for epoch in range(args.epochs):
            dataset.set_epoch(epoch)  # new shard and sample order, identical plan on every rank
            model.train()
            count, total = 0, 0.0
            for images, targets in loader:
                loss = nn.functional.cross_entropy(model(images), targets)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                count += len(targets)
                total += float(loss.detach()) * len(targets)
            stats = torch.tensor([count, total], dtype=torch.float64, device=device)
            gathered = [torch.zeros_like(stats) for _ in range(world)]
            dist.all_gather(gathered, stats)
            counts = [int(g[0]) for g in gathered]
            mean_loss = sum(float(g[1]) for g in gathered) / max(sum(counts), 1)
            tag = f"epoch {epoch + 1}/{args.epochs}"
            print(f"rank {rank} {tag}: {count} samples, loss {total / max(count, 1):.3f}", flush=True)
            if rank == 0:
                equal = "equal" if len(set(counts)) == 1 else "UNEQUAL"
                print(f"{tag}: samples per rank {counts} ({equal}), loss {mean_loss:.3f}", flush=True)
            history.append({"counts": counts, "loss": mean_loss})
        dist.barrier()  # every rank is done reading before rank 0 removes generated shards
    finally:
        if generated and rank == 0:
            shutil.rmtree(Path(root).parent, ignore_errors=True)
        dist.destroy_process_group()
    return {"rank": rank, "world": world, "history": history}


if __name__ == "__main__":
    main()
