"""Procedural labelled images: a built-in dataset that needs no download.

Each class is a shape (circle, square, triangle, ...) drawn in a random colour, size, position and
rotation over a textured background, so a small CNN can learn it in minutes on a CPU while augmentation
still has something real to work on. Used by ``pixelpipe demo`` and the examples.

Example:
    >>> import tarfile, tempfile, os
    >>> from pixelpipe.synthetic import write_shapes_tar
    >>> path = os.path.join(tempfile.mkdtemp(), 'shapes.tar')
    >>> info = write_shapes_tar(path, per_class=2, size=64, seed=0)
    >>> info.num_images, info.classes[:2]
    (10, ('circle', 'cross'))
    >>> with tarfile.open(path) as tar:
    ...     sorted(tar.getnames())[:2]
    ['circle/circle_0000.jpg', 'circle/circle_0001.jpg']
"""

from __future__ import annotations

import io
import math
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .errors import ConfigError
from .rng import new_rng

__all__ = ["SHAPES", "ShapesInfo", "render_shape", "write_shapes_folder", "write_shapes_tar"]

SHAPES: tuple[str, ...] = ("circle", "cross", "square", "star", "triangle")


@dataclass(frozen=True)
class ShapesInfo:
    """What was written: the path, class names and image counts per split."""

    path: str
    classes: tuple[str, ...]
    counts: dict[str, int]

    @property
    def num_images(self) -> int:
        return sum(self.counts.values())


def _background(rng: np.random.Generator, size: int) -> Image.Image:
    lo = rng.integers(0, 128, size=3)
    hi = rng.integers(128, 256, size=3)
    t = np.linspace(0.0, 1.0, size, dtype=np.float32)
    angle = rng.uniform(0, 2 * math.pi)
    ramp = np.cos(angle) * t[None, :] + np.sin(angle) * t[:, None]
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    noise = rng.normal(0.0, 0.06, size=(size // 16 + 1, size // 16 + 1)).astype(np.float32)
    noise = np.kron(noise, np.ones((16, 16), np.float32))[:size, :size]
    mix = np.clip(ramp + noise, 0.0, 1.0)[..., None]
    arr = lo[None, None, :] * (1 - mix) + hi[None, None, :] * mix
    arr += rng.normal(0.0, 6.0, size=arr.shape)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


def _polygon(shape: str, cx: float, cy: float, r: float, rot: float) -> list[tuple[float, float]]:
    if shape == "square":
        angles = [math.pi / 4 + k * math.pi / 2 for k in range(4)]
        radii = [r] * 4
    elif shape == "triangle":
        angles = [-math.pi / 2 + k * 2 * math.pi / 3 for k in range(3)]
        radii = [r] * 3
    elif shape == "star":
        angles = [-math.pi / 2 + k * math.pi / 5 for k in range(10)]
        radii = [r if k % 2 == 0 else r * 0.42 for k in range(10)]
    elif shape == "cross":
        w = 0.33
        pts = [(-w, -1), (w, -1), (w, -w), (1, -w), (1, w), (w, w), (w, 1), (-w, 1), (-w, w), (-1, w)]
        pts += [(-1, -w), (-w, -w)]
        angles = [math.atan2(y, x) for x, y in pts]
        radii = [r * math.hypot(x, y) / math.sqrt(2) * 1.25 for x, y in pts]
    else:
        raise ConfigError(f"unknown shape {shape!r}; known: {', '.join(SHAPES)}")
    return [(cx + rr * math.cos(a + rot), cy + rr * math.sin(a + rot)) for a, rr in zip(angles, radii)]


def render_shape(shape: str, rng: np.random.Generator, size: int = 128) -> Image.Image:
    """One RGB image of ``shape`` with random colour, scale, position and rotation."""
    img = _background(rng, size)
    draw = ImageDraw.Draw(img)
    r = size * rng.uniform(0.24, 0.38)
    cx = rng.uniform(r, size - r)
    cy = rng.uniform(r, size - r)
    colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
    outline = (0, 0, 0) if sum(colour) > 384 else (255, 255, 255)
    if shape == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour, outline=outline, width=max(1, size // 64))
    else:
        pts = _polygon(shape, cx, cy, r, rng.uniform(0, 2 * math.pi))
        draw.polygon(pts, fill=colour, outline=outline, width=max(1, size // 64))
    if rng.random() < 0.5:
        img = img.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0.2, 1.2))))
    return img


def _iter_images(per_class: int, size: int, seed: int, classes: tuple[str, ...], split: str):
    if per_class < 1:
        raise ConfigError(f"per_class must be >= 1, got {per_class}")
    split_key = sum(ord(c) * (i + 1) for i, c in enumerate(split))
    for ci, shape in enumerate(classes):
        for i in range(per_class):
            img = render_shape(shape, new_rng(seed, split_key, ci, i), size)
            buf = io.BytesIO()
            img.save(buf, format="JPEG", quality=90)
            yield f"{shape}/{shape}_{i:04d}.jpg", buf.getvalue()


def write_shapes_tar(
    path: str | Path,
    per_class: int = 120,
    size: int = 128,
    seed: int = 0,
    classes: tuple[str, ...] = SHAPES,
    split: str = "train",
) -> ShapesInfo:
    """Write a ``.tar`` of class folders (``<class>/<class>_0000.jpg``, ...).

    ``split`` only changes which images are drawn, so ``split='validation'`` gives a disjoint held-out set.
    """
    mtime = int(time.time())
    with tarfile.open(path, "w") as tar:
        for name, data in _iter_images(per_class, size, seed, classes, split):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = mtime
            tar.addfile(ti, io.BytesIO(data))
    return ShapesInfo(str(path), tuple(classes), {split: per_class * len(classes)})


def write_shapes_folder(
    root: str | Path,
    per_class: int = 120,
    size: int = 128,
    seed: int = 0,
    classes: tuple[str, ...] = SHAPES,
    split: str = "train",
) -> ShapesInfo:
    """Write ``root/<class>/*.jpg`` class folders (pass ``root=base/'train'`` for split layouts)."""
    root = Path(root)
    for name, data in _iter_images(per_class, size, seed, classes, split):
        out = root / name
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    return ShapesInfo(str(root), tuple(classes), {split: per_class * len(classes)})
