"""fast_collate: layout, dtypes, AugMix split-major order, errors, and agreement with the reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pixelpipe.errors import ConfigError
from pixelpipe.loader import fast_collate

ref_loader = pytest.importorskip("timm.data.loader")


def _images(n: int, shape=(3, 5, 4), seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(0, 256, shape, dtype=torch.uint8, generator=g) for _ in range(n)]


def _assert_same(ours, ref) -> None:
    assert ours[0].dtype == ref[0].dtype and ours[1].dtype == ref[1].dtype
    torch.testing.assert_close(ours[0], ref[0], rtol=0, atol=0)
    torch.testing.assert_close(ours[1], ref[1], rtol=0, atol=0)


@pytest.mark.parametrize("kind", ["tensor", "numpy"])
@pytest.mark.parametrize("n", [1, 2, 7])
def test_matches_reference_plain(kind: str, n: int) -> None:
    imgs = _images(n, seed=n)
    if kind == "numpy":
        imgs = [i.numpy() for i in imgs]
    batch = [(img, i * 3 % 5) for i, img in enumerate(imgs)]
    ours = fast_collate(batch)
    _assert_same(ours, ref_loader.fast_collate(batch))
    assert ours[0].shape == (n, 3, 5, 4) and ours[1].dtype == torch.int64


@pytest.mark.parametrize("kind", ["tensor", "numpy"])
@pytest.mark.parametrize("splits", [1, 2, 3])
def test_matches_reference_augmix_splits(kind: str, splits: int) -> None:
    n = 4
    views = [_images(splits, seed=10 * i) for i in range(n)]
    if kind == "numpy":
        views = [[v.numpy() for v in vs] for vs in views]
    batch = [(tuple(vs), i) for i, vs in enumerate(views)]
    x, y = fast_collate(batch)
    _assert_same((x, y), ref_loader.fast_collate(batch))
    # split-major: torch.split(x, B)[j][i] is view j of sample i
    for j, part in enumerate(torch.split(x, n)):
        for i in range(n):
            assert torch.equal(part[i], torch.as_tensor(views[i][j]))
    assert y.tolist() == list(range(n)) * splits


def test_dense_targets_match_reference() -> None:
    imgs = _images(3)
    batch = [(img, torch.tensor([0.2, 0.8]) * i) for i, img in enumerate(imgs)]
    ours = fast_collate(batch)
    _assert_same(ours, ref_loader.fast_collate(batch))
    assert ours[1].shape == (3, 2) and ours[1].dtype == torch.float32


def test_output_is_fresh_memory() -> None:
    imgs = _images(2)
    x, _ = fast_collate([(imgs[0], 0), (imgs[1], 1)])
    x.zero_()
    assert imgs[0].any()


@pytest.mark.parametrize(
    ("batch", "match"),
    [
        ([], "empty"),
        ([torch.zeros(3, 2, 2, dtype=torch.uint8)], "tuple"),
        ([(torch.zeros(3, 2, 2), 0)], "dtype"),
        ([(np.zeros((3, 2, 2), np.float32), 0)], "dtype"),
        ([("not an image", 0)], "str"),
        ([(torch.zeros(3, 2, 2, dtype=torch.uint8), 0), (torch.zeros(3, 2, 3, dtype=torch.uint8), 1)], "sha"),
        (
            [
                ((torch.zeros(1, 1, 1, dtype=torch.uint8),) * 2, 0),
                ((torch.zeros(1, 1, 1, dtype=torch.uint8),) * 3, 1),
            ],
            "views",
        ),
    ],
)
def test_bad_input_raises_config_error(batch, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        fast_collate(batch)


def _collate_reports_sharing(batch):
    x, y = fast_collate(batch)
    return x, y, torch.tensor(x.is_shared())


def test_worker_batches_are_collated_into_shared_memory() -> None:
    """In a DataLoader worker the batch is written straight into shared memory (sending it to the main
    process then copies nothing); in the main process it is ordinary memory."""
    samples = [(torch.full((3, 4, 5), i, dtype=torch.uint8), i) for i in range(6)]
    loader = torch.utils.data.DataLoader(
        samples, batch_size=3, num_workers=1, collate_fn=_collate_reports_sharing
    )
    for x, y, shared in loader:
        assert bool(shared)
        assert x[:, 0, 0, 0].tolist() == y.tolist()
    assert not fast_collate(samples)[0].is_shared()
