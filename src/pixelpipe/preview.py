"""Augmentation preview grids: each row one sample, its original then augmented draws, labelled.

:func:`preview_grid` lays out any ``(image, label)`` samples with any augmentation callable;
:func:`preview_dataset` builds the whole ``pixelpipe preview`` picture for a dataset: a title, the sample
rows, and optionally a block of Mixup/CutMix-mixed images annotated with their top-2 soft labels.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw

from .errors import ConfigError
from .rng import new_rng, use_rng

__all__ = ["preview_dataset", "preview_grid", "run_preview", "to_pil"]

ROW_LABEL_H = 14  # label band above each sample row of preview_grid
TITLE_H = 18  # title band of preview_dataset
MIX_HEADER_H = 18  # header band above the mixed-batch block
MIX_LABEL_H = 38  # three text lines above each mixed image
MIN_CELL = 112  # cells are never narrower than this, so the labels fit


def to_pil(img: Any) -> Image.Image:
    """A PIL RGB image from a PIL image, a uint8/float CHW tensor or an HWC/CHW uint8 array."""
    if isinstance(img, Image.Image):
        return img.convert("RGB")
    if isinstance(img, torch.Tensor):
        t = img.detach().cpu()
        if t.dtype != torch.uint8:
            t = (t.float().clamp(0, 1) * 255).round().to(torch.uint8)
        arr = t.permute(1, 2, 0).numpy()
    else:
        arr = np.asarray(img)
        if arr.ndim == 3 and arr.shape[0] in (1, 3) and arr.shape[-1] not in (1, 3):
            arr = arr.transpose(1, 2, 0)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    return Image.fromarray(np.ascontiguousarray(arr)).convert("RGB")


def _fit(img: Image.Image, cell: int, upscale: bool) -> Image.Image:
    """``img`` scaled to fit a ``cell`` square (aspect kept); enlarged only with ``upscale``."""
    scale = cell / max(img.width, img.height)
    if scale >= 1 and not upscale:
        return img
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    resample = Image.Resampling.NEAREST if scale >= 1 else Image.Resampling.BICUBIC
    return img.resize(size, resample)


def _paste_centered(grid: Image.Image, tile: Image.Image, x: int, y: int, cell: int) -> None:
    grid.paste(tile, (x + (cell - tile.width) // 2, y + (cell - tile.height) // 2))


def preview_grid(
    samples: Sequence[tuple[Any, str]],
    augment: Callable[[Any], Any],
    num_aug: int = 4,
    cell: int = 128,
    seed: int = 0,
    *,
    upscale: bool = False,
) -> Image.Image:
    """A labelled grid: one row per ``(image, label)``; the original, then ``num_aug`` augmented draws.

    Each draw runs inside its own seeded generator, so the same ``seed`` gives the same grid. Tiles larger
    than ``cell`` are shrunk to fit; ``upscale=True`` also enlarges smaller ones (nearest neighbour, so
    pixels stay visible). The grid is ``(1 + num_aug) * cell`` wide and ``len(samples) * (cell + 14)`` high.

    Example:
        >>> from PIL import Image
        >>> red = Image.new('RGB', (40, 30), 'red')
        >>> grid = preview_grid([(red, 'red')], lambda im: im, num_aug=2, cell=32)
        >>> grid.size
        (96, 46)
    """
    cols = 1 + num_aug
    grid = Image.new("RGB", (cols * cell, len(samples) * (cell + ROW_LABEL_H)), "white")
    draw = ImageDraw.Draw(grid)
    for r, (img, label) in enumerate(samples):
        y = r * (cell + ROW_LABEL_H)
        tiles = [img]
        for k in range(num_aug):
            with use_rng(new_rng(seed, r, k)):
                tiles.append(augment(img))
        for c, tile in enumerate(tiles):
            _paste_centered(grid, _fit(to_pil(tile), cell, upscale), c * cell, y + ROW_LABEL_H, cell)
        draw.text((2, y + 1), f"{label}: original, then {num_aug} augmented", fill="black")
    return grid


def _class_names(dataset: Any) -> list[str]:
    reader = getattr(dataset, "reader", None)
    mapping = getattr(reader, "class_to_idx", None) or getattr(reader, "class_name_to_idx", None) or {}
    return [str(name) for name, _ in sorted(mapping.items(), key=lambda kv: kv[1])]


def _spread(length: int, count: int, repeat: bool) -> list[int]:
    """``count`` indices spread evenly over ``range(length)`` (so over the classes of a sorted reader).

    Without ``repeat`` there are at most ``length`` of them; with it, exactly ``count`` (cycling).
    """
    if count <= length:
        return [int(i) for i in np.linspace(0, length - 1, count).round()]
    return [i % length for i in range(count)] if repeat else list(range(length))


def _label_name(names: Sequence[str], target: int) -> str:
    return names[target] if 0 <= target < len(names) else str(target)


def _mix_block(
    views: torch.Tensor,
    targets: torch.Tensor,
    names: Sequence[str],
    mixup_alpha: float,
    cutmix_alpha: float,
    cols: int,
    cell: int,
    seed: int,
) -> Image.Image:
    """Mix a uint8 batch with per-sample Mixup/CutMix and draw it, each image under its top-2 soft labels."""
    from .batch import Mixup

    if int(targets.min()) < 0:
        raise ConfigError("preview_dataset: mixing needs class labels; this dataset has unlabelled samples")
    num_classes = max(len(names), int(targets.max()) + 1, 2)
    mixup = Mixup(
        mixup_alpha=mixup_alpha,
        cutmix_alpha=cutmix_alpha,
        prob=1.0,
        mode="elem",
        label_smoothing=0.0,
        num_classes=num_classes,
    )
    x = views.float() / 255.0
    params = mixup.sample_params(len(x), x.shape, rng=new_rng(seed, 0x6D6978))
    mixed, soft = mixup.apply(x, params), mixup.mix_targets(targets, params)
    rows = math.ceil(len(mixed) / cols)
    block = Image.new("RGB", (cols * cell, MIX_HEADER_H + rows * (cell + MIX_LABEL_H)), "white")
    draw = ImageDraw.Draw(block)
    parts = []
    if mixup_alpha > 0:
        parts.append(f"Mixup alpha {mixup_alpha:g}")
    if cutmix_alpha > 0:
        parts.append(f"CutMix alpha {cutmix_alpha:g}")
    draw.line([(0, 0), (block.width, 0)], fill="grey")
    draw.text((2, 3), f"mixed batch ({', '.join(parts)}, per sample): top-2 soft labels", fill="black")
    for i in range(len(mixed)):
        x0 = (i % cols) * cell
        y0 = MIX_HEADER_H + (i // cols) * (cell + MIX_LABEL_H)
        lam = float(params.lam[i])
        op = "unmixed" if lam >= 1.0 else ("cutmix" if bool(params.use_cutmix[i]) else "mixup")
        probs, idx = soft[i].topk(min(2, soft.shape[1]))
        lines = [op] + [
            f"{float(p):.2f} {_label_name(names, int(c))}" for p, c in zip(probs, idx) if float(p) >= 0.005
        ]
        draw.multiline_text((x0 + 2, y0 + 1), "\n".join(lines), fill="black", spacing=2)
        tile = _fit(to_pil(mixed[i]), cell, upscale=True)
        _paste_centered(block, tile, x0, y0 + MIX_LABEL_H, cell)
    return block


def preview_dataset(
    dataset: Any,
    aug: str | None = "rand-m9-mstd0.5-inc1",
    num: int = 6,
    num_aug: int = 4,
    size: int = 128,
    mixup_alpha: float = 0.0,
    cutmix_alpha: float = 0.0,
    seed: int = 0,
    title: str | None = None,
) -> Image.Image:
    """The ``pixelpipe preview`` picture for a dataset whose items are ``(PIL image, class index)``.

    ``num`` samples spread over the dataset, each shown as the original and ``num_aug`` draws of the
    training transform ``create_transform(size, is_training=True, auto_augment=aug)``. With
    ``mixup_alpha`` or ``cutmix_alpha`` > 0, a block follows: a batch of augmented views of samples spread
    over the dataset, one or two full rows (an even count), mixed per sample with ``Mixup``/CutMix and each
    annotated with its two largest soft labels. Cells are ``cell = max(size, 112)`` pixels square, so the
    picture is ``(1 + num_aug) * cell`` wide and ``18 + n * (cell + 14)`` high for ``n = min(num,
    len(dataset))`` rows, plus ``18 + (cell + 38)`` with mixing when ``1 + num_aug`` is even, else
    ``18 + 2 * (cell + 38)``.

    Raises:
        ConfigError: a bad count, size or alpha, or an empty dataset.
        ValueError: a bad ``aug`` config string (the message names the section).
    """
    from .factories import create_transform

    for name, value, low in (("num", num, 1), ("num_aug", num_aug, 0), ("size", size, 8)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(f"preview_dataset: {name} must be an int >= {low}, got {value!r}")
    for name, value in (("mixup", mixup_alpha), ("cutmix", cutmix_alpha)):
        if not math.isfinite(value) or value < 0:
            raise ConfigError(f"preview_dataset: the {name} alpha must be >= 0, got {value!r}")
    if len(dataset) == 0:
        raise ConfigError("preview_dataset: the dataset is empty")
    augment = create_transform(
        size, is_training=True, auto_augment=aug or None, use_prefetcher=True, interpolation="bilinear"
    )
    names = _class_names(dataset)
    cell, cols = max(size, MIN_CELL), 1 + num_aug
    mixing = mixup_alpha > 0 or cutmix_alpha > 0
    # Mixup pairs sample i with B - 1 - i, so an even batch; full rows of the grid's width.
    batch_size = cols if cols % 2 == 0 else 2 * cols
    saved = dataset.transform
    dataset.transform = None
    try:
        samples = [dataset[i][:2] for i in _spread(len(dataset), num, repeat=False)]
        batch = [dataset[i][:2] for i in _spread(len(dataset), batch_size, repeat=True)] if mixing else []
    finally:
        dataset.transform = saved
    labelled = [(img, _label_name(names, int(t))) for img, t in samples]
    parts = [preview_grid(labelled, augment, num_aug, cell, seed, upscale=True)]
    if mixing:
        views, targets = [], []
        for i, (img, target) in enumerate(batch):
            with use_rng(new_rng(seed, 0x6D6978, i)):
                views.append(torch.as_tensor(np.asarray(augment(img))))
            targets.append(int(target))
        parts.append(
            _mix_block(
                torch.stack(views), torch.tensor(targets), names, mixup_alpha, cutmix_alpha, cols, cell, seed
            )
        )
    width = cols * cell
    out = Image.new("RGB", (width, TITLE_H + sum(p.height for p in parts)), "white")
    ImageDraw.Draw(out).text((2, 3), title or f"aug {aug or 'none'}, {size}px, seed {seed}", fill="black")
    y = TITLE_H
    for part in parts:
        out.paste(part, (0, y))
        y += part.height
    return out


def run_preview(args: argparse.Namespace) -> int:
    """``pixelpipe preview`` with parsed CLI arguments: write the grid, return the exit status."""
    import sys

    from .factories import create_dataset

    try:
        dataset = create_dataset("", root=args.data, split=args.split)
        title = (
            f"{args.data} ({args.split}): {len(dataset)} images, {len(_class_names(dataset))} classes | "
            f"aug {args.aug or 'none'} | {args.size}px | seed {args.seed}"
        )
        grid = preview_dataset(
            dataset,
            aug=None if args.aug in ("", "none") else args.aug,
            num=args.num,
            num_aug=args.num_aug,
            size=args.size,
            mixup_alpha=args.mixup,
            cutmix_alpha=args.cutmix,
            seed=args.seed,
            title=title,
        )
        out = Path(args.output)
        out.parent.mkdir(parents=True, exist_ok=True)
        grid.save(out)
    except (ValueError, OSError) as e:
        print(f"pixelpipe preview: error: {str(e).removeprefix('preview_dataset: ')}", file=sys.stderr)
        return 2
    print(f"preview grid ({grid.width}x{grid.height}): {out}")
    return 0
