"""Augmentation preview grids: each row one sample, its original then augmented draws, labelled."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw

from .rng import new_rng, use_rng

__all__ = ["preview_grid", "to_pil"]


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


def preview_grid(
    samples: Sequence[tuple[Any, str]],
    augment: Callable[[Any], Any],
    num_aug: int = 4,
    cell: int = 128,
    seed: int = 0,
) -> Image.Image:
    """A labelled grid: one row per ``(image, label)``; the original, then ``num_aug`` augmented draws.

    Each draw runs inside its own seeded generator, so the same ``seed`` gives the same grid.

    Example:
        >>> from PIL import Image
        >>> red = Image.new('RGB', (40, 30), 'red')
        >>> grid = preview_grid([(red, 'red')], lambda im: im, num_aug=2, cell=32)
        >>> grid.size
        (96, 46)
    """
    label_h = 14
    cols = 1 + num_aug
    grid = Image.new("RGB", (cols * cell, len(samples) * (cell + label_h)), "white")
    draw = ImageDraw.Draw(grid)
    for r, (img, label) in enumerate(samples):
        y = r * (cell + label_h)
        tiles = [img]
        for k in range(num_aug):
            with use_rng(new_rng(seed, r, k)):
                tiles.append(augment(img))
        for c, tile in enumerate(tiles):
            pil = to_pil(tile)
            pil.thumbnail((cell, cell))
            grid.paste(pil, (c * cell + (cell - pil.width) // 2, y + label_h + (cell - pil.height) // 2))
        draw.text((2, y + 1), f"{label}: original, then {num_aug} augmented", fill="black")
    return grid
