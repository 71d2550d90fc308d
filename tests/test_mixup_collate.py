"""FastCollateMixup: uint8 collate-time mixing, input kinds, AugMix splits, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pixelpipe.batch import MIXUP_MODES, FastCollateMixup, Mixup
from pixelpipe.errors import ConfigError

C, H, W = 3, 10, 14


def samples(b: int, seed: int = 0) -> list[tuple[np.ndarray, int]]:
    g = np.random.default_rng(seed)
    return [(g.integers(0, 256, (C, H, W), dtype=np.uint8), i % 5) for i in range(b)]


@pytest.mark.parametrize("mode", MIXUP_MODES)
def test_numpy_and_tensor_inputs_agree_and_float32_targets(mode: str) -> None:
    batch = samples(8)
    collate = FastCollateMixup(mixup_alpha=0.8, cutmix_alpha=1.0, mode=mode, num_classes=5)
    xn, yn = collate(batch, rng=np.random.default_rng(1))
    xt, yt = collate([(torch.from_numpy(a), t) for a, t in batch], rng=np.random.default_rng(1))
    n = 4 if mode == "half" else 8
    assert xn.shape == (n, C, H, W) and xn.dtype == torch.uint8
    assert yn.shape == (n, 5) and yn.dtype == torch.float32
    assert torch.equal(xn, xt) and torch.equal(yn, yt)
    torch.testing.assert_close(yn.sum(1), torch.ones(n))


@pytest.mark.parametrize("mode", MIXUP_MODES)
def test_matches_tensor_mixup_on_uint8(mode: str) -> None:
    batch = samples(8, seed=2)
    collate = FastCollateMixup(mixup_alpha=1.0, cutmix_alpha=1.0, mode=mode, num_classes=5)
    x, y = collate(batch, rng=np.random.default_rng(3))
    stacked = torch.from_numpy(np.stack([a for a, _ in batch]))
    targets = torch.tensor([t for _, t in batch])
    mix = Mixup(mixup_alpha=1.0, cutmix_alpha=1.0, mode=mode, num_classes=5)
    x2, y2 = mix(stacked, targets, rng=np.random.default_rng(3))
    assert torch.equal(x, x2) and torch.equal(y, y2)
    # float blend, then round half-to-even: within 0.5 of the exact blend
    p = mix.sample_params(8, stacked.shape, rng=np.random.default_rng(3))
    blend = ~p.use_cutmix
    if not bool(blend.any()):
        return
    lam = p.lam[blend].view(-1, 1, 1, 1)
    exact = lam * stacked[: len(p.lam)][blend].float() + (1 - lam) * stacked[p.partner][blend].float()
    assert float((x[blend].float() - exact).abs().max()) <= 0.5 + 1e-4


def test_inputs_are_not_modified() -> None:
    batch = samples(8)
    keep = [a.copy() for a, _ in batch]
    FastCollateMixup(cutmix_alpha=1.0, mode="pair")(batch, rng=np.random.default_rng(0))
    assert all(np.array_equal(a, k) for (a, _), k in zip(batch, keep))


@pytest.mark.parametrize("mode", ["elem", "half"])
def test_augmix_splits_share_mixing_and_are_split_major(mode: str) -> None:
    base = samples(8, seed=4)
    batch = [((a, a.copy(), a.copy()), t) for a, t in base]
    collate = FastCollateMixup(mixup_alpha=0.8, cutmix_alpha=1.0, mode=mode, num_classes=5)
    x, y = collate(batch, rng=np.random.default_rng(5))
    plain_x, plain_y = collate(base, rng=np.random.default_rng(5))
    n = plain_x.shape[0]
    assert x.shape == (3 * n, C, H, W)
    for j, view in enumerate(torch.split(x, n)):
        assert torch.equal(view, plain_x), j
    assert torch.equal(y, plain_y.repeat(3, 1))


def test_errors() -> None:
    collate = FastCollateMixup()
    with pytest.raises(ConfigError, match="batch_size=7"):
        collate(samples(7))
    with pytest.raises(ConfigError, match="uint8"):
        collate([(a.astype(np.float32), t) for a, t in samples(4)])
    bad = samples(4)
    bad[2] = (np.zeros((C, H + 1, W), np.uint8), 0)
    with pytest.raises(ConfigError, match="shape"):
        collate(bad)
    with pytest.raises(ConfigError, match="image, target"):
        collate([])
    with pytest.raises(ConfigError, match="views"):
        collate([((a, a), t) if i else ((a,), t) for i, (a, t) in enumerate(samples(4))])


@pytest.mark.parametrize("mode", MIXUP_MODES)
@pytest.mark.parametrize("chunk", [1, 97, 1 << 20])
def test_chunked_blending_matches_tensor_mixup(monkeypatch, mode: str, chunk: int) -> None:
    """Samples are blended a chunk at a time, straight into the output: any chunk size, same bytes."""
    import pixelpipe.batch._collate_mix as mixup_module

    monkeypatch.setattr(mixup_module, "_COLLATE_CHUNK", chunk)
    batch = samples(8, seed=6)
    for seed in range(3):
        collate = FastCollateMixup(mixup_alpha=0.8, cutmix_alpha=1.0, mode=mode, num_classes=5)
        x, y = collate(batch, rng=np.random.default_rng(seed))
        stacked = torch.from_numpy(np.stack([a for a, _ in batch]))
        mix = Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, mode=mode, num_classes=5)
        x2, y2 = mix(stacked, torch.tensor([t for _, t in batch]), rng=np.random.default_rng(seed))
        assert torch.equal(x, x2) and torch.equal(y, y2)


def test_non_contiguous_tensor_samples() -> None:
    batch = samples(4, seed=7)
    wide = [(torch.from_numpy(np.repeat(a, 2, axis=-1))[..., ::2], t) for a, t in batch]
    collate = FastCollateMixup(mixup_alpha=1.0, mode="elem", num_classes=5)
    x, _ = collate(batch, rng=np.random.default_rng(0))
    xw, _ = collate(wide, rng=np.random.default_rng(0))
    assert torch.equal(x, xw)


def _seeded_collate(batch):
    collate = FastCollateMixup(mixup_alpha=0.8, cutmix_alpha=1.0, mode="elem", num_classes=5)
    x, y = collate(batch, rng=np.random.default_rng(0))
    return x, y, x.is_shared()


def test_in_a_worker_the_batch_is_made_in_shared_memory() -> None:
    """As default_collate does: sending the batch to the main process then needs no copy."""
    from torch.utils.data import DataLoader

    data = samples(8, seed=8)
    x0, y0, shared0 = _seeded_collate(data)
    (x, y, shared), *_ = DataLoader(data, batch_size=8, collate_fn=_seeded_collate, num_workers=1)
    assert not shared0 and shared
    assert torch.equal(x, x0) and torch.equal(y, y0)
