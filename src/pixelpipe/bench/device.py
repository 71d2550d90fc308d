"""Device-side augmentation benchmark: images per second per CPU core, and the device's time per batch.

The full training recipe (``rand-m9-mstd0.5-inc1``, random resized crop to 224, flip, ``re_prob=0.25``,
Mixup 0.8 / CutMix 1.0, label smoothing 0.1) is timed two ways from the same JPEG bytes:

* CPU path (the reference, timm, and pixelpipe's own ``augment_on='cpu'``): every image is decoded and
  augmented by a worker; the CPU time per image, on one thread, gives the images per second one CPU core
  sustains. (The reference's normalisation, erasing and Mixup run in the prefetcher on the GPU and are
  not counted.)
* device path (``augment_on='device'``): a worker only decodes
  (:class:`~pixelpipe.factories.device_loader.DecodeOnly`) or only reads bytes
  (:class:`~pixelpipe.factories.device_loader.ReadBytes`, then nvJPEG); the whole augmentation runs on
  the batch (:class:`~pixelpipe.device.DeviceAugment`). Per CPU core: the worker's CPU time per image plus
  the main process's CPU time per image for the device work (launching kernels on a GPU; doing all of it
  on a CPU). On CUDA the device's own time per batch is measured with CUDA events.

With ``--resnet`` (CUDA only) a torchvision ResNet-50 (random weights, nothing downloaded) trains at batch
``--batch-size`` (bf16 autocast, channels-last, SGD) on a fixed batch, with and without running the device
augmentation on a decoded batch before each step: the difference is the augmentation's share of a step.

Without a GPU every number is a CPU number and is labelled so. ``--write`` records the table in
``benchmarks/results/device_<machine>.md``.

    pixelpipe bench --augment-on device --quick
    python benchmarks/bench_device.py --resnet --write     # on a GPU machine
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .data import jpeg_set

__all__ = ["RECIPE", "add_arguments", "main", "run"]

#: The training recipe, as ``create_loader`` / ``create_transform`` arguments.
RECIPE: dict[str, Any] = dict(is_training=True, auto_augment="rand-m9-mstd0.5-inc1", interpolation="bilinear")
RE_PROB = 0.25
MIXUP: dict[str, Any] = dict(mixup_alpha=0.8, cutmix_alpha=1.0, label_smoothing=0.1, num_classes=1000)
SIZE = 224
_REPO = Path(__file__).resolve().parents[3]


@dataclass
class Result:
    """Per-image CPU seconds of each stage and the device's seconds per batch (``None``: not measured)."""

    device: str
    batch: int
    n_images: int
    ref_worker: float | None = None
    cpu_worker: float | None = None
    decode_worker: float | None = None
    bytes_worker: float | None = None
    aug_host: float | None = None
    aug_device_batch: float | None = None
    nvjpeg_host: float | None = None
    nvjpeg_device_batch: float | None = None
    resnet_step: float | None = None
    resnet_step_aug: float | None = None
    notes: list[str] = field(default_factory=list)


def _per_image(fn: Callable[[bytes], Any], images: list[bytes], rounds: int) -> float:
    """Median CPU seconds per image of ``fn`` over ``rounds`` passes (after a short warm-up)."""
    for data in images[:4]:
        fn(data)
    times = []
    for _ in range(rounds):
        start = time.process_time()
        for data in images:
            fn(data)
        times.append((time.process_time() - start) / len(images))
    return statistics.median(times)


def _reference_worker() -> Callable[[bytes], Any]:
    import io

    from PIL import Image
    from timm.data import create_transform

    tf = create_transform(SIZE, use_prefetcher=True, **RECIPE)

    def run(data: bytes) -> Any:
        img = Image.open(io.BytesIO(data)).convert("RGB")
        for _ in range(7):
            try:
                return tf(img)
            except ValueError:  # the reference's Posterize(0 bits) crash on Pillow >= 12: draw again
                continue
        return tf(img)

    return run


def _cpu_worker() -> Callable[[bytes], Any]:
    from ..factories import create_transform
    from ..io import EncodedImage
    from ..transforms.decode_crop import fuse_decode

    tf = fuse_decode(create_transform(SIZE, use_prefetcher=True, **RECIPE))
    return lambda data: tf(EncodedImage(data))


def _device_augment() -> Any:
    from ..batch import Mixup
    from ..device import DeviceAugment

    return DeviceAugment(SIZE, re_prob=RE_PROB, mixup=Mixup(**MIXUP), **RECIPE)


def _padded_batch(images: list[bytes], batch: int, device: Any) -> Any:
    from ..device import PaddedBatch
    from ..device.collate import pad_images
    from ..factories.device_loader import DEFAULT_MAX_SIDE, DecodeOnly
    from ..io import EncodedImage

    step = DecodeOnly(max_side=DEFAULT_MAX_SIDE)
    decoded = [step(EncodedImage(images[i % len(images)])) for i in range(batch)]
    out = pad_images(decoded, multiple=32)
    return PaddedBatch(out.images.to(device), out.sizes)


def _time_augment(aug: Any, batch: Any, targets: Any, rounds: int, cuda: bool) -> tuple[float, float | None]:
    """(main-process CPU seconds per batch, device seconds per batch or None)."""
    import torch

    from ..base import BatchDesc

    def once(seed: int) -> None:
        params = aug.make_params(BatchDesc.of(batch.images, batch.sizes), torch.Generator().manual_seed(seed))
        aug.apply(batch.images, params, targets)

    once(0)
    if cuda:
        torch.cuda.synchronize()
    host, dev = [], []
    for r in range(rounds):
        if cuda:
            start_ev, end_ev = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start_ev.record()
        t0 = time.process_time()
        once(r + 1)
        host.append(time.process_time() - t0)
        if cuda:
            end_ev.record()
            torch.cuda.synchronize()
            dev.append(start_ev.elapsed_time(end_ev) / 1000.0)
    return statistics.median(host), (statistics.median(dev) if cuda else None)


def _time_nvjpeg(images: list[bytes], batch: int, rounds: int) -> tuple[float, float]:
    import torch

    from ..device.collate import encoded_collate
    from ..device.decode import decode_batch

    enc, _ = encoded_collate([(images[i % len(images)], 0) for i in range(batch)])
    decode_batch(enc, "cuda", multiple=32)
    torch.cuda.synchronize()
    host, dev = [], []
    for _ in range(rounds):
        start_ev, end_ev = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start_ev.record()
        t0 = time.process_time()
        decode_batch(enc, "cuda", multiple=32)
        host.append(time.process_time() - t0)
        end_ev.record()
        torch.cuda.synchronize()
        dev.append(start_ev.elapsed_time(end_ev) / 1000.0)
    return statistics.median(host), statistics.median(dev)


def _time_resnet(aug: Any, batch: Any, targets: Any, steps: int) -> tuple[float, float]:
    """Seconds per ResNet-50 training step without and with the device augmentation before it."""
    import torch
    import torchvision

    from ..base import BatchDesc

    model = torchvision.models.resnet50(weights=None).cuda().to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    desc = BatchDesc.of(batch.images, batch.sizes)

    def params_for(seed: int) -> Any:
        return aug.make_params(desc, torch.Generator().manual_seed(seed))

    x_fixed, y_fixed = aug.apply(batch.images, params_for(0), targets)

    def step(x: torch.Tensor, y: torch.Tensor) -> None:
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = torch.sum(
                -y * torch.log_softmax(model(x.contiguous(memory_format=torch.channels_last)), -1), -1
            )
        opt.zero_grad(set_to_none=True)
        loss.mean().backward()
        opt.step()

    def timed(with_aug: bool) -> float:
        for i in range(3):  # warm-up (cuDNN autotuning, allocator)
            step(*(aug.apply(batch.images, params_for(i), targets) if with_aug else (x_fixed, y_fixed)))
        torch.cuda.synchronize()
        start_ev, end_ev = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start_ev.record()
        for i in range(steps):
            if with_aug:
                x, y = aug.apply(batch.images, params_for(100 + i), targets)
            else:
                x, y = x_fixed, y_fixed
            step(x, y)
        end_ev.record()
        torch.cuda.synchronize()
        return start_ev.elapsed_time(end_ev) / 1000.0 / steps

    without = timed(False)
    with_aug = timed(True)
    return without, with_aug


def measure(args: argparse.Namespace, progress: Callable[[str], None] = lambda s: None) -> Result:
    """Run every measurement the machine allows (see the module docs)."""
    import torch

    from .. import rng as prng
    from ..factories.device_loader import ReadBytes
    from ..io import EncodedImage

    cuda = torch.cuda.is_available() and not args.cpu
    dev = torch.device("cuda" if cuda else "cpu")
    n = args.images or (32 if args.quick else 128)
    rounds = args.rounds or (2 if args.quick else 5)
    batch = args.batch_size or (256 if cuda else (32 if args.quick else 64))
    images = jpeg_set("imagenet", n=n, photos=args.photos)
    res = Result(device=torch.cuda.get_device_name() if cuda else "cpu", batch=batch, n_images=n)
    prng.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one core: per-core numbers, and the prefetcher runs on one thread too
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            progress("reference (timm) worker")
            try:
                res.ref_worker = _per_image(_reference_worker(), images, rounds)
            except ImportError as e:
                res.notes.append(f"reference unavailable ({type(e).__name__}: {e})")
            progress("pixelpipe CPU worker")
            res.cpu_worker = _per_image(_cpu_worker(), images, rounds)
            progress("decode-only worker")
            from ..factories.device_loader import DEFAULT_MAX_SIDE, DecodeOnly

            decode = DecodeOnly(max_side=DEFAULT_MAX_SIDE)
            res.decode_worker = _per_image(lambda d: decode(EncodedImage(d)), images, rounds)
            read = ReadBytes()
            res.bytes_worker = _per_image(lambda d: read(EncodedImage(d)), images, rounds)
            progress(f"device augmentation, batch {batch} on {dev}")
            aug = _device_augment()
            padded = _padded_batch(images, batch, dev)
            targets = torch.randint(0, 1000, (batch,), device=dev)
            host, device_time = _time_augment(aug, padded, targets, rounds, cuda)
            res.aug_host = host / batch
            res.aug_device_batch = device_time
            if cuda:
                progress("nvJPEG decode")
                h, d = _time_nvjpeg(images, batch, rounds)
                res.nvjpeg_host, res.nvjpeg_device_batch = h / batch, d
                if args.resnet:
                    progress("ResNet-50 steps")
                    res.resnet_step, res.resnet_step_aug = _time_resnet(
                        aug, padded, targets, 10 if args.quick else 30
                    )
            elif args.resnet:
                res.notes.append("ResNet-50 step overhead not measured: it needs a CUDA GPU")
    finally:
        torch.set_num_threads(threads)
    return res


def _rate(seconds: float | None) -> str:
    return "n/a" if not seconds else f"{1.0 / seconds:,.0f}"


def _ratio(seconds: float | None, ref: float | None) -> str:
    return "n/a" if not seconds or not ref else f"{ref / seconds:.1f}x"


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def report(res: Result) -> str:
    """The markdown report for a :class:`Result`."""
    import torch

    on_gpu = res.device != "cpu"
    where = f"GPU: {res.device}" if on_gpu else "no GPU: the device path runs on the CPU (labelled CPU below)"
    lines = [
        f"# Device-side augmentation benchmark ({datetime.date.today().isoformat()})",
        "",
        f"Machine: {_cpu_name()}, {os.cpu_count()} CPU threads; {where}. torch {torch.__version__}.",
        f"Recipe: RRC 224 + flip + `rand-m9-mstd0.5-inc1`, re_prob {RE_PROB}, Mixup 0.8 / CutMix 1.0; "
        f"{res.n_images} ImageNet-like JPEGs (~460x400); CPU time on one thread; device batch {res.batch}.",
        "",
        "| path | CPU s / image (workers + main) | images/s per CPU core | vs reference |",
        "|---|---:|---:|---:|",
    ]
    ref = res.ref_worker

    def row(name: str, seconds: float | None) -> None:
        cell = "n/a" if seconds is None else f"{seconds * 1e3:.2f} ms"
        lines.append(f"| {name} | {cell} | {_rate(seconds)} | {_ratio(seconds, ref)} |")

    row("reference (timm) CPU path: decode + augment per image in a worker", ref)
    row("pixelpipe CPU path (`augment_on='cpu'`)", res.cpu_worker)
    aug_where = "GPU kernel launches" if on_gpu else "augmentation on the CPU"
    if res.decode_worker is not None and res.aug_host is not None:
        row(f"device path, workers decode (+ main process: {aug_where})", res.decode_worker + res.aug_host)
    if res.bytes_worker is not None and res.nvjpeg_host is not None and res.aug_host is not None:
        row(
            "device path, workers read bytes, nvJPEG (+ main process)",
            res.bytes_worker + res.nvjpeg_host + res.aug_host,
        )
    lines += ["", "| stage | time |", "|---|---:|"]
    for name, value, unit in [
        ("decode-only worker step, CPU per image", res.decode_worker, "ms"),
        ("read-bytes worker step, CPU per image", res.bytes_worker, "ms"),
        (
            f"DeviceAugment, main-process CPU per image ({'launch' if on_gpu else 'all work, CPU'})",
            res.aug_host,
            "ms",
        ),
    ]:
        lines.append(f"| {name} | {'n/a' if value is None else f'{value * 1e3:.3f} {unit}'} |")
    if on_gpu:
        dev_batch = res.aug_device_batch
        lines.append(f"| DeviceAugment, GPU time per batch of {res.batch} (CUDA events) | "
                     f"{'n/a' if dev_batch is None else f'{dev_batch * 1e3:.2f} ms'} |")  # fmt: skip
        nv = res.nvjpeg_device_batch
        lines.append(f"| nvJPEG decode, GPU time per batch of {res.batch} | "
                     f"{'n/a' if nv is None else f'{nv * 1e3:.2f} ms'} |")  # fmt: skip
        if res.resnet_step is not None and res.resnet_step_aug is not None:
            extra = res.resnet_step_aug / res.resnet_step - 1.0
            lines.append(
                f"| ResNet-50 training step, batch {res.batch} (bf16), without / with DeviceAugment | "
                f"{res.resnet_step * 1e3:.1f} / {res.resnet_step_aug * 1e3:.1f} ms (+{extra:.1%}) |"
            )
    else:
        lines.append(
            "| GPU time per batch, ResNet-50 step overhead | not measured yet: no GPU was available |"
        )
    for note in res.notes:
        lines += ["", f"note: {note}"]
    return "\n".join(lines) + "\n"


def machine_label(res: Result) -> str:
    """``cpu``, or a short GPU name (``h100``, ``a100``, ...) for the results file name."""
    if res.device == "cpu":
        return "cpu"
    m = re.search(r"([A-Z]\d{2,4}|RTX ?\d{4}|GH\d+)", res.device)
    return (m.group(1) if m else res.device).lower().replace(" ", "")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The device benchmark's own flags (``--quick``, ``--images``, ``--rounds``, ``--photos`` are shared)."""
    parser.add_argument(
        "--augment-on",
        choices=("cpu", "device"),
        default="cpu",
        help="'device': benchmark the device-side augmentation path (pixelpipe.device) instead",
    )
    parser.add_argument("--batch-size", type=int, default=None, help="device batch (default 256 on CUDA)")
    parser.add_argument("--resnet", action="store_true", help="also time ResNet-50 steps (CUDA only)")
    parser.add_argument("--cpu", action="store_true", help="run the device path on the CPU even with a GPU")
    parser.add_argument(
        "--write", action="store_true", help="write benchmarks/results/device_<machine>.md (from a checkout)"
    )


def run(args: argparse.Namespace, out: TextIO | None = None) -> Result:
    """Measure, print the report to ``out`` and, with ``--write``, record it under ``benchmarks/results``."""
    out = sys.stdout if out is None else out
    for flag in ("rounds", "images", "batch_size"):
        value = getattr(args, flag, None)
        if value is not None and value < 1:
            raise ValueError(f"--{flag.replace('_', '-')} must be at least 1, got {value}")
    res = measure(args, progress=lambda s: print(f"... {s}", file=sys.stderr, flush=True))
    text = report(res)
    print(text, file=out)
    if getattr(args, "write", False):
        folder = _REPO / "benchmarks" / "results"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"device_{machine_label(res)}.md"
        path.write_text(text)
        print(f"wrote {path}", file=out)
    return res


def main(argv: Sequence[str] | None = None) -> int:
    """The benchmark as a stand-alone command (``python -m pixelpipe.bench.device``)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer images and rounds")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds (default 5)")
    parser.add_argument("--images", type=int, default=None, help="JPEGs (default 128)")
    parser.add_argument("--photos", default=None, help="folder of photos to cut the JPEGs from")
    add_arguments(parser)
    args = parser.parse_args(argv)
    args.augment_on = "device"
    try:
        run(args)
    except (ValueError, FileNotFoundError) as e:
        parser.error(str(e))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
