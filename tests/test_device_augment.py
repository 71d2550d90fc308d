"""Batched RandAugment / AutoAugment / AugMix (pixelpipe.batch.augment) against the per-sample path.

* Replay: each sample's batched draws, converted with ``per_sample_params``, given to the per-sample
  transform on the PIL image (the reference's pixels) give the same pixels: identical with the default
  interpolations (bilinear/bicubic); with ``nearest``, Pillow's fixed-point nearest differs at pixel
  boundaries (< 0.5 % of pixels, mean < 0.05 level after a whole policy).
* Distributions: op choice, gate, magnitude, sign, interpolation, sub-policy, AugMix depth, weights and
  blend factor from ``sample`` against ``make_params`` of the per-sample transforms (two-sample chi-square
  and Kolmogorov-Smirnov tests at alpha of about 0.001).
* No Python loop over the batch: the number of torch calls of ``apply`` does not depend on the batch size.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from PIL import Image

from _stats import ks_critical, ks_statistic
from conftest import make_image
from pixelpipe.batch._sample import OpDraws
from pixelpipe.batch.augment import (
    BatchAugmentParams,
    BatchAugMix,
    BatchAugMixParams,
    BatchAutoAugment,
    BatchRandAugment,
    batch_augment_from_config,
    batch_augment_from_transform,
)
from pixelpipe.errors import ConfigError
from pixelpipe.rng import use_rng

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.cuda),  # skipped without a GPU (conftest)
]
HP = {"translate_const": 20, "img_mean": (100, 150, 200)}
CONFIGS = [
    "rand-m9-mstd0.5-inc1",
    "rand-m9-n3-mstd0.5",
    "rand-m7-n3-t3aw",
    "rand-m9-tweights-mstd101",
    "v0r-mstd0.5",
    "original-mstd0.5",
    "3a",
    "augmix-m3-w3",
    "augmix-m5-w4-d2-b1",
]


def _to_tensor(img: Image.Image) -> torch.Tensor:
    arr = np.asarray(img)
    arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    return torch.from_numpy(arr.copy())


def _to_array(t: torch.Tensor) -> np.ndarray:
    arr = t.cpu().numpy()
    return arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0)


def _replay_diffs(cfg: str, mode: str, hparams: dict, device: str, n: int = 8, seed: int = 3) -> list:
    imgs = [make_image(s, (41, 33), mode) for s in range(n)]
    batch = torch.stack([_to_tensor(i) for i in imgs]).to(device)
    before = batch.clone()
    aug = batch_augment_from_config(cfg, hparams)
    params = aug.sample(n, torch.Generator().manual_seed(seed))
    out = aug.apply(batch, params)
    assert out.shape == batch.shape and out.dtype == torch.uint8 and out.device == batch.device
    assert torch.equal(batch, before), "the input was modified"
    diffs = []
    for i, img in enumerate(imgs):
        expected = np.asarray(aug.reference.apply(img, aug.per_sample_params(params, i))).astype(int)
        diffs.append(np.abs(_to_array(out[i]).astype(int) - expected))
    return diffs


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mode", ["RGB", "L"])
@pytest.mark.parametrize("cfg", CONFIGS)
def test_replay_equals_per_sample_pil(cfg, mode, device):
    for i, diff in enumerate(_replay_diffs(cfg, mode, HP, device)):
        assert diff.max() == 0, (cfg, i, diff.mean())


@pytest.mark.parametrize("cfg", ["rand-m9-n3-tweights", "v0r-mstd0.5", "augmix-m3-w3"])
def test_replay_nearest_within_tolerance(cfg):
    diffs = _replay_diffs(cfg, "RGB", {**HP, "interpolation": "nearest"}, "cpu", n=16)
    assert np.mean([d.mean() for d in diffs]) <= 0.05
    assert max((d > 0).mean() for d in diffs) <= 0.005


# --- distributions ------------------------------------------------------------------------------------


def _chi2_two_sample(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Two-sample chi-square statistic of count vectors ``a`` and ``b`` and its critical value at alpha of
    about 0.001 (Wilson-Hilferty)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    keep = (a + b) > 0
    a, b = a[keep], b[keep]
    ka, kb = math.sqrt(b.sum() / a.sum()), math.sqrt(a.sum() / b.sum())
    stat = float((((a * ka - b * kb) ** 2) / (a + b)).sum())
    df = max(int(keep.sum()) - 1, 1)
    z = 3.09
    crit = df * (1 - 2 / (9 * df) + z * math.sqrt(2 / (9 * df))) ** 3
    return stat, crit


def _assert_same_counts(a, b, what):
    stat, crit = _chi2_two_sample(a, b)
    assert stat < crit, (what, stat, crit, a, b)


def _assert_same_dist(a, b, what):
    a, b = np.asarray(a, float), np.asarray(b, float)
    assert a.size > 50 and b.size > 50, what
    assert ks_statistic(a, b) < ks_critical(a.size, b.size), what


def _rand_reference(aug: BatchRandAugment, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        p = aug.reference.make_params(None, rng)
        rows.append([(i, q) for i, q in zip(p.op_indices, p.op_params, strict=True)])
    return rows


@pytest.mark.parametrize("cfg", ["rand-m9-mstd0.5-inc1", "rand-m7-n3-t3aw", "rand-m9-n2-mstd101-tweights"])
def test_rand_augment_distributions(cfg):
    aug = BatchRandAugment.from_config(cfg, HP)
    n_batch, n_ref = 12000, 2500
    p = aug.sample(n_batch, torch.Generator().manual_seed(1)).layers
    ref = _rand_reference(aug, n_ref)
    n_ops = len(aug.table.ops)
    layers = aug.num_layers
    for j in range(layers):  # op choice per layer
        got = np.bincount(p.op[:, j].numpy(), minlength=n_ops)
        exp = np.bincount([row[j][0] for row in ref], minlength=n_ops)
        _assert_same_counts(got, exp, ("op", j))
    if aug.reference.choice_weights is not None:  # without replacement
        assert all(len(set(row.tolist())) == layers for row in p.op[:200])
    op = p.op.view(-1).numpy()
    applied = p.applied.view(-1).numpy()
    ref_flat = [e for row in ref for e in row]
    ref_op = np.array([e[0] for e in ref_flat])
    ref_applied = np.array([e[1].applied for e in ref_flat])
    _assert_same_counts(np.bincount(applied, minlength=2), np.bincount(ref_applied, minlength=2), "gate")
    for name in ("Rotate", "SolarizeIncreasing", "Equalize", "ColorIncreasing", "GaussianBlur", "Desaturate"):
        slots = [i for i, o in enumerate(aug.table.ops) if o.name == name]
        if not slots:
            continue
        sel = np.isin(op, slots) & applied
        rsel = np.isin(ref_op, slots) & ref_applied
        if rsel.sum() < 100:  # a rarely drawn op of a weighted set
            continue
        ref_params = [e[1] for e, keep in zip(ref_flat, rsel, strict=True) if keep]
        _assert_same_dist(p.magnitude.view(-1).numpy()[sel], [q.magnitude for q in ref_params], (name, "m"))
        if ref_params[0].arg is not None:
            _assert_same_dist(p.arg.view(-1).numpy()[sel], [q.arg for q in ref_params], (name, "arg"))
        if ref_params[0].interpolation is not None:
            got = np.bincount(p.interpolation.view(-1).numpy()[sel], minlength=4)
            exp = np.bincount([int(q.interpolation) for q in ref_params], minlength=4)
            _assert_same_counts(got, exp, (name, "interpolation"))


def test_auto_augment_distributions():
    aug = BatchAutoAugment.from_config("v0-mstd0.5", HP)
    params = aug.sample(12000, torch.Generator().manual_seed(2))
    rng = np.random.default_rng(0)
    ref = [aug.reference.make_params(None, rng) for _ in range(2500)]
    n_sub = len(aug.reference.policy)
    got = np.bincount(params.sub_policy.numpy(), minlength=n_sub)
    _assert_same_counts(got, np.bincount([r.sub_policy for r in ref], minlength=n_sub), "sub-policy")
    # per op slot, the gate rate matches the op's probability
    op, applied = params.layers.op.view(-1), params.layers.applied.view(-1)
    for slot in range(0, len(aug.table.ops), 7):
        sel = op == slot
        rate = applied[sel].double().mean().item()
        p = aug.table.ops[slot].prob
        assert abs(rate - p) < 4 * math.sqrt(max(p * (1 - p), 1e-4) / max(int(sel.sum()), 1)) + 1e-9, slot
    # the magnitudes of the first op of sub-policy 10 (Equalize, p=1, m=9, mstd=0.5: clamped at 10)
    sel = (params.sub_policy == 10) & params.layers.applied[:, 0]
    refm = [r.op_params[0].magnitude for r in ref if r.sub_policy == 10 and r.op_params[0].applied]
    _assert_same_dist(params.layers.magnitude[:, 0][sel].numpy(), refm, "magnitude")


def test_blur_rand_radius_distribution():
    aug = BatchAutoAugment.from_config("3a")
    params = aug.sample(6000, torch.Generator().manual_seed(3))
    rng = np.random.default_rng(0)
    ref = [aug.reference.make_params(None, rng) for _ in range(3000)]
    sel = params.sub_policy == 2
    got = params.layers.arg[:, 0][sel].numpy()
    exp = [r.op_params[0].arg for r in ref if r.sub_policy == 2]
    assert got.min() >= 0.1 and got.max() <= 2.0
    _assert_same_dist(got, exp, "GaussianBlurRand radius")


@pytest.mark.parametrize("cfg", ["augmix-m3-w3", "augmix-m5-w4-a0.3-mstd0.5"])
def test_augmix_distributions(cfg):
    aug = BatchAugMix.from_config(cfg, HP)
    params = aug.sample(6000, torch.Generator().manual_seed(4))
    rng = np.random.default_rng(0)
    ref = [aug.reference.make_params(None, rng) for _ in range(2000)]
    assert params.weights.dtype == torch.float32 and params.m.dtype == torch.float32
    assert torch.allclose(params.weights.sum(-1), torch.ones(6000), atol=1e-5)
    _assert_same_dist(params.weights[:, 0].numpy(), [r.weights[0] for r in ref], "weight")
    _assert_same_dist(params.m.numpy(), [r.m for r in ref], "m")
    got = np.bincount(params.depth.view(-1).numpy(), minlength=4)
    exp = np.bincount([len(c) for r in ref for c in r.chains], minlength=4)
    _assert_same_counts(got, exp, "depth")
    # step d of a chain is applied exactly when d < depth
    steps = torch.arange(aug.max_depth).view(1, 1, -1)
    assert torch.equal(params.chains.applied, steps < params.depth.unsqueeze(-1))
    ops = params.chains.op[params.chains.applied].numpy()
    ref_ops = [i for r in ref for c in r.chains for i, _ in c]
    _assert_same_counts(np.bincount(ops, minlength=13), np.bincount(ref_ops, minlength=13), "op")
    mags = params.chains.magnitude[params.chains.applied].numpy()
    ref_mags = [q.magnitude for r in ref for c in r.chains for _, q in c]
    _assert_same_dist(mags, ref_mags, "magnitude")


def test_small_alpha_is_finite():
    aug = BatchAugMix.from_config("augmix-a0.01")
    p = aug.sample(500, torch.Generator().manual_seed(0))
    assert torch.isfinite(p.weights).all() and torch.isfinite(p.m).all()
    assert torch.allclose(p.weights.sum(-1), torch.ones(500), atol=1e-5)


# --- no loop over the batch -----------------------------------------------------------------------------


def _count_torch_calls(fn) -> int:
    from torch.overrides import TorchFunctionMode

    class Count(TorchFunctionMode):
        calls = 0

        def __torch_function__(self, func, types, args=(), kwargs=None):
            Count.calls += 1
            return func(*args, **(kwargs or {}))

    with Count():
        fn()
    return Count.calls


def _tile(params, times: int):
    """The same draws repeated ``times`` along the batch: the same op kinds are present."""

    def rep(obj):
        if isinstance(obj, torch.Tensor):
            return torch.cat([obj] * times)
        if obj is None:
            return None
        return type(obj)(**{f.name: rep(getattr(obj, f.name)) for f in dataclasses.fields(obj)})

    return rep(params)


@pytest.mark.parametrize("cfg", ["rand-m9-mstd0.5-inc1", "v0r-mstd0.5", "augmix-m3-w3", "augmix-m3-w2-b1"])
def test_no_python_loop_over_the_batch(cfg):
    aug = batch_augment_from_config(cfg, HP)
    params = aug.sample(24, torch.Generator().manual_seed(5))
    aug.apply(torch.zeros(24, 3, 16, 12, dtype=torch.uint8), params)  # warm the fill-colour cache
    counts = []
    for times in (1, 4):
        tiled = _tile(params, times)
        images = torch.randint(0, 256, (24 * times, 3, 16, 12), dtype=torch.uint8)
        counts.append(_count_torch_calls(lambda a=aug, x=images, p=tiled: a.apply(x, p)))
    assert counts[0] == counts[1], counts


# --- behaviour ------------------------------------------------------------------------------------------


def test_same_generator_same_result_and_process_rng():
    aug = batch_augment_from_config("rand-m9-mstd0.5-inc1", HP)
    x = torch.randint(0, 256, (8, 3, 20, 18), dtype=torch.uint8)
    a = aug(x, torch.Generator().manual_seed(7))
    b = aug(x, torch.Generator().manual_seed(7))
    assert torch.equal(a, b) and not torch.equal(a, x)
    with use_rng(11):
        c = aug(x)
    with use_rng(11):
        d = aug(x)
    assert torch.equal(c, d)


@pytest.mark.parametrize("cfg", ["rand-m9-p0", "rand-m9-n0", "augmix-m0-w1-d1-mstd0"])
def test_identity_configs(cfg):
    x = torch.randint(0, 256, (5, 3, 9, 7), dtype=torch.uint8)
    aug = batch_augment_from_config(cfg)
    out = aug(x, torch.Generator().manual_seed(0))
    if cfg.startswith("augmix"):  # severity 0 still runs AutoContrast/Equalize; blending keeps the shape
        assert out.shape == x.shape
    else:
        assert torch.equal(out, x) and out is not x


def test_empty_batch_and_greyscale():
    aug = batch_augment_from_config("rand-m9-n3-mstd0.5", HP)
    empty = torch.zeros(0, 3, 8, 8, dtype=torch.uint8)
    assert aug(empty).shape == empty.shape
    grey = torch.randint(0, 256, (6, 1, 13, 11), dtype=torch.uint8)
    assert aug(grey, torch.Generator().manual_seed(1)).shape == grey.shape


def test_errors():
    aug = batch_augment_from_config("rand-m9")
    with pytest.raises(TypeError, match="uint8"):
        aug(torch.zeros(2, 3, 4, 4))
    with pytest.raises(ValueError, match="params are for 3 samples"):
        aug.apply(torch.zeros(2, 3, 4, 4, dtype=torch.uint8), aug.sample(3))
    with pytest.raises(ConfigError, match="batch_size"):
        aug.sample(-1)
    with pytest.raises(ConfigError, match="valid keys"):
        batch_augment_from_config("rand-x9")
    with pytest.raises(ConfigError, match="policy"):
        batch_augment_from_config("nonsense")
    with pytest.raises(ConfigError):
        batch_augment_from_config(3)  # type: ignore[arg-type]

    class NotAnOp:
        def make_params(self, img, rng):
            return None

        def apply(self, img, params):
            return img

    with pytest.raises(ConfigError, match="AugmentOp"):
        BatchRandAugment([NotAnOp()], 1)  # type: ignore[list-item]


def test_params_are_data_on_any_device():
    aug = batch_augment_from_config("v0r", HP)
    params = aug.sample(4, torch.Generator().manual_seed(0), device="cpu")
    assert isinstance(params, BatchAugmentParams) and isinstance(params.layers, OpDraws)
    assert params.to("cpu").layers.op.device.type == "cpu"
    assert repr(aug).startswith("BatchAutoAugment(policy=")
    am = batch_augment_from_config("augmix-m3")
    assert isinstance(am.sample(2), BatchAugMixParams)


@pytest.mark.parametrize("device", DEVICES)
def test_device_params_and_generator(device):
    aug = batch_augment_from_config("rand-m9-mstd0.5-inc1", HP)
    x = torch.randint(0, 256, (16, 3, 24, 20), dtype=torch.uint8)
    params = aug.sample(16, torch.Generator().manual_seed(9))
    expected = aug.apply(x, params)
    got = aug.apply(x.to(device), params.to(device))
    assert torch.equal(got.cpu(), expected)
    gen = torch.Generator(device=device).manual_seed(3)
    on_device = aug.sample(16, gen)
    assert on_device.layers.op.device.type == device
    assert aug(x.to(device), gen).device.type == device


def test_from_transform():
    from pixelpipe.augment import augment_and_mix_transform, auto_augment_transform, rand_augment_transform

    for t, kind in [
        (rand_augment_transform("rand-m9-tweights", HP), BatchRandAugment),
        (auto_augment_transform("originalr", HP), BatchAutoAugment),
        (augment_and_mix_transform("augmix-m4-w2-d1", HP), BatchAugMix),
    ]:
        batched = batch_augment_from_transform(t)
        assert (
            isinstance(batched, kind)
            and [o.name for o in batched.table.ops][:3]
            == [o.name for o in (t.ops if hasattr(t, "ops") else [o for s in t.policy for o in s])][:3]
        )
    with pytest.raises(ConfigError, match="expected"):
        batch_augment_from_transform(object())  # type: ignore[arg-type]


def test_per_sample_params_edge_cases():
    empty = BatchRandAugment([], num_layers=0)  # no ops: nothing drawn, nothing to replay
    params = empty.sample(2)
    assert empty.per_sample_params(params, 1) == empty.reference.make_params(None, np.random.default_rng(0))
    auto = batch_augment_from_config("v0r")
    without_sub = BatchAugmentParams(auto.sample(2).layers)  # RandAugment-style params: no sub-policy
    with pytest.raises(ValueError, match="no sub-policy"):
        auto.per_sample_params(without_sub, 0)
