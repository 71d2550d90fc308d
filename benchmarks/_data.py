"""Benchmark JPEG sets, shared by the benchmark scripts (re-exported from :mod:`pixelpipe.bench.data`).

``jpeg_set('imagenet')`` gives ImageNet-like JPEGs (about 460x400, quality 85-90) cut from
``../shared/photos`` by random crops and rescales; ``jpeg_set('large')`` gives large photos (longer side
1600-2400 px). Without the photos, textured images are generated instead. Sets are deterministic for a
seed and cached under the system temp dir (``pixelpipe_bench_data``).
"""

from __future__ import annotations

from pixelpipe.bench.data import CACHE, PHOTOS, find_photos, generated_image, jpeg_set

__all__ = ["CACHE", "PHOTOS", "find_photos", "generated_image", "jpeg_set"]
