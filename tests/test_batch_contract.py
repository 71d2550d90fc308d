"""The one batched-transform contract (:class:`pixelpipe.base.BatchTransform`): the batch description, the
torch-generator draws of Mixup / CutMix and of random erasing against their NumPy (reference-shaped)
draws, and sampling that reads nothing back to the host for every configuration of ``DeviceAugment``.

The generic checks (replay, pickling, ``p=0``, no in-place writes) of every batched class are in
``test_transforms_contract.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from _stats import ks_critical, ks_statistic
from pixelpipe.base import BatchDesc, BatchTransform
from pixelpipe.batch import FastCollateMixup, Mixup, cutmix_bbox_and_lam
from pixelpipe.batch.bbox import cutmix_boxes
from pixelpipe.batch.erasing import ErasingParams
from pixelpipe.device.pipeline import DeviceAugment
from pixelpipe.errors import ConfigError
from pixelpipe.rng import use_rng
from pixelpipe.transforms import RandomErasing
from test_transforms_contract import _HostReads


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- the batch description ---------------------------------------------------------------------------------


def test_batch_desc_of_a_batch_and_of_a_padded_batch() -> None:
    x = torch.zeros(3, 2, 10, 12, dtype=torch.uint8)
    desc = BatchDesc.of(x)
    assert desc.shape == (3, 2, 10, 12) and desc.device == x.device and desc.sizes is None
    assert desc.image_sizes().tolist() == [[10, 12]] * 3
    sizes = torch.tensor([[10, 12], [5, 6], [7, 12]])
    padded = BatchDesc.of(x, sizes)
    assert padded.image_sizes() is sizes and padded == desc  # sizes are not compared (tensors)
    with pytest.raises(TypeError, match="BatchDesc"):
        BatchDesc.of(torch.zeros(4, 4))


def test_default_call_draws_from_pixelpipe_rng() -> None:
    """``BatchTransform.__call__`` without a generator seeds one from pixelpipe's generator."""
    from pixelpipe.batch.color import BatchColorJitter

    jitter = BatchColorJitter(0.4, 0.4, 0.4)
    assert isinstance(jitter, BatchTransform)
    x = torch.randint(0, 256, (4, 3, 8, 8), dtype=torch.uint8, generator=_gen(0))
    with use_rng(3):
        a = jitter(x)
    with use_rng(3):
        b = jitter(x)
    assert torch.equal(a, b)


# --- Mixup / CutMix: torch draws with the reference's distributions ----------------------------------------

H, W = 12, 16


@pytest.mark.parametrize("minmax", [None, (0.2, 0.8)])
def test_cutmix_boxes_match_numpy_boxes_in_distribution(minmax) -> None:
    n = 4000
    lam = np.full(n, 0.6)
    (ny0, ny1, nx0, nx1), nlam = cutmix_bbox_and_lam((H, W), lam, minmax, rng=np.random.default_rng(0))
    boxes, tlam = cutmix_boxes(torch.full((n,), 0.6), (H, W), minmax, generator=_gen(0))
    ty0, ty1, tx0, tx1 = boxes.unbind(1)
    crit = ks_critical(n, n)
    for ours, ref in ((ty0, ny0), (ty1, ny1), (tx0, nx0), (tx1, nx1), (tlam, nlam)):
        assert ks_statistic(ours.numpy(), ref) < crit
    assert bool(((ty1 <= H) & (tx1 <= W) & (ty0 >= 0) & (tx0 >= 0)).all())
    if minmax is not None:  # every origin that keeps the box inside is used, the last one included
        assert bool((ty0 == H - (ty1 - ty0)).any())


def test_mixup_generator_and_rng_entry_points_agree() -> None:
    mix = Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, mode="pair", num_classes=4)
    x, t = torch.rand(4, 3, H, W, generator=_gen(1)), torch.arange(4)
    p = mix.make_params(BatchDesc.of(x), _gen(5))
    out, y = mix(x, t, generator=_gen(5))
    assert torch.equal(out, mix.apply(x, p)) and torch.equal(y, mix.mix_targets(t, p))
    # rng= seeds the CPU generator the same way sample_params does
    q = mix.sample_params(4, x.shape, rng=np.random.default_rng(2))
    assert torch.equal(mix(x, t, rng=np.random.default_rng(2))[0], mix.apply(x, q))
    with pytest.raises(ConfigError, match="not both"):
        mix(x, t, rng=np.random.default_rng(0), generator=_gen(0))
    with pytest.raises(ConfigError, match="batch_size=3"):
        mix.make_params(BatchDesc(3, 3, H, W), _gen(0))


def test_mixup_batch_mode_shares_one_draw_and_disabled_draws_nothing_random() -> None:
    mix = Mixup(mixup_alpha=0.0, cutmix_alpha=1.0, mode="batch")
    p = mix.make_params(BatchDesc(6, 3, H, W), _gen(0))
    assert p.lam.shape == (6,) and len(torch.unique(p.lam)) == 1 and len(torch.unique(p.boxes, dim=0)) == 1
    mix.mixup_enabled = False
    p = mix.make_params(BatchDesc(6, 3, H, W), _gen(0))
    assert bool((p.lam == 1).all()) and not bool(p.use_cutmix.any())


@pytest.mark.cuda
def test_fast_collate_mixup_needs_a_host_generator() -> None:
    collate = FastCollateMixup(cutmix_alpha=1.0, num_classes=3)
    batch = [(np.zeros((3, 4, 4), np.uint8), i) for i in range(2)]
    with pytest.raises(ConfigError, match="host"):
        collate(batch, generator=torch.Generator(device="cuda"))


# --- random erasing: torch draws with the NumPy draws' distribution ----------------------------------------


@pytest.mark.parametrize("count", [(1, 1), (1, 3)])
def test_erasing_torch_boxes_match_numpy_boxes_in_distribution(count) -> None:
    t = RandomErasing(0.6, min_count=count[0], max_count=count[1], device="cpu")
    x = torch.empty(3000, 3, 30, 40)
    ref = t.make_params(x, np.random.default_rng(1))
    ours = t.make_params(BatchDesc.of(x), _gen(1))
    assert isinstance(ours.boxes, torch.Tensor) and ours.boxes.shape == ref.boxes.shape
    rb, rv = ref.boxes, ref.valid
    ob, ov = ours.boxes.numpy(), ours.valid.numpy()
    assert abs(rv.mean() - ov.mean()) < 0.03
    n, m = int(rv.sum()), int(ov.sum())
    for k in range(4):  # top, left, height, width of the erased boxes
        assert ks_statistic(rb[..., k][rv], ob[..., k][ov]) < ks_critical(n, m)
    top, left, h, w = (ob[..., k] for k in range(4))
    assert ((top + h <= 30) & (left + w <= 40)).all() and (h[ov] < 30).all() and (w[ov] < 40).all()


def test_erasing_torch_params_replay_and_split() -> None:
    t = RandomErasing(1.0, mode="rand", num_splits=2, device="cpu")
    x = torch.randn(4, 3, 16, 16, generator=_gen(0))
    p = t.make_params(BatchDesc.of(x), _gen(3))
    assert not bool(p.valid[:2].any()) and bool(p.valid[2:].all())  # the clean split is left alone
    out = t.apply(x, p)
    assert torch.equal(out, t(x, generator=_gen(3))) and torch.equal(out[:2], x[:2])
    host = p.on_host()
    assert isinstance(host.boxes, np.ndarray) and isinstance(host.seed, int)
    assert torch.equal(t.apply(x, host), out)  # the same boxes and noise, as tensors or as arrays
    masks = RandomErasing(1.0, mode="rand", num_splits=2, device="cpu", paste="masks")
    assert torch.equal(masks.apply(x, p), out)
    single = t.make_params(x[0], _gen(3))  # one image: a batch of one
    assert tuple(single.valid.shape) == (1, 1) and t.apply(x[0], single).shape == x[0].shape
    with pytest.raises(ConfigError, match="not both"):
        t(x, rng=np.random.default_rng(0), generator=_gen(0))


def test_erasing_params_on_a_device_are_not_read_to_decide() -> None:
    p = ErasingParams(torch.zeros(1, 1, 4, dtype=torch.int64), torch.zeros(1, 1, dtype=torch.bool), 0)
    assert not p.any_erased()
    meta = ErasingParams(p.boxes.to("meta"), p.valid.to("meta"), 0)
    with _HostReads() as spy:
        assert meta.any_erased()
    assert not spy.reads


# --- DeviceAugment: no host read while sampling, whatever the recipe ---------------------------------------

RECIPES = {
    "randaugment": dict(auto_augment="rand-m9-n2-mstd0.5-inc1", interpolation="random"),
    "augmix": dict(auto_augment="augmix-m3-w2", re_prob=0.5, re_mode="pixel", re_count=3),
    "autoaugment": dict(auto_augment="v0", vflip=0.5, grayscale_prob=0.2, gaussian_blur_prob=0.2),
    "jitter+mixup": dict(
        color_jitter=(0.4, 0.4, 0.4, 0.1),
        color_jitter_prob=0.5,
        re_prob=0.25,
        mixup=Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, cutmix_minmax=(0.2, 0.8), mode="pair"),
    ),
    "eval": dict(is_training=False, crop_pct=0.875),
    "noaug": dict(no_aug=True),
}


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_device_augment_make_params_reads_nothing_back(recipe: str) -> None:
    aug = DeviceAugment(16, **RECIPES[recipe])
    sizes = torch.tensor([[28, 32], [20, 30], [10, 12], [28, 5]])
    desc = BatchDesc(4, 3, 28, 32, sizes=sizes)
    with _HostReads() as spy:
        params = aug.make_params(desc, _gen(0))
    assert not spy.reads, f"{recipe}: {spy.reads}"
    images = torch.randint(0, 256, (4, 3, 28, 32), dtype=torch.uint8, generator=_gen(1))
    targets = torch.arange(4)
    out = aug.apply(images, params, targets if aug.mixup is not None else None)[0]
    again = aug(images, sizes, targets, generator=_gen(0)) if aug.mixup is not None else None
    ref = again[0] if again is not None else aug(images, sizes, generator=_gen(0))
    assert torch.equal(out, ref)
    assert torch.equal(aug.sample(sizes, _gen(0)).boxes, params.boxes)  # sample: the same from the sizes


@pytest.mark.parametrize("alpha", [0.2, 1.0, 4.0])
def test_mixup_lambdas_are_beta_distributed(alpha: float) -> None:
    n = 4000
    for kw in (dict(mixup_alpha=alpha), dict(mixup_alpha=0.0, cutmix_alpha=alpha, correct_lam=False)):
        lam = Mixup(mode="elem", **kw).make_params(BatchDesc(n, 1, H, W), _gen(0)).lam.double().numpy()
        ref = np.random.default_rng(0).beta(alpha, alpha, n)
        assert ks_statistic(lam, ref.astype(np.float32)) < ks_critical(n, n)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(batch_size=-1), "batch_size"),
        (dict(height=2.5), "height"),
        (dict(channels=True), "channels"),
        (dict(sizes=torch.zeros(3, 2)), r"sizes must be a \(2, 2\)"),
        (dict(sizes=[[1, 2], [3, 4]]), "sizes"),
    ],
)
def test_batch_desc_rejects_bad_values(kwargs, match) -> None:
    args = dict(batch_size=2, channels=3, height=4, width=4) | kwargs
    with pytest.raises(ValueError, match=match):
        BatchDesc(**args)
    assert BatchDesc(2, 3, 4, 4, device="cpu").device == torch.device("cpu")  # a string is accepted
