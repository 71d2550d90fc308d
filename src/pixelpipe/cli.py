"""The ``pixelpipe`` command line.

``pixelpipe demo`` runs the main job on a built-in procedural dataset (no download); ``pixelpipe inspect``
describes a dataset. Run ``pixelpipe --help`` for the list.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__

__all__ = ["main"]


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="build a small labelled image set, load it, augment it and train a small CNN on it",
        description=(
            "The main job on a built-in default: writes a procedural .tar of class folders (no download), "
            "loads it with create_dataset, augments it with create_transform/create_loader and Mixup/CutMix, "
            "and trains a small CNN for a short CPU run, reporting loss, held-out accuracy and images/s. "
            "Point it at your own folder or tar with --data."
        ),
    )
    p.add_argument("--data", default=None, help="a folder or .tar of class folders to use instead")
    p.add_argument("--out", default="pixelpipe-demo", help="output folder (dataset, preview grid)")
    p.add_argument("--per-class", type=int, default=200, help="training images per class (built-in data)")
    p.add_argument("--img-size", type=int, default=64, help="training input size")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--workers", type=int, default=2, help="DataLoader workers (0: main process)")
    p.add_argument("--aug", default="rand-m9-n3-mstd0.5", help="auto_augment config string")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="a tiny run (seconds), for smoke tests")
    p.set_defaults(func=_run_demo)


def _add_inspect(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inspect", help="describe a dataset: reader, samples, classes, image sizes")
    p.add_argument("data", help="a folder, a .tar, or a reader name with --root")
    p.add_argument("--split", default="train")
    p.add_argument("--max-images", type=int, default=500, help="images decoded for size statistics")
    p.set_defaults(func=_run_inspect)


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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
