"""The ``pixelpipe`` command line.

``pixelpipe demo`` runs the main job on a built-in procedural dataset (no download); ``pixelpipe inspect``
describes a dataset; ``pixelpipe shard`` writes a dataset as webdataset shards. Run ``pixelpipe --help``
for the list.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__
from .errors import PixelpipeError

__all__ = ["main"]


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="build a small labelled image set, load it, augment it and train a small CNN on it",
        description=(
            "The main job on a built-in default: writes a procedural .tar of class folders (no download), "
            "loads it with create_dataset, augments it with create_transform/create_loader and Mixup/CutMix, "
            "and trains a small CNN for a short CPU run, reporting loss, held-out accuracy and images/s. "
            "Point it at your own folder, tar or webdataset shards with --data."
        ),
    )
    p.add_argument(
        "--data",
        default=None,
        help="a folder or .tar of class folders, or a folder of webdataset shards + _info.json "
        "(from pixelpipe shard; a 'validation' split is the held-out set) to use instead",
    )
    p.add_argument("--out", default="pixelpipe-demo", help="output folder (dataset, preview grid)")
    p.add_argument("--per-class", type=int, default=200, help="training images per class (built-in data)")
    p.add_argument("--img-size", type=int, default=224, help="training input size")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (AdamW, one-cycle schedule)")
    p.add_argument("--workers", type=int, default=2, help="DataLoader workers (0: main process)")
    p.add_argument("--aug", default="rand-m9-n3-mstd0.5", help="auto_augment config string")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="a tiny run (seconds), for smoke tests")
    p.add_argument(
        "--augment-on",
        choices=("cpu", "device"),
        default="cpu",
        help="'device': workers only decode; crop, augmentation, erasing run on whole batches on the device "
        "(the GPU when there is one, which then also trains the model)",
    )
    p.set_defaults(func=_run_demo)


def _add_inspect(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inspect", help="describe a dataset: reader, samples, classes, image sizes")
    p.add_argument("data", help="a folder, a .tar, or a reader name with --root")
    p.add_argument("--split", default="train")
    p.add_argument("--max-images", type=int, default=500, help="images decoded for size statistics")
    p.set_defaults(func=_run_inspect)


def _add_preview(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "preview",
        help="save a labelled grid of original and augmented samples (and Mixup/CutMix-mixed ones)",
        description=(
            "Loads DATA with create_dataset, then draws each of --num samples next to --num-aug draws of "
            "create_transform(SIZE, is_training=True, auto_augment=AUG). With --mixup/--cutmix, a block of "
            "mixed batch images follows, each annotated with its top-2 soft labels."
        ),
    )
    p.add_argument("data", help="a folder or .tar of class folders (split folders inside are searched)")
    p.add_argument("--split", default="train")
    p.add_argument("--aug", default="rand-m9-mstd0.5-inc1", help="auto_augment config string ('none': off)")
    p.add_argument("--mixup", type=float, default=0.0, metavar="ALPHA", help="Mixup alpha (0: off)")
    p.add_argument("--cutmix", type=float, default=0.0, metavar="ALPHA", help="CutMix alpha (0: off)")
    p.add_argument("--num", type=int, default=6, help="samples (rows)")
    p.add_argument("--num-aug", type=int, default=4, help="augmented draws per sample")
    p.add_argument("--size", type=int, default=160, help="augmented image size")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--output", default="preview.png", help="PNG (or JPEG) file to write")

    def run(args: argparse.Namespace) -> int:
        from .preview import run_preview

        return run_preview(args)

    p.set_defaults(func=run)


def _add_shard(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "shard",
        help="write a dataset (folder, tar, labelled file names) as webdataset shards + _info.json",
        description=(
            "Write SRC as webdataset tar shards <name>-000000.tar, ... under OUT (original image bytes as "
            "<key>.<ext>, the class index as <key>.cls) and record the split in OUT/_info.json, which "
            "create_dataset('wds/<name>', root=OUT, split=SPLIT) reads."
        ),
    )
    p.add_argument(
        "src", help="a folder of class folders (or with split sub-folders), a .tar, or a folder of files"
    )
    p.add_argument(
        "out", help="output folder for the shards and _info.json, or an object-store URL (s3://bucket/prefix)"
    )
    p.add_argument("--max-count", type=int, default=1000, help="samples per shard (default 1000)")
    p.add_argument("--split", default="train", help="split to read from SRC and to record (default train)")
    p.add_argument("--name", default=None, help="shard file prefix (default: the split name)")
    p.add_argument("--class-map", default=None, help="class map file (.txt one name per line, or .json)")
    p.add_argument(
        "--label", default=None, help="regex giving the class from a file name (filename-label layout)"
    )
    p.set_defaults(func=_run_shard)


def _add_bench(sub: argparse._SubParsersAction) -> None:
    from .bench.transforms import add_arguments

    p = sub.add_parser(
        "bench",
        help="images/sec of pixelpipe's transform pipelines vs the reference (timm), decode included",
        description=(
            "Times eval and train create_transform pipelines (RandAugment, AugMix, large photos) on one "
            "thread from the same JPEG bytes, pixelpipe vs timm in the same run, and prints a markdown table "
            "with ratios. Without timm installed the reference column reads n/a. Images are cut from "
            "--photos (or $PIXELPIPE_PHOTOS) or generated; nothing is downloaded."
        ),
    )
    add_arguments(p)
    from .bench.device import add_arguments as add_device_arguments

    add_device_arguments(p)  # --augment-on device: the device-side augmentation benchmark

    def run(args: argparse.Namespace) -> int:
        try:
            if args.augment_on == "device":
                from .bench.device import run as run_device_bench

                run_device_bench(args)
            else:
                from .bench.transforms import run as run_transforms_bench

                run_transforms_bench(args)
        except (ValueError, FileNotFoundError) as e:
            p.error(str(e))
        return 0

    p.set_defaults(func=run)


def _run_shard(args: argparse.Namespace) -> int:
    from .shard_writer import write_shards

    entry = write_shards(
        args.src,
        args.out,
        max_count=args.max_count,
        split=args.split,
        name=args.name,
        class_map=args.class_map,
        label=args.label,
    )
    print(
        f"wrote {entry['num_samples']} samples in {len(entry['filenames'])} shards to {args.out} "
        f"(split {args.split!r}); read them with "
        f"create_dataset('wds/', root={args.out!r}, split={args.split!r})"
    )
    return 0


def _run_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(args)


def _run_inspect(args: argparse.Namespace) -> int:
    from .inspection import run_inspect

    return run_inspect(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pixelpipe", description="Fast, correct image input pipelines for PyTorch (a timm.data drop-in)."
    )
    parser.add_argument("--version", action="version", version=f"pixelpipe {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_demo(sub)
    _add_inspect(sub)
    _add_preview(sub)
    _add_shard(sub)
    _add_bench(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except PixelpipeError as exc:
        # Bad input (a hostile or broken dataset, a bad option value): one line that names it, not a
        # traceback. Anything else is a bug and keeps its traceback.
        print(f"pixelpipe {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
