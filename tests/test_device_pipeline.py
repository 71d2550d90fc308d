"""Device-side augmentation: DeviceAugment, colour ops, variable-size batches, decoding and the loader switch.

Everything runs on CPU tensors; tests marked for CUDA skip without a GPU.
"""

from __future__ import annotations

import dataclasses
import io
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.transforms.v2.functional as TF
from torch.overrides import TorchFunctionMode

from conftest import encode, make_image
from pixelpipe.batch import FastCollateMixup, Mixup
from pixelpipe.datasets import ImageDataset
from pixelpipe.device import (
    BatchColorJitter,
    DeviceAugment,
    EncodedBatch,
    PaddedBatch,
    batch_gaussian_blur,
    batch_grayscale,
    decode_batch,
    encoded_collate,
    pad_collate,
)
from pixelpipe.device.decode import jpeg_components
from pixelpipe.errors import ConfigError, ImageDecodeError
from pixelpipe.factories import create_loader
from pixelpipe.factories.device_loader import DecodeOnly, DevicePrefetchLoader, ReadBytes
from pixelpipe.io import EncodedImage, decode_tensor
from pixelpipe.transforms import functional as F
from pixelpipe.transforms.color import ColorJitter, JitterParams

CUDA = pytest.mark.cuda  # skipped without a GPU (conftest)
SIZES = [(40, 52), (36, 30), (48, 48), (30, 60)]
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def _batch(n: int = 4, seed: int = 0) -> PaddedBatch:
    samples = [(TF.pil_to_tensor(make_image(seed + i, size=SIZES[i % 4][::-1])), i) for i in range(n)]
    return pad_collate(samples)[0]


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- colour ops against the per-sample transforms -----------------------------------------------------


def test_color_jitter_matches_the_per_sample_transform() -> None:
    x = _batch(8).images[:, :, :30, :30].contiguous()
    jitter = BatchColorJitter(0.4, 0.4, 0.4, 0.1)
    p = jitter.sample(8, _gen(1), "cpu")
    got = jitter.apply(x, p)
    ref = ColorJitter(0.4, 0.4, 0.4, 0.1)
    for i in range(8):
        params = JitterParams(tuple(p["order"][i].tolist()), *p["factors"][i].tolist())
        diff = (got[i].int() - ref.apply(x[i], params).int()).abs()
        assert diff.max() <= 2 and diff.float().mean() < 0.05


def test_color_jitter_order_is_a_uniform_permutation_per_sample() -> None:
    p = BatchColorJitter(0.4, 0.4, 0.4).sample(4800, _gen(2), "cpu")
    counts = Counter(tuple(r) for r in p["order"].tolist())
    assert len(counts) == 24 and min(counts.values()) > 120  # 200 expected each


def test_grayscale_and_blur_match_torchvision_on_masked_samples() -> None:
    x = _batch(4).images[:, :, :30, :30].contiguous()
    mask = torch.tensor([True, False, True, False])
    gray = batch_grayscale(x, mask)
    sigma = torch.tensor([0.5, 1.0, 1.7, 2.0])
    blur = batch_gaussian_blur(x, sigma, mask, 23)
    for i in range(4):
        ref_g = TF.rgb_to_grayscale(x[i], 3) if mask[i] else x[i]
        ref_b = TF.gaussian_blur(x[i], [23, 23], [float(sigma[i])] * 2) if mask[i] else x[i]
        assert torch.equal(gray[i], ref_g)
        assert (blur[i].int() - ref_b.int()).abs().max() <= 1


# --- DeviceAugment ------------------------------------------------------------------------------------


def test_sampling_is_apart_from_applying_and_replayable() -> None:
    batch = _batch()
    aug = DeviceAugment(24, auto_augment="rand-m9-mstd0.5-inc1", re_prob=0.5, mean=MEAN, std=STD)
    x = aug(batch.images, batch.sizes, generator=_gen(3))
    params = aug.sample(batch.sizes, _gen(3))
    y, _ = aug.apply(batch.images, params)
    assert torch.equal(x, y) and x.shape == (4, 3, 24, 24) and x.dtype == torch.float32
    assert not torch.equal(x, aug(batch.images, batch.sizes, generator=_gen(4)))


def test_crop_flip_and_normalisation_match_the_per_sample_path() -> None:
    batch = _batch()
    aug = DeviceAugment((20, 28), hflip=0.5, vflip=0.5, color_jitter=None, mean=MEAN, std=STD)
    p = aug.sample(batch.sizes, _gen(5))
    out, _ = aug.apply(batch.images, p)
    mean = torch.tensor(MEAN).view(3, 1, 1) * 255
    std = torch.tensor(STD).view(3, 1, 1) * 255
    for i, (h, w) in enumerate(SIZES):
        ref = F.resized_crop(batch.images[i, :, :h, :w], *p.boxes[i].long().tolist(), (20, 28), "bilinear")
        ref = ref.flip(-1) if p.hflip[i] else ref
        ref = ref.flip(-2) if p.vflip[i] else ref
        torch.testing.assert_close(out[i], (ref.float() - mean) / std, atol=2.01 / (255 * 0.224), rtol=0)


def test_augmentation_matches_the_per_sample_ops_on_the_same_draws() -> None:
    batch = _batch(8)
    aug = DeviceAugment(24, auto_augment="rand-m9-mstd0.5-inc1", hflip=0.0)
    p = aug.sample(batch.sizes, _gen(6))
    got = aug.apply_uint8(batch.images, p)
    for i in range(8):
        h, w = SIZES[i % 4]
        crop = F.resized_crop(batch.images[i, :, :h, :w], *p.boxes[i].long().tolist(), (24, 24), "bilinear")
        ref = aug.augment.reference.apply(crop, aug.augment.per_sample_params(p.augment, i))
        assert (got[i].float() - ref.float()).abs().mean() <= 1.5


def test_colour_jitter_is_off_with_auto_augment_as_in_the_reference() -> None:
    assert DeviceAugment(16).jitter is not None
    assert DeviceAugment(16, auto_augment="rand-m9").jitter is None
    assert DeviceAugment(16, auto_augment="rand-m9", force_color_jitter=True).jitter is not None
    assert DeviceAugment(16, is_training=False).jitter is None


def test_flip_rate_and_random_interpolation() -> None:
    sizes = torch.tensor([[40, 40]] * 4000)
    p = DeviceAugment(16, interpolation="random").sample(sizes, _gen(7))
    assert abs(p.hflip.float().mean().item() - 0.5) < 0.03 and not p.vflip.any()
    assert abs((p.filters == 2).float().mean().item() - 0.5) < 0.03  # bicubic half the time


def test_mixup_runs_last_with_soft_targets_and_fast_collate_mixup_converts() -> None:
    batch = _batch()
    fcm = FastCollateMixup(mixup_alpha=0.8, cutmix_alpha=1.0, mode="elem", num_classes=5)
    aug = DeviceAugment(16, mixup=fcm, color_jitter=None)
    assert type(aug.mixup) is Mixup and aug.mixup.mode == "elem" and aug.mixup.num_classes == 5
    x, y = aug(batch.images, batch.sizes, torch.tensor([0, 1, 2, 3]), generator=_gen(8))
    assert x.shape == (4, 3, 16, 16) and y.shape == (4, 5)
    torch.testing.assert_close(y.sum(1), torch.ones(4))
    with pytest.raises(ConfigError, match="targets"):
        aug(batch.images, batch.sizes, generator=_gen(8))


def test_eval_and_no_aug_use_the_centre_crop_without_randomness() -> None:
    batch = _batch()
    for aug in (DeviceAugment(16, is_training=False), DeviceAugment(16, no_aug=True, re_prob=1.0)):
        a = aug(batch.images, batch.sizes, generator=_gen(1))
        b = aug(batch.images, batch.sizes, generator=_gen(2))
        assert torch.equal(a, b) and aug.erasing is None


def test_unsupported_options_raise_config_errors_naming_them() -> None:
    with pytest.raises(ConfigError, match="border"):
        DeviceAugment(16, is_training=False, crop_mode="border")
    with pytest.raises(ConfigError, match="random"):
        DeviceAugment(16, is_training=False, interpolation="random")
    with pytest.raises(ConfigError, match="img_dtype"):
        DeviceAugment(16, img_dtype=torch.uint8)
    with pytest.raises(ConfigError, match="mixup"):
        DeviceAugment(16, mixup=object())


def test_channels_last_and_half_precision_output() -> None:
    batch = _batch()
    aug = DeviceAugment(16, channels_last=True, img_dtype=torch.float16)
    x = aug(batch.images, batch.sizes, generator=_gen(0))
    assert x.dtype == torch.float16 and x.is_contiguous(memory_format=torch.channels_last)


# --- no Python loop over the batch --------------------------------------------------------------------


class _CountCalls(TorchFunctionMode):
    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.calls[getattr(func, "__name__", str(func))] += 1
        return func(*args, **(kwargs or {}))


def _count(fn) -> Counter[str]:
    with _CountCalls() as mode:
        fn()
    return mode.calls


def _images(b: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = _gen(b)
    images = torch.randint(0, 256, (b, 3, 40, 48), dtype=torch.uint8, generator=g)
    sizes = torch.stack(
        [torch.randint(20, 41, (b,), generator=g), torch.randint(20, 49, (b,), generator=g)], 1
    )
    return images, sizes


def test_no_python_loop_over_the_batch_in_the_hot_path() -> None:
    mixup = Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, mode="elem", num_classes=10)
    aug = DeviceAugment(
        16,
        interpolation="random",
        vflip=0.5,
        color_jitter=(0.4, 0.4, 0.4, 0.1),
        grayscale_prob=0.3,
        gaussian_blur_prob=0.3,
        re_prob=1.0,
        re_count=3,
        mixup=mixup,
    )
    counts = []
    for b in (4, 32):
        images, sizes = _images(b)
        targets = torch.arange(b) % 10
        params = aug.sample(sizes, _gen(0))
        aug.apply(images, params, targets)  # warm the per-device caches (normalisation constants)
        sampled = _count(lambda: aug.sample(sizes, _gen(0)))  # noqa: B023
        applied = _count(lambda: aug.apply(images, params, targets))  # noqa: B023
        counts.append((sampled, applied))
    assert counts[0] == counts[1]
    assert sum(counts[1][1].values()) < 1500  # a fixed number of ops per batch (hue jitter: most of it)


def _tile(value, k: int):
    """Parameters for ``k`` copies of a batch: every per-sample array repeated along the batch axis."""
    if isinstance(value, torch.Tensor):
        return value.repeat(k, *([1] * (value.ndim - 1))) if value.ndim else value
    if isinstance(value, np.ndarray):
        return np.concatenate([value] * k)
    if isinstance(value, dict):
        return {n: _tile(v, k) for n, v in value.items()}
    if dataclasses.is_dataclass(value):
        return dataclasses.replace(
            value, **{f.name: _tile(getattr(value, f.name), k) for f in dataclasses.fields(value)}
        )
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(_tile(v, k) for v in value))
    return value


@pytest.mark.parametrize("config", ["rand-m9-mstd0.5-inc1", "augmix-m3-w3", "v0"])
def test_augmentation_cost_does_not_grow_with_the_batch(config: str) -> None:
    # op kinds are grouped: the same kinds present means the same calls, for 16 samples or 64
    aug = DeviceAugment(16, auto_augment=config, re_prob=0.5)
    images, sizes = _images(16)
    params = aug.sample(sizes, _gen(1))
    big_images, big_params = images.repeat(4, 1, 1, 1), _tile(params, 4)
    aug.apply(big_images, big_params)  # warm the per-device caches (the crop's buffers grow to the largest)
    small = _count(lambda: aug.apply(images, params))
    tiled = _count(lambda: aug.apply(big_images, big_params))
    assert small == tiled


# --- variable-size batches and decoding ---------------------------------------------------------------


def test_pad_collate_keeps_sizes_and_pads_with_zeros() -> None:
    imgs = [torch.full((3, h, w), 7, dtype=torch.uint8) for h, w in SIZES]
    (x, sizes), y = pad_collate([(im, i) for i, im in enumerate(imgs)], multiple=16)
    assert (
        x.shape == (4, 3, 48, 64)
        and sizes.tolist() == [list(s) for s in SIZES]
        and y.tolist() == [0, 1, 2, 3]
    )
    for i, (h, w) in enumerate(SIZES):
        assert (x[i, :, :h, :w] == 7).all() and int(x[i].sum()) == 7 * 3 * h * w
    with pytest.raises(ConfigError, match="channels"):
        pad_collate([(imgs[0], 0), (imgs[1][:1], 1)])


def test_decode_batch_on_cpu_equals_cpu_decoding() -> None:
    datas = [
        encode(make_image(1, size=(50, 40)), quality=90),
        encode(make_image(2, size=(31, 17)), "PNG"),
        encode(make_image(3, size=(20, 30), mode="L"), quality=90),
    ]
    enc, y = encoded_collate([(EncodedImage(d, "RGB", f"{i}.img", i), i) for i, d in enumerate(datas)])
    assert isinstance(enc, EncodedBatch) and enc.batch_size == 3 and y.tolist() == [0, 1, 2]
    out = decode_batch(enc, "cpu")
    for i, d in enumerate(datas):
        ref = decode_tensor(d)
        h, w = ref.shape[-2:]
        assert out.sizes[i].tolist() == [h, w] and torch.equal(out.images[i, :, :h, :w], ref)


def test_decode_errors_name_the_file() -> None:
    enc, _ = encoded_collate([(EncodedImage(b"\xff\xd8\xffjunk", "RGB", "bad.jpg", 7), 0)])
    with pytest.raises(ImageDecodeError, match=r"bad\.jpg.*7"):
        decode_batch(enc, "cpu")


def test_jpeg_components_sees_cmyk() -> None:
    assert jpeg_components(encode(make_image(0).convert("CMYK"))) == 4
    assert jpeg_components(encode(make_image(0))) == 3
    assert jpeg_components(encode(make_image(0), "PNG")) is None


def test_worker_steps() -> None:
    big = EncodedImage(encode(make_image(0, size=(700, 300)), quality=90), "RGB", "big.jpg", 0)
    assert DecodeOnly(max_side=300)(big).shape == (3, 129, 300)  # 1/2 DCT scale (350 px), then resized
    assert DecodeOnly()(big).shape == (3, 300, 700)
    assert DecodeOnly(max_side=100)(make_image(0, size=(200, 100))).shape == (3, 50, 100)
    assert ReadBytes()(big) is big
    with pytest.raises(ImageDecodeError, match=r"bad\.png"):
        ReadBytes()(EncodedImage(b"not an image", "RGB", "bad.png", 1))


@CUDA
def test_decode_batch_on_cuda_is_close_to_cpu_decoding() -> None:
    datas = [encode(make_image(i, size=(64 + 8 * i, 48)), quality=90) for i in range(3)]
    datas.append(encode(make_image(9).convert("CMYK")))  # nvJPEG cannot: decoded on the CPU
    datas.append(encode(make_image(8), "PNG"))
    enc, _ = encoded_collate([(d, i) for i, d in enumerate(datas)])
    out = decode_batch(enc, "cuda")
    assert out.images.is_cuda
    for i, d in enumerate(datas):
        ref = decode_tensor(d)
        h, w = ref.shape[-2:]
        diff = (out.images[i, :, :h, :w].cpu().int() - ref.int()).abs().float()
        assert diff.mean() < 1.0


@CUDA
def test_device_augment_on_cuda_matches_cpu() -> None:
    batch = _batch()
    aug = DeviceAugment(24, auto_augment="rand-m9-mstd0.5-inc1", re_prob=0.5, color_jitter=None)
    params = aug.sample(batch.sizes, _gen(9))
    cpu, _ = aug.apply(batch.images, params)
    gpu, _ = aug.apply(batch.images.cuda(), params)
    assert (gpu.cpu() - cpu).abs().mean() < 0.05


# --- create_loader(augment_on='device') ---------------------------------------------------------------


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("device_jpegs")
    for c in range(2):
        (root / f"class{c}").mkdir()
        for i in range(6):
            make_image(10 * c + i, size=(40 + 6 * i, 36 + 4 * i)).save(
                root / f"class{c}" / f"{i}.jpg", quality=90
            )
    return root


TRAIN = dict(is_training=True, auto_augment="rand-m9-mstd0.5-inc1", re_prob=0.5, device="cpu", seed=0)


def _epoch(loader) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(x.clone(), y.clone()) for x, y in loader]


def test_create_loader_device_path_is_reproducible_across_workers_and_decode_sites(folder: Path) -> None:
    mix = FastCollateMixup(mixup_alpha=0.8, cutmix_alpha=1.0, num_classes=2)
    kw = dict(batch_size=4, augment_on="device", collate_fn=mix, **TRAIN)
    loader = create_loader(ImageDataset(folder), (3, 24, 24), num_workers=0, **kw)
    assert isinstance(loader, DevicePrefetchLoader) and loader.mixup_enabled
    a = _epoch(loader)
    assert len(a) == 3 and all(x.shape == (4, 3, 24, 24) and y.shape == (4, 2) for x, y in a)
    b = _epoch(create_loader(ImageDataset(folder), (3, 24, 24), num_workers=2, **kw))
    c = _epoch(create_loader(ImageDataset(folder), (3, 24, 24), num_workers=0, decode_on="device", **kw))
    for (xa, ya), (xb, yb), (xc, yc) in zip(a, b, c):
        assert torch.equal(xa, xb) and torch.equal(ya, yb) and torch.equal(xa, xc) and torch.equal(ya, yc)
    assert not torch.equal(a[0][0], _epoch(loader)[0][0])  # the next epoch differs
    loader.mixup_enabled = False
    assert not loader.augment.mixup.mixup_enabled


def test_create_loader_device_eval_is_close_to_the_cpu_eval(folder: Path) -> None:
    kw = dict(batch_size=5, num_workers=0, device="cpu", seed=0)
    dev = _epoch(create_loader(ImageDataset(folder), (3, 24, 24), augment_on="device", **kw))
    cpu = _epoch(create_loader(ImageDataset(folder), (3, 24, 24), **kw))
    assert [x.shape[0] for x, _ in dev] == [5, 5, 2]
    for (xd, yd), (xc, yc) in zip(dev, cpu):
        assert torch.equal(yd, yc)
        assert (xd - xc).abs().max() <= 2.01 / (255 * 0.224)  # within 2 grey levels


def test_create_loader_device_rejects_what_it_cannot_do(folder: Path) -> None:
    ds = ImageDataset(folder)
    cases = [
        (dict(use_prefetcher=False), "use_prefetcher"),
        (dict(num_aug_splits=2), "num_aug_splits"),
        (dict(train_crop_mode="rkrc"), "train_crop_mode"),
        (dict(collate_fn=lambda b: b), "collate_fn"),
        (dict(decode_on="gpu"), "decode_on"),
    ]
    for extra, name in cases:
        with pytest.raises(ConfigError, match=name):
            create_loader(ds, (3, 24, 24), 4, augment_on="device", **{**TRAIN, **extra})
    with pytest.raises(ConfigError, match="augment_on"):
        create_loader(ds, (3, 24, 24), 4, augment_on="gpu", device="cpu")
    with pytest.raises(ConfigError, match="decode_on"):
        create_loader(ds, (3, 24, 24), 4, decode_on="device", device="cpu")


def test_encoded_batch_pickles_as_one_buffer() -> None:
    import pickle

    enc, _ = encoded_collate([(b"abc", 0), (b"defg", 1)])
    back = pickle.loads(pickle.dumps(enc))
    assert [bytes(t.numpy()) for t in back.items()] == [b"abc", b"defg"] and back.data.ndim == 1
    assert io.BytesIO(bytes(back.data.numpy())).getvalue() == b"abcdefg"


# --- command line -------------------------------------------------------------------------------------


def test_bench_augment_on_device_reports_per_core_rates(capsys, monkeypatch) -> None:
    from pixelpipe.cli import main

    monkeypatch.delenv("PIXELPIPE_PHOTOS", raising=False)
    args = [
        "bench",
        "--augment-on",
        "device",
        "--quick",
        "--images",
        "4",
        "--rounds",
        "1",
        "--batch-size",
        "4",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "| path | CPU s / image (workers + main) | images/s per CPU core | vs reference |" in out
    assert "device path, workers decode" in out
    if not torch.cuda.is_available():
        assert "not measured yet: no GPU was available" in out


def test_demo_runs_with_augmentation_on_the_device(tmp_path, capsys) -> None:
    from pixelpipe.cli import main

    assert main(["demo", "--quick", "--augment-on", "device", "--out", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    assert "augmentation on the device" in out and "held-out accuracy" in out


def test_public_names_resolve() -> None:
    import pixelpipe.device as device

    for name in device.__all__:
        assert getattr(device, name) is not None, name
    with pytest.raises(AttributeError, match="nope"):
        _ = device.nope
