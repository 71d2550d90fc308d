"""The built-in procedural dataset used by the demo."""

from __future__ import annotations

import io
import tarfile

import numpy as np
import pytest
from PIL import Image

from pixelpipe.errors import ConfigError
from pixelpipe.synthetic import SHAPES, write_shapes_folder, write_shapes_tar


def test_tar_layout_and_determinism(tmp_path):
    a = write_shapes_tar(tmp_path / "a.tar", per_class=3, size=32, seed=1)
    b = write_shapes_tar(tmp_path / "b.tar", per_class=3, size=32, seed=1)
    v = write_shapes_tar(tmp_path / "v.tar", per_class=3, size=32, seed=1, split="validation")
    assert a.num_images == 3 * len(SHAPES) and a.classes == SHAPES
    with tarfile.open(a.path) as ta, tarfile.open(b.path) as tb, tarfile.open(v.path) as tv:
        names = sorted(ta.getnames())
        assert names[0] == "circle/circle_0000.jpg" and len(names) == 15
        da = ta.extractfile("star/star_0001.jpg").read()
        assert da == tb.extractfile("star/star_0001.jpg").read()
        assert da != tv.extractfile("star/star_0001.jpg").read()
    img = Image.open(io.BytesIO(da))
    assert img.size == (32, 32) and img.mode == "RGB"
    assert np.asarray(img).std() > 5  # textured, not flat


def test_folder_layout(tmp_path):
    info = write_shapes_folder(tmp_path / "train", per_class=2, size=24, classes=("circle", "square"))
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.jpg"))
    assert files == [
        "train/circle/circle_0000.jpg",
        "train/circle/circle_0001.jpg",
        "train/square/square_0000.jpg",
        "train/square/square_0001.jpg",
    ]
    assert info.counts == {"train": 4}


def test_bad_arguments(tmp_path):
    with pytest.raises(ConfigError, match="per_class"):
        write_shapes_tar(tmp_path / "x.tar", per_class=0)
    with pytest.raises(ConfigError, match="unknown shape 'hexagon'"):
        write_shapes_folder(tmp_path, per_class=1, classes=("hexagon",))
