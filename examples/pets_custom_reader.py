"""Plug your own dataset layout into pixelpipe: an Oxford-IIIT Pets style reader.

Oxford-IIIT Pets keeps every image in one folder and puts the class in the file name
(``Abyssinian_12.jpg`` -> ``Abyssinian``, ``great_pyrenees_3.jpg`` -> ``great_pyrenees``). A reader only
says where each sample's bytes and label are; ``ImageDataset`` does the decoding, the error policy and
the transforms, and ``create_loader`` the batching.

Run it on your copy of the dataset::

    python examples/pets_custom_reader.py --root path/to/oxford-iiit-pet/images

or without arguments on a small generated stand-in. pixelpipe also ships this layout as
``pixelpipe.readers.ReaderFilenameLabel``; the class below shows how to write such a reader yourself.
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile

from pixelpipe import ImageDataset, create_loader
from pixelpipe.readers import Reader


class PetsReader(Reader):
    """All images in one folder; the class is the file name without its trailing ``_<number>``."""

    pattern = re.compile(r"^(?P<label>.+)_\d+$")

    def __init__(self, root: str) -> None:
        super().__init__()
        self.root = root
        self.files = sorted(f for f in os.listdir(root) if f.lower().endswith((".jpg", ".jpeg", ".png")))
        labels = []
        for f in self.files:
            match = self.pattern.match(os.path.splitext(f)[0])
            if match is None:
                raise ValueError(f"{f!r} in {root!r} does not look like '<class>_<number>.jpg'")
            labels.append(match["label"])
        self.class_to_idx = {name: i for i, name in enumerate(sorted(set(labels), key=str.lower))}
        self.targets = [self.class_to_idx[label] for label in labels]

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int):
        return open(os.path.join(self.root, self.files[index]), "rb"), self.targets[index]

    def _filename(self, index: int, basename: bool = False, absolute: bool = False) -> str:
        name = self.files[index]
        return os.path.join(os.path.abspath(self.root), name) if absolute else name


def make_standin(root: str, per_class: int = 6) -> None:
    """A few generated pets-style files (shapes stand in for breeds)."""
    from pixelpipe.rng import new_rng
    from pixelpipe.synthetic import render_shape

    for ci, (breed, shape) in enumerate([("Abyssinian", "circle"), ("great_pyrenees", "square")]):
        for i in range(per_class):
            render_shape(shape, new_rng(ci, i), 80).save(os.path.join(root, f"{breed}_{i + 1}.jpg"))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=None, help="folder of <class>_<n>.jpg images")
    parser.add_argument("--img-size", type=int, default=64)
    args = parser.parse_args(argv)
    root = args.root
    if root is None:
        root = tempfile.mkdtemp(prefix="pets-")
        make_standin(root)

    reader = PetsReader(root)
    dataset = ImageDataset(root, reader=reader)
    loader = create_loader(
        dataset,
        input_size=(3, args.img_size, args.img_size),
        batch_size=4,
        is_training=True,
        auto_augment="rand-m9-mstd0.5-inc1",
        num_workers=0,
        device="cpu",
    )
    images, targets = next(iter(loader))
    print(f"{len(dataset)} images, classes {reader.class_to_idx}")
    print(f"first batch: images {tuple(images.shape)} {images.dtype}, targets {targets.tolist()}")
    return {"len": len(dataset), "classes": reader.class_to_idx, "shape": tuple(images.shape)}


if __name__ == "__main__":
    main()
