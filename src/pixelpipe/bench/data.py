"""Benchmark JPEG sets: deterministic ImageNet-like or large-photo JPEGs, built locally (never downloaded).

``jpeg_set('imagenet')`` gives ImageNet-like JPEGs (about 460x400, quality 85-90) cut from a folder of photos
by random crops and rescales; ``jpeg_set('large')`` gives large photos (longer side 1600-2400 px). The photos
folder is, first match wins: the ``photos`` argument, the ``PIXELPIPE_PHOTOS`` environment variable, or
``../shared/photos`` next to the repository when pixelpipe runs from a checkout. Without photos, textured
images are generated instead. Sets are deterministic for a seed and cached under the system temp dir
(``pixelpipe_bench_data``).

Example:
    >>> from pixelpipe.bench.data import generated_image
    >>> import numpy as np
    >>> generated_image(np.random.default_rng(0), 32, 24).size
    (32, 24)
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = ["CACHE", "PHOTOS", "find_photos", "generated_image", "jpeg_set"]

_REPO = Path(__file__).resolve().parents[3]  # <repo>/src/pixelpipe/bench/data.py -> <repo>
#: ``../shared/photos`` relative to the repository, used when pixelpipe runs from a source checkout.
PHOTOS = _REPO.parent / "shared" / "photos"
#: Where built JPEG sets are cached.
CACHE = Path(tempfile.gettempdir()) / "pixelpipe_bench_data"
_VERSION = 1
_EXTS = (".jpg", ".jpeg", ".png")


def find_photos(photos: str | os.PathLike[str] | None = None) -> Path | None:
    """The photos folder to cut benchmark images from, or ``None`` (generated images).

    ``photos`` wins, then the ``PIXELPIPE_PHOTOS`` environment variable, then the checkout's
    ``../shared/photos`` (only when this file lives in a source checkout: ``<repo>/src/pixelpipe``).
    An explicitly given folder that does not exist is an error.
    """
    explicit = photos if photos is not None else os.environ.get("PIXELPIPE_PHOTOS") or None
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not path.is_dir():
            raise FileNotFoundError(f"photos folder not found: {path}")
        return path
    if (_REPO / "pyproject.toml").is_file() and PHOTOS.is_dir():
        return PHOTOS
    return None


def _sources(folder: Path | None) -> list[Image.Image]:
    if folder is None:
        return []
    out = []
    for p in sorted(folder.iterdir()):
        if p.suffix.lower() in _EXTS:
            with Image.open(p) as im:
                out.append(im.convert("RGB"))
    return out


def generated_image(rng: np.random.Generator, w: int, h: int) -> Image.Image:
    """A textured RGB image (smooth colour waves plus noise) drawn from ``rng``."""
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
        return generated_image(rng, w, h)
    src = sources[int(rng.integers(len(sources)))]
    # random crop with the target aspect covering 50-100% of the shorter fitting size, then rescale
    aspect = w / h
    max_cw = min(src.width, int(src.height * aspect))
    cw = int(max_cw * rng.uniform(0.5, 1.0))
    ch = max(1, int(cw / aspect))
    left = int(rng.integers(0, src.width - cw + 1))
    top = int(rng.integers(0, src.height - ch + 1))
    return src.crop((left, top, left + cw, top + ch)).resize((w, h), Image.Resampling.BICUBIC)


def jpeg_set(
    kind: str = "imagenet", n: int = 64, seed: int = 0, photos: str | os.PathLike[str] | None = None
) -> list[bytes]:
    """``n`` JPEG files (as bytes) of the given kind: ``'imagenet'`` or ``'large'``.

    ``photos`` picks the source folder (see :func:`find_photos`); the set is deterministic for
    ``(kind, n, seed, photos)`` and cached.
    """
    if kind not in ("imagenet", "large"):
        raise ValueError(f"kind must be 'imagenet' or 'large', got {kind!r}")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    folder_src = find_photos(photos)
    sources = _sources(folder_src)
    if folder_src is None or not sources:
        tag = "generated"
    elif folder_src == PHOTOS:
        tag = "photos"
    else:  # a user folder: its own cache entry
        tag = "photos-" + hashlib.sha1(str(folder_src.resolve()).encode()).hexdigest()[:10]
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
