"""Properties of Mixup / CutMix on tensors: every mode, every flavour, on CPU (and CUDA when present)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pixelpipe.batch import (
    MIXUP_MODES,
    Mixup,
    MixupParams,
    mix_images,
    mixup_target,
    one_hot,
)
from pixelpipe.errors import ConfigError

B, C, H, W = 8, 3, 12, 16
NUM_CLASSES = 10
FLAVOURS = {
    "mixup": dict(mixup_alpha=1.0),
    "cutmix": dict(mixup_alpha=0.0, cutmix_alpha=1.0),
    "both": dict(mixup_alpha=0.8, cutmix_alpha=1.0),
    "minmax": dict(mixup_alpha=0.0, cutmix_minmax=(0.2, 0.8)),
    "nocorrect": dict(mixup_alpha=0.0, cutmix_alpha=1.0, correct_lam=False),
}


def batch(seed: int = 0, b: int = B, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(b, C, H, W, generator=g).to(dtype)
    return x, torch.arange(b) % NUM_CLASSES


def expected_rows(x: torch.Tensor, p: MixupParams) -> torch.Tensor:
    """The definition, one sample at a time (the test may loop; the library may not)."""
    rows = []
    for i in range(p.lam.shape[0]):
        j = int(p.partner[i])
        lam = float(p.lam[i])
        if bool(p.use_cutmix[i]):
            y0, y1, x0, x1 = (int(v) for v in p.boxes[i])
            r = x[i].clone()
            r[..., y0:y1, x0:x1] = x[j][..., y0:y1, x0:x1]
        else:
            r = lam * x[i] + (1 - lam) * x[j]
        rows.append(r)
    return torch.stack(rows)


@pytest.mark.parametrize("mode", MIXUP_MODES)
@pytest.mark.parametrize("flavour", sorted(FLAVOURS))
def test_mixed_images_and_targets_follow_definition(mode: str, flavour: str) -> None:
    m = Mixup(mode=mode, num_classes=NUM_CLASSES, **FLAVOURS[flavour])
    x, t = batch(1)
    p = m.sample_params(B, x.shape, rng=np.random.default_rng(3))
    n = B // 2 if mode == "half" else B
    assert p.lam.shape == (n,) and p.boxes.shape == (n, 4) and p.partner.shape == (n,)
    assert torch.equal(p.partner, B - 1 - torch.arange(n))
    out = m.apply(x, p)
    assert out.shape == (n, C, H, W) and out.dtype == x.dtype
    torch.testing.assert_close(out, expected_rows(x, p), rtol=1e-6, atol=1e-6)

    cut = p.use_cutmix
    area = ((p.boxes[:, 1] - p.boxes[:, 0]) * (p.boxes[:, 3] - p.boxes[:, 2])).float()
    if m.correct_lam or m.cutmix_minmax is not None:
        torch.testing.assert_close(p.lam[cut], 1 - area[cut] / (H * W))
    assert bool((area[~cut] == 0).all())
    if flavour == "mixup":
        assert not bool(cut.any())
    if flavour in ("cutmix", "minmax", "nocorrect"):
        assert bool(cut[p.lam < 1].all())

    y = m.mix_targets(t, p)
    assert y.shape == (n, NUM_CLASSES) and y.dtype == torch.float32
    torch.testing.assert_close(y.sum(1), torch.ones(n))
    off = m.label_smoothing / NUM_CLASSES
    on = 1 - m.label_smoothing + off
    own = y[torch.arange(n), t[:n]]
    torch.testing.assert_close(own, p.lam * on + (1 - p.lam) * off)  # labels are distinct, partner != i


@pytest.mark.parametrize("flavour", ["mixup", "cutmix", "both"])
def test_pair_mode_is_symmetric(flavour: str) -> None:
    m = Mixup(mode="pair", num_classes=NUM_CLASSES, **FLAVOURS[flavour])
    x, t = batch(2)
    p = m.sample_params(B, x.shape, rng=np.random.default_rng(5))
    assert torch.equal(p.lam, p.lam.flip(0))
    assert torch.equal(p.boxes, p.boxes.flip(0)) and torch.equal(p.use_cutmix, p.use_cutmix.flip(0))
    out, y = m(x, t, rng=np.random.default_rng(5))
    for i in range(B // 2):
        j = B - 1 - i
        if bool(p.use_cutmix[i]):
            y0, y1, x0, x1 = (int(v) for v in p.boxes[i])
            assert torch.equal(out[i][:, y0:y1, x0:x1], x[j][:, y0:y1, x0:x1])
            assert torch.equal(out[j][:, y0:y1, x0:x1], x[i][:, y0:y1, x0:x1])
        else:
            torch.testing.assert_close(out[i] + out[j], x[i] + x[j])
    torch.testing.assert_close(y[0, t[-1]], y[-1, t[0]])


def test_half_mode_returns_first_half_mixed_with_second() -> None:
    m = Mixup(mode="half", num_classes=NUM_CLASSES)
    x, t = batch(3)
    out, y = m(x, t, rng=np.random.default_rng(0))
    assert out.shape == (B // 2, C, H, W) and y.shape == (B // 2, NUM_CLASSES)
    p = m.sample_params(B, x.shape, rng=np.random.default_rng(0))
    assert bool((p.partner >= B // 2).all())
    assert torch.equal(out, m.apply(x, p))


def test_elem_lambdas_differ_and_batch_lambda_shared() -> None:
    x, _ = batch(4, b=16)
    pe = Mixup(mode="elem").sample_params(16, x.shape, rng=np.random.default_rng(0))
    assert len(torch.unique(pe.lam)) == 16
    pb = Mixup(mode="batch", cutmix_alpha=1.0, mixup_alpha=0.0).sample_params(
        16, x.shape, rng=np.random.default_rng(0)
    )
    assert len(torch.unique(pb.lam)) == 1 and len(torch.unique(pb.boxes, dim=0)) == 1


@pytest.mark.parametrize("mode", MIXUP_MODES)
def test_prob_zero_and_disabled_leave_images_but_smooth_labels(mode: str) -> None:
    x, t = batch(5)
    n = B // 2 if mode == "half" else B
    smooth = one_hot(t[:n], NUM_CLASSES, 1 - 0.1 + 0.01, 0.01)
    for m in (Mixup(prob=0.0, mode=mode, num_classes=NUM_CLASSES), Mixup(mode=mode, num_classes=NUM_CLASSES)):
        if m.mix_prob > 0:
            m.mixup_enabled = False
        out, y = m(x, t, rng=np.random.default_rng(0))
        assert torch.equal(out, x[:n])
        torch.testing.assert_close(y, smooth)


def test_input_untouched_by_default_and_written_with_inplace() -> None:
    x, t = batch(6)
    keep = x.clone()
    out, _ = Mixup(mode="elem")(x, t, rng=np.random.default_rng(0))
    assert torch.equal(x, keep) and out.data_ptr() != x.data_ptr()
    out2, _ = Mixup(mode="elem", inplace=True)(x, t, rng=np.random.default_rng(0))
    assert out2.data_ptr() == x.data_ptr() and torch.equal(out2, out)


def test_same_seed_same_output_and_get_rng_default() -> None:
    import pixelpipe.rng as prng

    x, t = batch(7)
    m = Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, mode="elem", num_classes=NUM_CLASSES)
    a = m(x, t, rng=np.random.default_rng(11))
    b = m(x, t, rng=np.random.default_rng(11))
    c = m(x, t, rng=np.random.default_rng(12))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and not torch.equal(a[0], c[0])
    with prng.use_rng(5):
        d = m(x, t)
    with prng.use_rng(5):
        e = m(x, t)
    assert torch.equal(d[0], e[0])


@pytest.mark.parametrize("mode", MIXUP_MODES)
def test_odd_batch_is_a_clear_error(mode: str) -> None:
    x, t = batch(0, b=7)
    with pytest.raises(ConfigError, match="batch_size=7"):
        Mixup(mode=mode)(x, t)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(mode="pairs"), "mode"),
        (dict(mixup_alpha=0.0), "alpha"),
        (dict(mixup_alpha=-1.0), "alpha"),
        (dict(cutmix_minmax=(0.5,)), "cutmix_minmax"),
        (dict(cutmix_minmax=(0.8, 0.2)), "cutmix_minmax"),
        (dict(prob=1.5), "prob"),
        (dict(switch_prob=-0.1), "switch_prob"),
        (dict(label_smoothing=2.0), "label_smoothing"),
        (dict(num_classes=0), "num_classes"),
    ],
)
def test_invalid_arguments_raise_config_error(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        Mixup(**kwargs)


def test_call_validates_inputs() -> None:
    x, t = batch(0)
    with pytest.raises(ConfigError, match="targets"):
        Mixup()(x, t[:4])
    with pytest.raises(ConfigError, match="tensor"):
        Mixup()(x.numpy(), t)


@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16, torch.float16])
def test_dtype_kept(dtype: torch.dtype) -> None:
    x, _ = batch(8, dtype=dtype)
    m = Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, mode="elem")
    p = m.sample_params(B, x.shape, rng=np.random.default_rng(0))
    out = m.apply(x, p)
    assert out.dtype == dtype
    torch.testing.assert_close(out.double(), expected_rows(x.double(), p), rtol=0.02, atol=0.02)


def test_uint8_batches_round_half_to_even() -> None:
    x = torch.tensor([[[[1, 10]]], [[[2, 255]]]], dtype=torch.uint8)
    p = MixupParams(
        torch.tensor([0.5, 0.5]),
        torch.zeros(2, dtype=torch.bool),
        torch.zeros(2, 4, dtype=torch.long),
        torch.tensor([1, 0]),
    )
    out = mix_images(x, p)
    assert out.dtype == torch.uint8
    assert out.flatten().tolist() == [2, 132, 2, 132]  # 1.5 -> 2, 132.5 -> 132


def test_multi_label_targets() -> None:
    t = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    y = mixup_target(t, 3, torch.tensor([0.75, 0.75]), 0.1, multi_label=True)
    torch.testing.assert_close(y[0], 0.75 * (t[0] * 0.9 + 0.05) + 0.25 * (t[1] * 0.9 + 0.05))
    with pytest.raises(ConfigError, match="multi_label"):
        mixup_target(torch.tensor([0, 1]), 3, multi_label=True)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("mode", MIXUP_MODES)
def test_cuda_matches_cpu(mode: str) -> None:
    x, t = batch(9)
    m = Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, mode=mode, num_classes=NUM_CLASSES)
    cpu = m(x, t, rng=np.random.default_rng(1))
    gpu = m(x.cuda(), t.cuda(), rng=np.random.default_rng(1))
    assert gpu[0].is_cuda and gpu[1].is_cuda
    torch.testing.assert_close(gpu[0].cpu(), cpu[0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(gpu[1].cpu(), cpu[1])


@pytest.mark.parametrize("mode", MIXUP_MODES)
@pytest.mark.parametrize("inplace", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.uint8])
def test_cpu_blocking_gives_the_same_result(monkeypatch, mode: str, inplace: bool, dtype) -> None:
    import pixelpipe.batch.mixing as mixup_module

    g = torch.Generator().manual_seed(10)
    x = (torch.rand(B, C, H, W, generator=g) * 255).to(dtype)
    m = Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, mode=mode, inplace=inplace)
    p = m.sample_params(B, x.shape, rng=np.random.default_rng(4))
    results = []
    for block_bytes in (1 << 40, 1, 3 * x[0].numel() * x.element_size()):  # whole batch, 1 row, 3 rows
        monkeypatch.setattr(mixup_module, "_CPU_BLOCK_BYTES", block_bytes)
        xc = x.clone()
        out = m.apply(xc, p)
        assert (out.data_ptr() == xc.data_ptr()) == inplace
        results.append(out)
    assert torch.equal(results[0], results[1]) and torch.equal(results[0], results[2])
    if dtype == torch.float32:
        torch.testing.assert_close(results[0], expected_rows(x, p))


@pytest.mark.parametrize("mode", MIXUP_MODES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.uint8])
def test_accelerator_code_path_on_cpu_tensors(monkeypatch, mode: str, dtype) -> None:
    """The sync-free path used on GPUs (no host reads, whole batch at once) gives the same result."""
    import pixelpipe.batch.mixing as mixup_module

    g = torch.Generator().manual_seed(11)
    x = (torch.rand(B, C, H, W, generator=g) * 255).to(dtype)
    m = Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, mode=mode)
    p = m.sample_params(B, x.shape, rng=np.random.default_rng(6))
    host = m.apply(x, p)
    monkeypatch.setattr(mixup_module, "_avoid_sync", lambda t: True)
    assert torch.equal(m.apply(x, p), host)
    inplace = Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, mode=mode, inplace=True)
    assert torch.equal(inplace.apply(x.clone(), p), host)


@pytest.mark.parametrize("mode", MIXUP_MODES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("shape", [(C, H, W), (C, 37, 53), (2, C, 9, 11)])
def test_cpu_row_path_is_bit_identical_to_batched_kernel(monkeypatch, mode: str, dtype, shape) -> None:
    """Large float samples are mixed pair by pair on CPU; the result equals the batched kernel's exactly."""
    import pixelpipe.batch.mixing as mixup_module

    g = torch.Generator().manual_seed(12)
    x = torch.randn(B, *shape, generator=g).to(dtype)
    m = Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, mode=mode)
    m_inplace = Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, mode=mode, inplace=True)
    for seed in range(3):
        p = m.sample_params(B, x.shape, rng=np.random.default_rng(seed))
        monkeypatch.setattr(mixup_module, "_CPU_ROW_BYTES", 1 << 40)
        batched = m.apply(x, p)
        monkeypatch.setattr(mixup_module, "_CPU_ROW_BYTES", 0)
        assert torch.equal(m.apply(x, p), batched)
        xc = x.clone()
        out = m_inplace.apply(xc, p)
        assert out.data_ptr() == xc.data_ptr() and torch.equal(out, batched)


def test_cpu_row_path_in_place_reads_partners_before_writing() -> None:
    """In place, each pair's second row sees its partner as it was (blend, CutMix, unmixed, in any mix)."""
    x = torch.rand(4, C, 96, 96, generator=torch.Generator().manual_seed(13))  # 108 KiB rows: row path
    none = [0, 0, 0, 0]
    cases = [  # rows 0..3 (pairs 0-3 and 1-2): (lam, use_cutmix, box)
        [
            (0.3, True, [0, 60, 0, 60]),
            (0.7, False, none),
            (0.6, True, [10, 90, 5, 70]),
            (0.4, True, [30, 96, 30, 96]),
        ],
        [(0.3, True, [5, 50, 0, 96]), (0.7, False, none), (0.2, False, none), (0.4, False, none)],
        [(1.0, False, none), (0.5, True, [0, 96, 0, 40]), (1.0, False, none), (0.5, True, [0, 30, 0, 96])],
    ]
    for rows in cases:
        lam, cut, boxes = zip(*rows)
        p = MixupParams(torch.tensor(lam), torch.tensor(cut), torch.tensor(boxes), torch.tensor([3, 2, 1, 0]))
        out = mix_images(x.clone(), p, inplace=True)
        torch.testing.assert_close(out, expected_rows(x, p), rtol=0, atol=1e-6)
        assert torch.equal(out, mix_images(x, p))


CL = torch.channels_last


@pytest.mark.parametrize("mode", MIXUP_MODES)
@pytest.mark.parametrize("flavour", ["mixup", "cutmix", "both"])
@pytest.mark.parametrize("inplace", [False, True])
@pytest.mark.parametrize(
    ("dtype", "size"),
    [(torch.float32, (H, W)), (torch.float32, (96, 96)), (torch.bfloat16, (96, 96)), (torch.uint8, (H, W))],
)  # (96, 96) float rows take the pair-by-pair CPU path, (H, W) the batched kernels
def test_channels_last_input_gives_channels_last_output(mode, flavour, inplace, dtype, size) -> None:
    """As in the reference (which mixes in place), the output keeps the batch's memory format."""
    g = torch.Generator().manual_seed(14)
    x = (torch.rand(B, C, *size, generator=g) * 255).to(dtype)
    m = Mixup(mode=mode, num_classes=NUM_CLASSES, inplace=inplace, **FLAVOURS[flavour])
    t = torch.arange(B) % NUM_CLASSES
    ref, ref_t = m(x.clone(), t, rng=np.random.default_rng(3))
    out, out_t = m(x.contiguous(memory_format=CL), t, rng=np.random.default_rng(3))
    assert ref.is_contiguous() and out.is_contiguous(memory_format=CL)
    assert torch.equal(out, ref) and torch.equal(out_t, ref_t)


@pytest.mark.parametrize("mode", MIXUP_MODES)
def test_channels_last_on_accelerator_code_path(monkeypatch, mode: str) -> None:
    import pixelpipe.batch.mixing as mixup_module

    x, t = batch(15)
    m = Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, mode=mode, num_classes=NUM_CLASSES)
    ref, _ = m(x, t, rng=np.random.default_rng(2))
    monkeypatch.setattr(mixup_module, "_avoid_sync", lambda t: True)
    out, _ = m(x.contiguous(memory_format=CL), t, rng=np.random.default_rng(2))
    assert out.is_contiguous(memory_format=CL) and torch.equal(out, ref)


def test_other_layouts_give_contiguous_output_and_collate_is_unaffected() -> None:
    from pixelpipe.batch import FastCollateMixup

    x, t = batch(16)
    m = Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, mode="elem", num_classes=NUM_CLASSES)
    strided = torch.rand(B, C, H, 2 * W)[..., ::2]  # neither NCHW- nor channels-last-contiguous
    for inp in (x, strided):
        out, _ = m(inp, t, rng=np.random.default_rng(0))
        ref, _ = m(inp.contiguous(), t, rng=np.random.default_rng(0))
        assert out.is_contiguous() and torch.equal(out, ref)
    collate = FastCollateMixup(mixup_alpha=0.8, cutmix_alpha=1.0, mode="elem", num_classes=NUM_CLASSES)
    samples = [(torch.randint(0, 256, (C, H, W), dtype=torch.uint8), i) for i in range(B)]
    assert collate(samples, rng=np.random.default_rng(0))[0].is_contiguous()
