"""Differential tests against the reference (timm) Mixup/CutMix, given the same random draws.

The reference draws from NumPy's global state; here its draws are forced (monkeypatched) to the values
pixelpipe drew, and the outputs compared. Distributions are compared with a two-sample KS statistic.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from _stats import ks_statistic
from pixelpipe.batch import (
    FastCollateMixup,
    Mixup,
    MixupParams,
    cutmix_bbox_and_lam,
    mixup_target,
    one_hot,
    rand_bbox,
    rand_bbox_minmax,
)

tm = pytest.importorskip("timm.data.mixup")

H, W = 12, 16


class Forced:
    """Stands in for both ``np.random.randint`` and ``Generator.integers``: records bounds, returns a pick."""

    def __init__(self, pick: str) -> None:
        self.pick = pick
        self.calls: list[tuple[int, int]] = []

    def __call__(self, low, high=None, size=None):
        lo, hi = int(np.min(low)), int(np.min(high))
        self.calls.append((lo, hi))
        v = {"low": lo, "high": hi - 1, "mid": (lo + hi - 1) // 2}[self.pick]
        return v if size is None else np.full(size, v, dtype=np.int64)

    integers = __call__


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_one_hot_and_mixup_target_match_reference(smoothing: float) -> None:
    t = torch.tensor([3, 0, 7, 7, 1, 9])
    torch.testing.assert_close(one_hot(t, 10, 0.8, 0.02), tm.one_hot(t, 10, 0.8, 0.02))
    lam_vec = torch.tensor([0.1, 0.5, 0.7, 0.7, 0.5, 0.1])
    for lam in (1.0, 0.3, lam_vec.unsqueeze(1), lam_vec):
        ref = tm.mixup_target(
            t, 10, lam if not isinstance(lam, torch.Tensor) else lam.reshape(-1, 1), smoothing
        )
        torch.testing.assert_close(mixup_target(t, 10, lam, smoothing), ref)


@pytest.mark.parametrize("pick", ["low", "high", "mid"])
@pytest.mark.parametrize("lam", [0.0, 0.1, 0.37, 0.5, 0.9, 0.999, 1.0])
def test_rand_bbox_and_correction_match_reference_given_centre(monkeypatch, pick: str, lam: float) -> None:
    ref_draw, our_draw = Forced(pick), Forced(pick)
    monkeypatch.setattr(np.random, "randint", ref_draw)
    ref = tm.cutmix_bbox_and_lam((3, H, W), lam)
    ours = cutmix_bbox_and_lam((3, H, W), lam, rng=our_draw)
    assert ref_draw.calls == our_draw.calls
    assert [int(v) for v in ref[0]] == [int(v) for v in ours[0]]
    assert float(ref[1]) == pytest.approx(float(ours[1]))
    assert [int(v) for v in rand_bbox((H, W), lam, rng=Forced(pick))] == [int(v) for v in ref[0]]


@pytest.mark.parametrize("pick", ["low", "high", "mid"])
@pytest.mark.parametrize("minmax", [(0.2, 0.8), (0.0, 1.0), (0.25, 0.75)])
def test_rand_bbox_minmax_matches_reference_given_draws(monkeypatch, pick: str, minmax) -> None:
    ref_draw, our_draw = Forced(pick), Forced(pick)
    monkeypatch.setattr(np.random, "randint", ref_draw)
    ref = tm.cutmix_bbox_and_lam((H, W), 0.5, ratio_minmax=minmax)
    ours = cutmix_bbox_and_lam((H, W), 0.5, ratio_minmax=minmax, rng=our_draw)
    assert ref_draw.calls == our_draw.calls
    assert [int(v) for v in ref[0]] == [int(v) for v in ours[0]]
    assert float(ref[1]) == pytest.approx(float(ours[1]))


def test_rand_bbox_minmax_narrow_range_uses_lower_size() -> None:
    # int(12 * 0.5) == int(12 * 0.55): the reference's randint(6, 6) raises; the side is 6 here.
    np.random.seed(0)
    with pytest.raises(ValueError):
        tm.rand_bbox_minmax((H, W), (0.5, 0.55))
    y0, y1, _, _ = rand_bbox_minmax((H, W), (0.5, 0.55), count=50, rng=np.random.default_rng(0))
    assert ((y1 - y0) == 6).all()


def test_rand_bbox_minmax_reaches_last_row_and_column() -> None:
    y0, y1, x0, x1 = rand_bbox_minmax((H, W), (0.2, 0.8), count=4000, rng=np.random.default_rng(0))
    assert (y1 == H).any() and (x1 == W).any() and (y0 == 0).any() and (x0 == 0).any()
    assert (y1 <= H).all() and (x1 <= W).all()
    h = y1 - y0
    assert set(np.unique(h)) == set(range(int(H * 0.2), int(H * 0.8)))
    # every origin that keeps the box inside is used, including the last one
    assert (y0 == H - h).any()


def test_box_distributions_match_reference() -> None:
    rng = np.random.default_rng(0)
    n = 4000
    np.random.seed(0)
    ry0, ry1, rx0, rx1 = tm.rand_bbox((H, W), 0.6, count=n)
    oy0, oy1, ox0, ox1 = rand_bbox((H, W), 0.6, count=n, rng=rng)
    for r, o in ((ry0, oy0), (ry1, oy1), (rx0, ox0), ((ry1 - ry0) * (rx1 - rx0), (oy1 - oy0) * (ox1 - ox0))):
        assert ks_statistic(r, o) < 0.05
    np.random.seed(1)
    ry0, ry1, rx0, rx1 = tm.rand_bbox_minmax((H, W), (0.2, 0.8), count=n)
    oy0, oy1, ox0, ox1 = rand_bbox_minmax((H, W), (0.2, 0.8), count=n, rng=rng)
    for r, o in ((ry1 - ry0, oy1 - oy0), (rx0, ox0), ((ry1 - ry0) * (rx1 - rx0), (oy1 - oy0) * (ox1 - ox0))):
        assert ks_statistic(r, o) < 0.05


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(mixup_alpha=0.8, cutmix_alpha=1.0, prob=0.8),
        dict(mixup_alpha=0.0, cutmix_minmax=(0.2, 0.8)),
        dict(mixup_alpha=0.0, cutmix_alpha=1.0, correct_lam=False),
    ],
)
def test_lambda_distribution_matches_reference(kwargs: dict) -> None:
    n = 2000
    x = torch.zeros(n, 1, H, W)
    np.random.seed(0)
    ref_lam = tm.Mixup(mode="elem", **kwargs)._mix_elem(x).flatten().numpy()
    ours = Mixup(mode="elem", **kwargs).sample_params(n, x.shape, rng=np.random.default_rng(0))
    assert ks_statistic(ref_lam, ours.lam.numpy()) < 0.06
    assert abs((ref_lam == 1).mean() - (ours.lam.numpy() == 1).mean()) < 0.04


def force_reference(monkeypatch, ref, p: MixupParams, mode: str, batch_size: int) -> None:
    """Make the reference object draw exactly the parameters in ``p``."""
    n = {"batch": 1, "elem": batch_size}.get(mode, batch_size // 2)
    lam = p.lam[:n].numpy().astype(np.float32)
    cut = p.use_cutmix[:n].numpy()
    queue = [((*(int(v) for v in p.boxes[i]),), float(lam[i])) for i in range(n) if cut[i]]
    monkeypatch.setattr(tm, "cutmix_bbox_and_lam", lambda *a, **k: queue.pop(0))
    raw = np.where(cut, np.float32(0.5), lam)
    ref._params_per_elem = lambda k: (raw[:k].copy(), cut[:k].copy())
    ref._params_per_batch = lambda: (float(raw[0]), bool(cut[0]))


MODE_KW = [
    dict(mixup_alpha=0.8, cutmix_alpha=1.0),
    dict(mixup_alpha=1.0),
    dict(mixup_alpha=0.0, cutmix_minmax=(0.3, 0.9)),
]


@pytest.mark.parametrize("mode", ["batch", "pair", "elem"])
@pytest.mark.parametrize("kw", range(len(MODE_KW)))
def test_mixup_matches_reference_given_params(monkeypatch, mode: str, kw: int) -> None:
    b = 8
    x = torch.rand(b, 3, H, W, generator=torch.Generator().manual_seed(kw))
    t = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7])
    ours = Mixup(mode=mode, num_classes=10, **MODE_KW[kw])
    for seed in range(4):
        p = ours.sample_params(b, x.shape, rng=np.random.default_rng(seed))
        ref = tm.Mixup(mode=mode, num_classes=10, **MODE_KW[kw])
        force_reference(monkeypatch, ref, p, mode, b)
        rx, ry = ref(x.clone(), t)
        torch.testing.assert_close(ours.apply(x, p), rx, rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(ours.mix_targets(t, p), ry)


@pytest.mark.parametrize("as_numpy", [True, False])
@pytest.mark.parametrize("mode", ["batch", "pair", "elem", "half"])
@pytest.mark.parametrize("kw", range(len(MODE_KW)))
def test_fast_collate_mixup_matches_reference_given_params(monkeypatch, mode: str, kw: int, as_numpy) -> None:
    b = 8
    g = np.random.default_rng(kw)
    imgs = [g.integers(0, 256, (3, H, W), dtype=np.uint8) for _ in range(b)]
    batch = [(im if as_numpy else torch.from_numpy(im), i) for i, im in enumerate(imgs)]

    def ref_batch():
        return [(im.copy() if as_numpy else torch.from_numpy(im.copy()), i) for i, im in enumerate(imgs)]

    ours = FastCollateMixup(mode=mode, num_classes=10, **MODE_KW[kw])
    for seed in range(4):
        p = ours.sample_params(b, (H, W), rng=np.random.default_rng(seed))
        ox, oy = ours(batch, rng=np.random.default_rng(seed))
        ref = tm.FastCollateMixup(mode=mode, num_classes=10, **MODE_KW[kw])
        force_reference(monkeypatch, ref, p, mode, b)
        rx, ry = ref(ref_batch())
        assert ox.dtype == torch.uint8 and torch.equal(ox, rx)
        assert oy.dtype == torch.float32  # the reference gives float64 in half mode
        torch.testing.assert_close(oy, ry.float())
