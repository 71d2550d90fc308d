"""The README's Python snippets run as written.

Each ```python block runs in a fresh temporary working directory that holds small generated stand-ins
for the paths the snippets name (``imagenette.tar``, ``pets/images``; ``s3://my-bucket/shards`` on a
local S3 server). The snippets are not edited: the
stand-ins are sized so that they stay quick (``imagenette.tar`` holds just over one batch of 64 training
images, so each of the quickstart's 10 epochs is one step).
"""

from __future__ import annotations

import io
import re
import tarfile
from pathlib import Path

import pytest

from pixelpipe.rng import new_rng
from pixelpipe.synthetic import render_shape

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"^```(?P<lang>\w*)\n(?P<code>.*?)^```", re.MULTILINE | re.DOTALL)


def _blocks(lang: str) -> list[tuple[int, str]]:
    text = README.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, m.start("code")) + 1, m["code"])
        for m in FENCE.finditer(text)
        if m["lang"] == lang
    ]


PYTHON_BLOCKS = _blocks("python")


def _write_imagenette_tar(path: Path, train_per_class: int = 13, val_per_class: int = 2) -> None:
    """``imagenette2/{train,val}/<class>/*.JPEG`` in one tar, like the real archive (5 of its 10 classes)."""
    classes = ("n01440764", "n02102040", "n02979186", "n03000684", "n03028079")
    shapes = ("circle", "cross", "square", "star", "triangle")
    with tarfile.open(path, "w") as tar:
        for si, (split, count) in enumerate((("train", train_per_class), ("val", val_per_class))):
            for ci, (wnid, shape) in enumerate(zip(classes, shapes)):
                for i in range(count):
                    buf = io.BytesIO()
                    render_shape(shape, new_rng(si, ci, i), 48).save(buf, format="JPEG")
                    info = tarfile.TarInfo(f"imagenette2/{split}/{wnid}/{wnid}_{i}.JPEG")
                    info.size = buf.tell()
                    buf.seek(0)
                    tar.addfile(info, buf)


def _write_pets(root: Path) -> None:
    root.mkdir(parents=True)
    for ci, (breed, shape) in enumerate((("Abyssinian", "circle"), ("great_pyrenees", "square"))):
        for i in range(3):
            render_shape(shape, new_rng(ci, i), 40).save(root / f"{breed}_{i + 1}.jpg")


def _write_shards(tmp_path: Path) -> None:
    """``shards/`` as ``pixelpipe shard data/ shards/ --split train`` writes it, from a small folder."""
    from pixelpipe.shard_writer import write_shards
    from pixelpipe.synthetic import write_shapes_folder

    write_shapes_folder(tmp_path / "data" / "train", per_class=4, size=40, classes=("circle", "star"))
    write_shards(tmp_path / "data", tmp_path / "shards", max_count=3, split="train", progress=False)


def _write_hf(tmp_path: Path) -> None:
    """``data/beans`` (a ``save_to_disk`` folder) and ``data/parquet/train-*.parquet``."""
    datasets = pytest.importorskip("datasets")
    images, labels = [], []
    for i in range(8):
        buf = io.BytesIO()
        render_shape(("circle", "star")[i % 2], new_rng(7, i), 40).save(buf, format="JPEG")
        images.append({"bytes": buf.getvalue(), "path": None})
        labels.append(i % 2)
    features = datasets.Features(
        {"image": datasets.Image(), "label": datasets.ClassLabel(names=["angular_leaf_spot", "healthy"])}
    )
    ds = datasets.Dataset.from_dict({"image": images, "label": labels}, features=features)
    ds.save_to_disk(str(tmp_path / "data" / "beans"))
    (tmp_path / "data" / "parquet").mkdir(parents=True)
    ds.to_parquet(str(tmp_path / "data" / "parquet" / "train-0.parquet"))


@pytest.fixture
def readme_cwd(tmp_path, monkeypatch):
    _write_imagenette_tar(tmp_path / "imagenette.tar")
    _write_pets(tmp_path / "pets" / "images")
    _write_shards(tmp_path)
    _write_hf(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_readme_has_python_snippets():
    assert len(PYTHON_BLOCKS) >= 2


@pytest.mark.filterwarnings("ignore:This DataLoader will create:UserWarning")  # num_workers=4 on 2 cores
@pytest.mark.parametrize(("line", "code"), PYTHON_BLOCKS, ids=[f"README.md:{n}" for n, _ in PYTHON_BLOCKS])
def test_readme_snippet_runs(readme_cwd, line, code, request):
    if "s3://my-bucket/shards" in code:  # the object-storage snippet: shards/ on a local S3 server
        request.getfixturevalue("s3_server").upload(readme_cwd / "shards", "s3://my-bucket/shards")
    namespace: dict = {"__name__": "__readme__"}
    exec(compile(code, f"README.md:{line}", "exec"), namespace)
    dataset = namespace.get("dataset")
    if dataset is not None:  # whatever dataset a snippet builds must deliver samples
        assert len(dataset) > 0
        image, target = dataset[0][:2]
        assert image is not None and int(target) >= 0
    if "imagenette.tar" in code:
        # the quickstart trains on the 65 train/ images only (not the 75 of both splits), and its loop ran
        assert len(dataset) == 65
        images, targets = namespace["images"], namespace["targets"]  # the last batch, after mixup
        assert tuple(images.shape) == (64, 3, 224, 224) and tuple(targets.shape) == (64, 10)


def test_migration_line_imports():
    """The ``+`` line of the migration diff imports, and names what the ``-`` line imports from timm."""
    (_, diff), *_ = _blocks("diff")
    added = [ln[1:] for ln in diff.splitlines() if ln.startswith("+")]
    removed = [ln[1:] for ln in diff.splitlines() if ln.startswith("-")]
    assert added and removed
    exec("\n".join(added), {})
    assert [ln.replace("timm.data", "pixelpipe") for ln in removed] == added
