"""The CUDA side of the prefetcher and the device path (issue 19): stream order, syncs, nvJPEG, RNG devices.

Two kinds of tests:

* on every machine, the logic that can be checked without a GPU: the hand-over order with a fake stream and
  event API recording the calls, the classification of nvJPEG errors, the CPU fallback's choices, the
  random-number devices with CPU generators, the crop's precision switch and buffers;
* marked ``cuda`` (skipped without a GPU, ``pytest -m cuda`` on one): the same on a real device, plus
  ``torch.cuda.set_sync_debug_mode('error')`` around whole device-path steps, the stream-order check with
  CUDA events, the nvJPEG race (victim tensors on a busy stream, then a decode) and decode fallbacks with
  a spy on the CPU decoder.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch
import torchvision.transforms.functional as TF

from conftest import encode, make_image
from pixelpipe import Mixup
from pixelpipe.batch.color import BatchColorJitter
from pixelpipe.batch.crop import CropWorkspace, exact_fp32_matmul, resized_crop, sample_crop_boxes
from pixelpipe.device import DeviceAugment, decode_batch, pad_collate
from pixelpipe.device import decode as D
from pixelpipe.device.collate import encoded_collate
from pixelpipe.io import decode_tensor, read_header
from pixelpipe.loader import PrefetchLoader
from pixelpipe.rng import use_rng
from pixelpipe.transforms.erasing import RandomErasing

CUDA = pytest.mark.cuda  # skipped without a GPU (conftest)
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def _padded(n: int = 8, seed: int = 0) -> Any:
    sizes = [(40, 52), (36, 30), (48, 48), (30, 60)]
    samples = [(TF.pil_to_tensor(make_image(seed + i, size=sizes[i % 4][::-1])), i) for i in range(n)]
    return pad_collate(samples, multiple=16)


# --- the hand-over order, with a fake stream API (CPU) ---------------------------------------------------


class _FakeCuda:
    """Records what the prefetcher asks of ``torch.cuda`` (streams, events) in one log."""

    def __init__(self) -> None:
        self.log: list[tuple[Any, ...]] = []
        self.events = 0
        fake = self

        class Stream:
            def __init__(self, device: Any = None) -> None:
                self.name = "side"

            def wait_stream(self, other: Any) -> None:
                fake.log.append(("wait_stream", self.name, other.name))

            def wait_event(self, event: Any) -> None:
                fake.log.append(("wait_event", self.name, event.id))

        class Event:
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                fake.events += 1
                self.id = fake.events

            def record(self, stream: Any = None) -> None:
                fake.log.append(("record", self.id, stream.name))

        self.Stream, self.Event = Stream, Event
        self.consumer = Stream()
        self.consumer.name = "consumer"

    @contextlib.contextmanager
    def stream(self, s: Any) -> Iterator[None]:
        self.log.append(("enter", s.name))
        yield
        self.log.append(("exit", s.name))

    def current_stream(self, device: Any = None) -> Any:
        return self.consumer


class _LoggingPrefetch(PrefetchLoader):
    def __init__(self, fake: _FakeCuda, n: int) -> None:
        super().__init__(
            [(torch.zeros(2, 3, 4, 4, dtype=torch.uint8), torch.tensor([0, 1]))] * n, device="cpu"
        )
        self.fake = fake
        self.is_cuda = True  # the side-stream path, with the fake API

    def _prepare(self, x: Any, y: Any, batch_index: int, epoch_seed: int | None) -> tuple:
        self.fake.log.append(("prepare", batch_index))
        return (batch_index,)


def test_hand_over_waits_on_the_event_of_that_batch_only(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _FakeCuda()
    for name in ("Stream", "Event", "stream", "current_stream"):
        monkeypatch.setattr(torch.cuda, name, getattr(fake, name))
    pf = _LoggingPrefetch(fake, 4)
    got = []
    for (b,) in pf:
        fake.log.append(("step", b))
        got.append(b)
    assert got == [0, 1, 2, 3]
    log = fake.log
    assert not [e for e in log if e[0] == "wait_stream"]  # never waits for everything on the side stream
    ready = {}  # batch -> the event recorded right after its preparation, on the side stream, inside it
    for i, e in enumerate(log):
        if e[0] == "prepare":
            assert log[i + 1][0] == "record" and log[i + 1][2] == "side" and log[i + 2] == ("exit", "side")
            ready[e[1]] = log[i + 1][1]
    for b in range(4):
        step = log.index(("step", b))
        wait = log[step - 1]
        assert wait == ("wait_event", "consumer", ready[b])  # step b waits for batch b's event
        if b < 3:  # and batch b + 1 was queued before step b (the look-ahead), so the two overlap
            assert log.index(("prepare", b + 1)) < step


# --- nvJPEG errors: the image's fault or the device's ---------------------------------------------------


@pytest.mark.parametrize(
    ("message", "device_error"),
    [
        ("decode_jpegs_cuda: torchvision not compiled with nvJPEG support", True),
        ("CUDA out of memory. Tried to allocate 2.00 GiB", True),
        ("CUDA error: an illegal memory access was encountered", True),
        ("CUDA error: device-side assert triggered", True),
        ("nvjpeg error: NVJPEG_STATUS_EXECUTION_FAILED", True),
        ("nvjpegDecodeJpegHost failed: NVJPEG_STATUS_BAD_JPEG", False),
        ("The provided mode is not supported for JPEG decoding on GPU", False),
        ("nvjpegGetImageInfo failed: 4", False),
    ],
)
def test_device_errors_are_told_from_image_errors(message: str, device_error: bool) -> None:
    assert D.is_device_error(RuntimeError(message)) is device_error


def test_out_of_memory_is_a_device_error() -> None:
    assert D.is_device_error(torch.cuda.OutOfMemoryError("out of memory"))


def _encoded(datas: list[bytes]) -> tuple[list[torch.Tensor], list[Any], list[Any]]:
    enc, _ = encoded_collate([(d, i) for i, d in enumerate(datas)])
    items, meta = D._as_items(enc)
    return items, meta, [read_header(d) for d in datas]


def test_gpu_decode_falls_back_only_for_the_images_it_cannot_decode(monkeypatch: pytest.MonkeyPatch) -> None:
    datas = [encode(make_image(i)) for i in range(3)]
    items, meta, headers = _encoded(datas)
    bad = items[1]
    calls = []

    def fake_decode(data: Any, mode: Any = None, device: Any = None) -> Any:
        calls.append(type(data).__name__)
        if isinstance(data, list):
            raise RuntimeError("nvjpegDecode failed: NVJPEG_STATUS_BAD_JPEG")  # one image spoils the batch
        if data is bad:
            raise RuntimeError("nvjpegDecode failed: NVJPEG_STATUS_BAD_JPEG")
        return torch.zeros(3, 2, 2, dtype=torch.uint8)

    import torchvision.io

    monkeypatch.setattr(torchvision.io, "decode_jpeg", fake_decode)
    out = D._gpu_decode(items, meta, headers, torch.device("cpu"))
    assert calls == ["list", "Tensor", "Tensor", "Tensor"]  # the batch, then image by image
    assert out[0] is not None and out[1] is None and out[2] is not None  # only image 1 goes to the CPU


@pytest.mark.parametrize("batched", [True, False])
def test_gpu_decode_reraises_device_errors_with_one_warning(
    monkeypatch: pytest.MonkeyPatch, batched: bool
) -> None:
    items, meta, headers = _encoded([encode(make_image(i)) for i in range(2)])

    def fake_decode(data: Any, mode: Any = None, device: Any = None) -> Any:
        if isinstance(data, list) and not batched:
            raise RuntimeError("nvjpegDecode failed: NVJPEG_STATUS_BAD_JPEG")
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    import torchvision.io

    monkeypatch.setattr(torchvision.io, "decode_jpeg", fake_decode)
    monkeypatch.setattr(D, "_WARNED", set())
    with pytest.warns(RuntimeWarning, match="not falling back"), pytest.raises(torch.cuda.OutOfMemoryError):
        D._gpu_decode(items, meta, headers, torch.device("cpu"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once: the second failure raises without a second warning
        with pytest.raises(torch.cuda.OutOfMemoryError):
            D._gpu_decode(items, meta, headers, torch.device("cpu"))


def test_gpu_decode_leaves_cmyk_png_and_unknown_sizes_to_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    datas = [encode(make_image(0)), encode(make_image(1).convert("CMYK")), encode(make_image(2), "PNG")]
    items, meta, headers = _encoded(datas)
    seen = []

    def fake_decode(data: Any, mode: Any = None, device: Any = None) -> Any:
        seen.append(len(data))
        return [torch.zeros(3, 2, 2, dtype=torch.uint8) for _ in data]

    import torchvision.io

    monkeypatch.setattr(torchvision.io, "decode_jpeg", fake_decode)
    out = D._gpu_decode(items, meta, headers, torch.device("cpu"))
    assert seen == [1] and out[0] is not None and out[1] is None and out[2] is None


# --- random numbers on the generator's device ------------------------------------------------------------


def test_color_jitter_draws_on_its_generator_and_moves_the_result() -> None:
    jitter = BatchColorJitter(0.4, 0.4, 0.4, 0.1)
    a = jitter.sample(6, torch.Generator().manual_seed(3), "meta")  # drawn on the CPU, then moved
    b = jitter.sample(6, torch.Generator().manual_seed(3))
    assert all(v.device.type == "meta" for v in a.values())
    assert all(v.device.type == "cpu" for v in b.values()) and a.keys() == b.keys()


def test_color_jitter_without_a_generator_draws_from_pixelpipe() -> None:
    jitter = BatchColorJitter(0.4, 0.4, 0.4, 0.1)
    state = torch.random.get_rng_state()
    with use_rng(5):
        a = jitter.sample(6)
    with use_rng(5):
        b = jitter.sample(6)
    assert torch.equal(torch.random.get_rng_state(), state)  # torch's global generator untouched
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_crop_boxes_draw_on_the_generator_device() -> None:
    sizes = torch.tensor([[40, 60], [30, 30], [80, 20]])
    a = sample_crop_boxes(sizes, generator=torch.Generator().manual_seed(1))
    b = sample_crop_boxes(sizes.double(), generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    with use_rng(2):
        c = sample_crop_boxes(sizes)
    with use_rng(2):
        assert torch.equal(c, sample_crop_boxes(sizes))


@pytest.mark.parametrize("mode", ["const", "rand", "pixel"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_erasing_noise_is_the_same_with_slices_and_masks(mode: str, dtype: torch.dtype) -> None:
    x = torch.randn(6, 3, 20, 24).to(dtype)
    slices = RandomErasing(1.0, mode=mode, max_count=3, paste="slices")
    masks = RandomErasing(1.0, mode=mode, max_count=3, paste="masks")
    params = slices.make_params(x, np.random.default_rng(4))
    out = slices.apply(x, params)
    assert torch.equal(out, masks.apply(x, params)) and not torch.equal(out, x)


# --- the crop: precision switch and reused buffers --------------------------------------------------------


def test_exact_fp32_matmul_sets_ieee_and_restores() -> None:
    # cuda-mark: not needed (the switch is a host setting; no device is touched)
    matmul = torch.backends.cuda.matmul
    if not hasattr(matmul, "fp32_precision"):
        pytest.skip("this torch has no fp32_precision switch")
    prev = matmul.fp32_precision
    try:
        matmul.fp32_precision = "tf32"
        with exact_fp32_matmul(torch.device("cuda")):
            assert matmul.fp32_precision == "ieee"
        assert matmul.fp32_precision == "tf32"
        with exact_fp32_matmul(torch.device("cpu")):
            assert matmul.fp32_precision == "tf32"  # other devices: untouched
    finally:
        matmul.fp32_precision = prev


def test_crop_workspace_gives_the_same_pixels_and_reuses_its_buffers() -> None:
    batch = _padded(8)[0]
    boxes = sample_crop_boxes(batch.sizes, generator=torch.Generator().manual_seed(0))
    ws = CropWorkspace()
    ref = resized_crop(batch.images, boxes, 24, "bicubic", out_dtype=torch.uint8)
    got = resized_crop(batch.images, boxes, 24, "bicubic", out_dtype=torch.uint8, workspace=ws)
    assert torch.equal(ref, got)
    ptrs = {k: v.data_ptr() for k, v in ws._buffers.items()}
    resized_crop(batch.images[:4], boxes[:4], 24, "bicubic", out_dtype=torch.uint8, workspace=ws)
    assert {k: v.data_ptr() for k, v in ws._buffers.items()} == ptrs  # smaller batch: same memory
    import pickle

    assert pickle.loads(pickle.dumps(ws))._buffers == {}


# --- on a GPU ---------------------------------------------------------------------------------------------


def _recipe(**kw: Any) -> DeviceAugment:
    mix = Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, mode="elem", num_classes=10)
    base: dict[str, Any] = dict(
        auto_augment="rand-m9-mstd0.5-inc1",
        re_prob=0.5,
        re_mode="pixel",
        re_count=2,
        mixup=mix,
        mean=MEAN,
        std=STD,
        gaussian_blur_prob=0.3,
        grayscale_prob=0.2,
    )
    base.update(kw)
    return DeviceAugment(32, **base)


@contextlib.contextmanager
def _sync_mode(mode: str) -> Iterator[None]:
    prev = torch.cuda.get_sync_debug_mode()
    torch.cuda.set_sync_debug_mode(mode)
    try:
        yield
    finally:
        torch.cuda.set_sync_debug_mode(prev)


@CUDA
@pytest.mark.parametrize("config", ["rand-m9-mstd0.5-inc1", "augmix-m3-w3", "v0"])
def test_a_device_step_never_syncs(config: str) -> None:
    # pinned copy -> draws (host) -> crop, augment, jitter, blur -> normalise -> erase -> mix
    (batch, targets) = _padded(8)
    images = batch.images.pin_memory()
    aug = _recipe(auto_augment=config, color_jitter=0.4, force_color_jitter=True)
    side = torch.cuda.Stream()
    for step in range(3):  # the first step fills the per-device constants (one blocking copy each)
        with torch.cuda.stream(side):
            ctx = _sync_mode("error") if step else contextlib.nullcontext()
            with ctx:
                x = images.to("cuda", non_blocking=True)
                params = aug.sample(batch.sizes, torch.Generator().manual_seed(step))
                out, y = aug.apply(x, params, targets)
    torch.cuda.synchronize()
    assert out.is_cuda and y.shape == (8, 10)


@CUDA
def test_a_decode_on_device_step_syncs_only_before_nvjpeg(monkeypatch: pytest.MonkeyPatch) -> None:
    import torchvision.io

    datas = [encode(make_image(i, size=(64 + 8 * i, 48)), quality=90) for i in range(4)]
    datas.append(encode(make_image(9).convert("CMYK")))  # the CPU fallback, copied without a sync
    enc, targets = encoded_collate([(d, i) for i, d in enumerate(datas[:4])] + [(datas[4], 4), (datas[0], 5)])
    enc = enc._replace(data=enc.data.pin_memory())
    settles, real_decode, real_settle = [], torchvision.io.decode_jpeg, D.settle_before_nvjpeg

    def settle(device: torch.device) -> None:  # the one designed sync, let through and counted
        settles.append(device)
        with _sync_mode("default"):
            real_settle(device)

    def decode(*args: Any, **kwargs: Any) -> Any:  # torchvision's own code: not pixelpipe's to answer for
        with _sync_mode("default"):
            return real_decode(*args, **kwargs)

    monkeypatch.setattr(D, "settle_before_nvjpeg", settle)
    monkeypatch.setattr(torchvision.io, "decode_jpeg", decode)
    aug = _recipe()
    for step in range(3):
        ctx = _sync_mode("error") if step else contextlib.nullcontext()
        with ctx:
            padded = decode_batch(enc, "cuda", multiple=32, max_side=1024)
            params = aug.sample(padded.sizes, torch.Generator().manual_seed(step))
            out, _ = aug.apply(padded.images, params, targets)
    torch.cuda.synchronize()
    assert len(settles) == 3 and out.shape == (6, 3, 32, 32)


class _TimedPrefetch(PrefetchLoader):
    """Each preparation also runs a long kernel on the side stream, then records a timing event."""

    def __init__(self, loader: Any, cycles: int) -> None:
        super().__init__(loader, mean=MEAN, std=STD, device="cuda")
        self.cycles, self.prepared = cycles, []

    def _prepare(self, x: Any, y: Any, batch_index: int, epoch_seed: int | None) -> tuple:
        out = super()._prepare(x, y, batch_index, epoch_seed)
        torch.cuda._sleep(self.cycles)
        done = torch.cuda.Event(enable_timing=True)
        done.record(torch.cuda.current_stream())
        self.prepared.append(done)
        return out


@CUDA
def test_step_b_is_handed_over_before_batch_b_plus_1_is_prepared() -> None:
    batches = [(torch.zeros(4, 3, 16, 16, dtype=torch.uint8).pin_memory(), torch.arange(4)) for _ in range(4)]
    pf = _TimedPrefetch(batches, cycles=50_000_000)  # tens of ms per preparation
    start = torch.cuda.Event(enable_timing=True)
    start.record()
    handed = []
    for x, _ in pf:
        got = torch.cuda.Event(enable_timing=True)
        got.record()  # on the consumer stream: runs as soon as this batch is handed over
        handed.append(got)
        x.add_(1)  # the "step"
    torch.cuda.synchronize()
    t_handed = [start.elapsed_time(e) for e in handed]
    t_prepared = [start.elapsed_time(e) for e in pf.prepared]
    for b in range(3):  # step b starts once batch b is ready, not once batch b + 1 is (the old wait_stream)
        assert t_handed[b] < t_prepared[b + 1], (t_handed, t_prepared)
        assert t_handed[b] >= t_prepared[b] - 0.01


def nvjpeg_race(settle: bool, rounds: int = 8) -> int:
    """Victim tensors freed on a busy stream while kernels reading them are still queued, then a decode on
    that stream: returns how many victims were overwritten before their readers ran (0: no race)."""
    import torchvision.io

    data = torch.frombuffer(bytearray(encode(make_image(0, size=(256, 256)), quality=95)), dtype=torch.uint8)
    nbytes = 3 * 256 * 256
    side = torch.cuda.Stream()
    corrupted = 0
    with torch.cuda.stream(side):
        for _ in range(rounds):
            victims = [torch.full((nbytes,), 7, dtype=torch.uint8, device="cuda") for _ in range(8)]
            torch.cuda._sleep(20_000_000)  # keeps the stream busy
            copies = [v.clone() for v in victims]  # queued readers of the victims
            del victims  # freed at once to this stream's pool (stream-ordered: safe for this stream only)
            if settle:
                D.settle_before_nvjpeg(torch.device("cuda"))
            torchvision.io.decode_jpeg([data] * 8, device="cuda")
            side.synchronize()
            corrupted += sum(int((c != 7).any()) for c in copies)
    return corrupted


@CUDA
def test_nvjpeg_race_is_fixed_by_settling_the_stream(record_property: Any) -> None:
    record_property("corrupted_without_settle", nvjpeg_race(settle=False))  # reproduced where it happens
    assert nvjpeg_race(settle=True) == 0


@CUDA
def test_decode_falls_back_to_the_cpu_only_where_nvjpeg_cannot(
    monkeypatch: pytest.MonkeyPatch, record_property: Any
) -> None:
    cases = {  # name: (bytes, mode, CPU decodes expected for the two copies; None: recorded, not asserted)
        "baseline": (encode(make_image(0, size=(64, 48)), quality=90), "RGB", 0),
        "grey": (encode(make_image(1, size=(40, 40)).convert("L"), quality=90), "L", 0),
        "444": (encode(make_image(4, size=(64, 48)), quality=90, subsampling=0), "RGB", 0),
        "cmyk": (encode(make_image(2).convert("CMYK")), "RGB", 2),
        "png": (encode(make_image(3), "PNG"), "RGB", 2),
        "progressive": (encode(make_image(5, size=(64, 48)), quality=90, progressive=True), "RGB", None),
    }
    spied: list[bytes] = []
    real = D._cpu_decode

    def spy(raw: bytes, meta: Any) -> torch.Tensor:
        spied.append(raw)
        return real(raw, meta)

    monkeypatch.setattr(D, "_cpu_decode", spy)
    for name, (data, mode, expected) in cases.items():
        spied.clear()
        enc, _ = encoded_collate([(data, 0), (data, 1)])
        enc = enc._replace(modes=(mode, mode))
        out = decode_batch(enc, "cuda")
        ref = decode_tensor(data, mode)
        h, w = ref.shape[-2:]
        assert (out.images[0, : ref.shape[0], :h, :w].cpu().int() - ref.int()).abs().float().mean() < 1.0
        if expected is None:
            record_property(f"{name}_cpu_decodes", len(spied))
        else:
            assert len(spied) == expected, name  # no silent CPU fallback for what nvJPEG decodes


@CUDA
def test_decode_device_errors_raise_instead_of_falling_back(monkeypatch: pytest.MonkeyPatch) -> None:
    import torchvision.io

    def oom(*args: Any, **kwargs: Any) -> Any:
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    spied = []
    monkeypatch.setattr(torchvision.io, "decode_jpeg", oom)
    monkeypatch.setattr(D, "_cpu_decode", lambda raw, meta: spied.append(raw))
    monkeypatch.setattr(D, "_WARNED", set())
    enc, _ = encoded_collate([(encode(make_image(i)), i) for i in range(2)])
    with pytest.warns(RuntimeWarning, match="not falling back"), pytest.raises(torch.cuda.OutOfMemoryError):
        decode_batch(enc, "cuda")
    assert spied == []


@CUDA
def test_random_numbers_give_the_same_batches_on_cpu_and_cuda() -> None:
    batch, _ = _padded(8)
    jitter = BatchColorJitter(0.4, 0.4, 0.4, 0.1)
    cpu = jitter(batch.images, torch.Generator().manual_seed(1))
    gpu = jitter(batch.images.cuda(), torch.Generator().manual_seed(1))  # a CPU generator, CUDA images
    assert (gpu.cpu().int() - cpu.int()).abs().max() <= 2
    erase = RandomErasing(1.0, mode="pixel", max_count=2, paste="masks")
    x = torch.randn(8, 3, 20, 24)
    params = erase.make_params(x, np.random.default_rng(0))
    assert torch.equal(erase.apply(x, params), erase.apply(x.cuda(), params).cpu())


@CUDA
def test_crop_is_unaffected_by_tf32() -> None:
    batch = _padded(8)[0]
    boxes = sample_crop_boxes(batch.sizes, generator=torch.Generator().manual_seed(0))
    cpu = resized_crop(batch.images, boxes, 24, "bicubic", out_dtype=torch.float32)
    prev = torch.get_float32_matmul_precision()
    try:
        torch.set_float32_matmul_precision("high")  # TF32 allowed, as training scripts often do
        high = resized_crop(batch.images.cuda(), boxes, 24, "bicubic", out_dtype=torch.float32)
        torch.set_float32_matmul_precision("highest")
        highest = resized_crop(batch.images.cuda(), boxes, 24, "bicubic", out_dtype=torch.float32)
    finally:
        torch.set_float32_matmul_precision(prev)
    assert torch.equal(high, highest)
    assert (high.cpu() - cpu).abs().max() < 0.01  # float32 rounding; TF32 would be off by tenths of a level


@CUDA
@pytest.mark.parametrize("decode_on", ["worker", "device"])
def test_device_loader_on_cuda_matches_cpu(tmp_path: Any, decode_on: str) -> None:
    from pixelpipe import ImageDataset, create_loader

    root = tmp_path / "imgs"
    for c in range(2):
        (root / f"c{c}").mkdir(parents=True)
        for i in range(4):
            make_image(10 * c + i, size=(60 + 4 * i, 48)).save(root / f"c{c}" / f"{i}.jpg", quality=90)
    kw: dict[str, Any] = dict(
        is_training=True, re_prob=0.5, re_mode="pixel", color_jitter=None, augment_on="device", seed=3
    )
    cpu = create_loader(ImageDataset(str(root)), (3, 32, 32), 4, num_workers=0, device="cpu", **kw)
    gpu = create_loader(
        ImageDataset(str(root)), (3, 32, 32), 4, num_workers=0, device="cuda", decode_on=decode_on, **kw
    )
    assert gpu.loader.pin_memory  # pinned by default on the device path
    tol = 0.02 if decode_on == "worker" else 0.05  # nvJPEG's IDCT and upsampling differ from libjpeg's
    for (xa, ya), (xb, yb) in zip(cpu, gpu):
        assert torch.equal(ya, yb.cpu())
        assert (xa - xb.cpu()).abs().mean() < tol
