"""Benchmark JPEG sets, shared by the benchmark scripts.

``jpeg_set('imagenet')`` gives ImageNet-like JPEGs (about 460x400, quality 85-90) cut from
``../shared/photos`` by random crops and rescales; ``jpeg_set('large')`` gives large photos (longer side
1600-2400 px). Without the photos, textured images are generated instead. Sets are deterministic for a
seed and cached under the system temp dir (``pixelpipe_bench_data``).
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "photos"
CACHE = Path(tempfile.gettempdir()) / "pixelpipe_bench_data"
_VERSION = 1


def _sources() -> list[Image.Image]:
    if not PHOTOS.is_dir():
        return []
    out = []
    for p in sorted(PHOTOS.iterdir()):
        if p.suffix.lower() in (".jpg", ".jpeg", ".png"):
            with Image.open(p) as im:
                out.append(im.convert("RGB"))
    return out


def _generated(rng: np.random.Generator, w: int, h: int) -> Image.Image:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    fx, fy = rng.uniform(0.005, 0.05, 2)
    base = np.stack(
        [
            127 + 100 * np.sin(xx * fx + yy * fy),
            127 + 100 * np.cos(xx * fy - yy * fx),
            127 + 100 * np.sin((xx + yy) * (fx + fy) / 2),
        ],
        -1,
    )
    noise = rng.normal(0, 18, (h, w, 3))
    return Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8), "RGB")


def _one(rng: np.random.Generator, sources: list[Image.Image], size: tuple[int, int]) -> Image.Image:
    w, h = size
    if not sources:
        return _generated(rng, w, h)
    src = sources[int(rng.integers(len(sources)))]
    # random crop with the target aspect covering 50-100% of the shorter fitting size, then rescale
    aspect = w / h
    max_cw = min(src.width, int(src.height * aspect))
    cw = int(max_cw * rng.uniform(0.5, 1.0))
    ch = max(1, int(cw / aspect))
    left = int(rng.integers(0, src.width - cw + 1))
    top = int(rng.integers(0, src.height - ch + 1))
    return src.crop((left, top, left + cw, top + ch)).resize((w, h), Image.Resampling.BICUBIC)


def jpeg_set(kind: str = "imagenet", n: int = 64, seed: int = 0) -> list[bytes]:
    """``n`` JPEG files (as bytes) of the given kind: ``'imagenet'`` or ``'large'``."""
    if kind not in ("imagenet", "large"):
        raise ValueError(f"kind must be 'imagenet' or 'large', got {kind!r}")
    sources = _sources()
    tag = "photos" if sources else "generated"
    folder = CACHE / f"{kind}-{tag}-n{n}-s{seed}-v{_VERSION}"
    files = sorted(folder.glob("*.jpg")) if folder.is_dir() else []
    if len(files) == n:
        return [f.read_bytes() for f in files]
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        if kind == "imagenet":
            w, h = int(rng.integers(400, 521)), int(rng.integers(340, 461))
        else:
            longer = int(rng.integers(1600, 2401))
            ratio = rng.uniform(0.6, 0.85)
            w, h = (longer, int(longer * ratio)) if rng.random() < 0.7 else (int(longer * ratio), longer)
        img = _one(rng, sources, (w, h))
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=int(rng.integers(85, 91)))
        data = buf.getvalue()
        (folder / f"{i:04d}.jpg").write_bytes(data)
        out.append(data)
    return out
