"""AugMixDataset: clean split first, augmented splits after, transform re-splitting, validation."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import encode, make_image
from pixelpipe.datasets import AugMixDataset, ImageDataset
from pixelpipe.errors import ConfigError
from pixelpipe.readers import Reader


class Numbers(torch.utils.data.Dataset):
    def __init__(self, n=4, transform=None, extra=False):
        self.n, self.transform, self.extra = n, transform, extra

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        x = i if self.transform is None else self.transform(i)
        return (x, i % 2, f"f{i}") if self.extra else (x, i % 2)


class Counter:
    """A 'secondary' transform whose every call gives a new value, like a random augmentation."""

    def __init__(self):
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        return x + 1000 * self.calls


def test_splits_clean_first_then_augmented():
    aug = Counter()
    base = Numbers(transform=(lambda x: x * 10, aug, lambda x: ("final", x)))
    ds = AugMixDataset(base, num_splits=3)
    assert len(ds) == 4
    views, target = ds[2]
    assert target == 0
    assert views == (("final", 20), ("final", 1020), ("final", 2020))
    assert base.transform(3) == 30  # the base dataset now only applies the primary stage
    assert ds.transform is base.transform


def test_num_splits_one_and_identity_final():
    ds = AugMixDataset(Numbers(transform=(None, lambda x: -x, None)), num_splits=1)
    assert ds[3] == ((3,), 1)
    ds2 = AugMixDataset(Numbers(transform=(None, lambda x: -x, None)))
    assert ds2[3] == ((3, -3), 1)


def test_extra_features_pass_through():
    ds = AugMixDataset(Numbers(transform=(None, lambda x: x + 1, None), extra=True))
    assert ds[1] == ((1, 2), 1, "f1")


def test_assigning_transform_resplits():
    base = Numbers(transform=(None, None, None))
    ds = AugMixDataset(base)
    ds.transform = [lambda x: x + 1, lambda x: x * 100, lambda x: -x]
    assert ds[2] == ((-3, -300), 0)
    with pytest.raises(ConfigError, match="list of length 2"):
        ds.transform = [None, None]


@pytest.mark.parametrize(
    ("transform", "got"),
    [(lambda x: x, "got function"), ((None, None), "tuple of length 2")],
)
def test_bad_transform_names_what_it_got(transform, got):
    with pytest.raises(ConfigError, match=got):
        AugMixDataset(Numbers(transform=transform))


@pytest.mark.parametrize("num_splits", [0, -1, 2.0, True, "2"])
def test_bad_num_splits(num_splits):
    with pytest.raises(ConfigError, match="num_splits"):
        AugMixDataset(Numbers(transform=(None, None, None)), num_splits=num_splits)


def test_dataset_without_transform_attribute():
    with pytest.raises(ConfigError, match="transform"):
        AugMixDataset([1, 2, 3])


def test_with_image_dataset():
    class One(Reader):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return io.BytesIO(encode(make_image(i), "PNG")), i

        def _filename(self, i, basename=False, absolute=False):
            return f"{i}.png"

    to_array = np.asarray
    flip = lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)  # noqa: E731
    ds = AugMixDataset(ImageDataset(None, reader=One(), transform=(None, flip, to_array)), num_splits=2)
    (clean, aug), target = ds[1]
    assert target == 1
    np.testing.assert_array_equal(clean, np.asarray(make_image(1)))
    np.testing.assert_array_equal(aug, clean[:, ::-1])
    assert "AugMixDataset(ImageDataset(" in repr(ds)


def test_wrapping_before_the_transform_is_set_then_assigning_splits():
    # timm's train.py wraps first and lets create_loader assign the separate=True transform.
    from pixelpipe.datasets import AugMixDataset as _AugMix

    class Numbers(torch.utils.data.Dataset):
        transform = None

        def __len__(self):
            return 2

        def __getitem__(self, i):
            return (i if self.transform is None else self.transform(i)), i

    ds = _AugMix(Numbers(), num_splits=2)
    assert ds[1] == ((1, 1), 1)  # no transform yet: every view is the raw sample
    ds.transform = (lambda x: x + 10, lambda x: x * 2, lambda x: -x)
    assert ds[1] == ((-11, -22), 1)
    with pytest.raises(ConfigError, match="got None"):  # assigning None later is still an error
        ds.transform = None
