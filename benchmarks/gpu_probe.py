"""The first-GPU probe: settles on a CUDA device what reading the code cannot (issue 19).

``python benchmarks/gpu_probe.py --out DIR`` (on a GPU, within 10 minutes) measures and writes to
``DIR/probe.json`` and ``DIR/probe.md``:

1. **syncs per batch**: host synchronisations counted with ``torch.cuda.set_sync_debug_mode('warn')``
   per batch of the prefetcher (normalise + erase), the device path (workers decode) and the device path
   with ``decode_on='device'`` (one designed sync before nvJPEG is expected there);
2. **the nvJPEG race**: victim tensors freed on a busy stream, then a batched nvJPEG decode on it, with
   and without :func:`pixelpipe.device.decode.settle_before_nvjpeg` (corrupted victims counted);
3. **decode against the CPU**: truncated, progressive, 4:4:4, grey, CMYK and 2400 px JPEGs through
   :func:`pixelpipe.device.decode_batch` on the device, against the CPU decoder (mean and max difference,
   whether the CPU fallback ran, errors);
4. **ms per step** of a ResNet-50 (``torchvision.models.resnet50(weights=None)``, nothing downloaded),
   fp16 autocast with ``GradScaler``, channels-last, batch 256 at 224 px: on ready-made device batches,
   behind the prefetcher (uint8 batches, normalise + erase) and behind the device path (padded uint8
   batches: crop, RandAugment, erasing, Mixup on the GPU), with the **peak memory** of each;
5. **CPU against CUDA pixels** of the device augmentation on the same parameters, with TF32 allowed
   (``torch.set_float32_matmul_precision('high')``) and not.

``--cpu`` runs every section on the CPU with small sizes (a smoke test, about a minute; what needs CUDA
says so in the report): ``tests/test_gpu_probe.py`` runs it in CI.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import platform
import resource
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT / "src"))

from pixelpipe import Mixup  # noqa: E402
from pixelpipe.device import DeviceAugment, PaddedBatch, decode_batch  # noqa: E402
from pixelpipe.device import decode as D  # noqa: E402
from pixelpipe.device.collate import encoded_collate  # noqa: E402
from pixelpipe.factories.device_loader import DevicePrefetchLoader  # noqa: E402
from pixelpipe.io import decode_tensor  # noqa: E402
from pixelpipe.loader import PrefetchLoader  # noqa: E402

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def _image(seed: int, w: int, h: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255 // max(w - 1, 1), yy * 255 // max(h - 1, 1), ((xx + yy) * 7) % 256], -1)
    arr = np.clip(base + rng.integers(0, 64, (h, w, 3)) - 32, 0, 255).astype(np.uint8)
    return Image.fromarray(arr, "RGB")


def _jpeg(img: Image.Image, **kw: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", **kw)
    return buf.getvalue()


@contextlib.contextmanager
def _sync_mode(mode: str, enabled: bool) -> Iterator[list[str]]:
    """Count host syncs (CUDA's sync debug mode, as warnings) inside the block."""
    seen: list[str] = []
    if not enabled:
        yield seen
        return
    prev = torch.cuda.get_sync_debug_mode()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode(mode)
        try:
            yield seen
        finally:
            torch.cuda.set_sync_debug_mode(prev)
    seen.extend(str(w.message).splitlines()[0] for w in caught if "synchroniz" in str(w.message).lower())


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _recipe(size: int, num_classes: int) -> DeviceAugment:
    mix = Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, mode="elem", num_classes=num_classes)
    return DeviceAugment(
        size,
        auto_augment="rand-m9-mstd0.5-inc1",
        re_prob=0.25,
        re_mode="pixel",
        mixup=mix,
        mean=MEAN,
        std=STD,
    )


def _padded(n: int, side: int, seed: int = 0) -> tuple[PaddedBatch, torch.Tensor]:
    rng = np.random.default_rng(seed)
    sizes = torch.from_numpy(rng.integers(side // 2, side + 1, (n, 2))).long()
    images = torch.from_numpy(rng.integers(0, 256, (n, 3, side, side), dtype=np.uint8))
    return PaddedBatch(images, sizes), torch.from_numpy(rng.integers(0, 10, n)).long()


# --- 1. syncs per batch ------------------------------------------------------------------------------------


def syncs_per_batch(device: torch.device, small: bool) -> dict[str, Any]:
    """Host syncs per batch on each path, after one warm-up batch (per-device constants)."""
    cuda = device.type == "cuda"
    n, side, batches = (8, 64, 2) if small else (64, 320, 4)
    out: dict[str, Any] = {"counted": cuda}
    pinned = (lambda t: t.pin_memory()) if cuda else (lambda t: t)
    # the prefetcher: normalise + batched erasing
    data = [(pinned(torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8)), torch.arange(n))] * (
        batches + 1
    )
    pf = PrefetchLoader(data, device=device, re_prob=0.25, re_mode="pixel")
    it = iter(pf)
    next(it)
    with _sync_mode("warn", cuda) as seen:
        for _ in it:
            pass
    out["prefetcher"] = {"syncs_per_batch": len(seen) / batches, "messages": sorted(set(seen))}
    # the device path, workers decode
    batch, targets = _padded(n, side)
    data = [(PaddedBatch(pinned(batch.images), batch.sizes), targets)] * (batches + 1)
    dp = DevicePrefetchLoader(data, _recipe(32 if small else 224, 10), device=device)
    it = iter(dp)
    next(it)
    with _sync_mode("warn", cuda) as seen:
        for _ in it:
            pass
    out["device_path"] = {"syncs_per_batch": len(seen) / batches, "messages": sorted(set(seen))}
    # decode_on='device'
    datas = [_jpeg(_image(i, side - 8 * (i % 4), side), quality=90) for i in range(n)]
    enc, y = encoded_collate([(d, i % 10) for i, d in enumerate(datas)])
    if cuda:
        enc = enc._replace(data=enc.data.pin_memory())
    dp = DevicePrefetchLoader([(enc, y)] * (batches + 1), _recipe(32 if small else 224, 10), device=device)
    it = iter(dp)
    next(it)
    with _sync_mode("warn", cuda) as seen:
        for _ in it:
            pass
    out["device_path_decode_on_device"] = {
        "syncs_per_batch": len(seen) / batches,
        "expected": "1 (settle_before_nvjpeg) plus any inside torchvision's decode",
        "messages": sorted(set(seen)),
    }
    return out


# --- 2. the nvJPEG race ---------------------------------------------------------------------------------


def nvjpeg_race(device: torch.device, small: bool) -> dict[str, Any]:
    """Corrupted victims with and without the settle before nvJPEG (0 = no race seen)."""
    if device.type != "cuda":
        return {"skipped": "needs CUDA (nvJPEG)"}
    import torchvision.io

    data = torch.frombuffer(bytearray(_jpeg(_image(0, 256, 256), quality=95)), dtype=torch.uint8)
    nbytes = 3 * 256 * 256
    result = {}
    for settle in (False, True):
        side = torch.cuda.Stream(device)
        corrupted = total = 0
        with torch.cuda.stream(side):
            for _ in range(16):
                victims = [torch.full((nbytes,), 7, dtype=torch.uint8, device=device) for _ in range(16)]
                torch.cuda._sleep(20_000_000)
                copies = [v.clone() for v in victims]
                del victims
                if settle:
                    D.settle_before_nvjpeg(device)
                torchvision.io.decode_jpeg([data] * 16, device=device)
                side.synchronize()
                corrupted += sum(int((c != 7).any()) for c in copies)
                total += len(copies)
        result["with_settle" if settle else "without_settle"] = {"corrupted": corrupted, "victims": total}
    return result


# --- 3. decode against the CPU ---------------------------------------------------------------------------


def decode_cases(device: torch.device, small: bool) -> dict[str, Any]:
    big = 600 if small else 2400
    base = _image(1, 320, 240)
    full = _jpeg(base, quality=90)
    cases = {
        "baseline_420": (full, "RGB"),
        "truncated": (full[: len(full) * 2 // 3], "RGB"),
        "progressive": (_jpeg(base, quality=90, progressive=True), "RGB"),
        "444": (_jpeg(base, quality=90, subsampling=0), "RGB"),
        "grey": (_jpeg(base.convert("L"), quality=90), "L"),
        "cmyk": (_jpeg(base.convert("CMYK"), quality=90), "RGB"),
        f"large_{big}px": (_jpeg(_image(2, big, big * 3 // 4), quality=90), "RGB"),
    }
    out: dict[str, Any] = {}
    real = D._cpu_decode
    for name, (data, mode) in cases.items():
        fell_back: list[int] = []

        def spy(raw: bytes, meta: Any, _fell: list[int] = fell_back) -> torch.Tensor:
            _fell.append(1)
            return real(raw, meta)

        D._cpu_decode = spy
        row: dict[str, Any] = {}
        try:
            try:
                ref = decode_tensor(data, mode)
                row["cpu"] = f"ok {tuple(ref.shape)}"
            except Exception as e:  # a truncated file may fail on the CPU too: recorded, not raised
                ref = None
                row["cpu"] = f"{type(e).__name__}: {str(e)[:120]}"
            enc, _ = encoded_collate([(data, 0)])
            enc = enc._replace(modes=(mode,))
            try:
                got = decode_batch(enc, device).images[0]
                _sync(device)
                row["device"] = f"ok {tuple(got.shape)}"
                if ref is not None:
                    h, w = ref.shape[-2:]
                    diff = (got[: ref.shape[0], :h, :w].cpu().int() - ref.int()).abs().float()
                    row["mean_abs_diff"] = round(float(diff.mean()), 4)
                    row["max_abs_diff"] = int(diff.max())
            except Exception as e:
                row["device"] = f"{type(e).__name__}: {str(e)[:120]}"
            row["cpu_fallback"] = bool(fell_back)
        finally:
            D._cpu_decode = real
        out[name] = row
    return out


# --- 4. ms per step and peak memory ------------------------------------------------------------------------


def training_steps(device: torch.device, small: bool) -> dict[str, Any]:
    import torchvision

    cuda = device.type == "cuda"
    b, size, side = (2, 32, 48) if small else (256, 224, 320)
    warm, timed = (1, 1) if small else (5, 20)
    model = torchvision.models.resnet50(weights=None, num_classes=1000).to(device)
    model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    amp_dtype = torch.float16  # fp16 with a GradScaler on CUDA; plain float32 on the CPU (smoke test)
    scaler = torch.amp.GradScaler(device.type, enabled=cuda)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step(x: torch.Tensor, y: torch.Tensor) -> None:
        with torch.autocast(device.type, dtype=amp_dtype, enabled=cuda):
            loss = loss_fn(model(x.contiguous(memory_format=torch.channels_last)), y)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)  # reads the inf check on the host: one sync per step, as in every AMP loop
        scaler.update()

    def run(name: str, batches: Callable[[], Iterator[tuple[torch.Tensor, torch.Tensor]]]) -> dict[str, Any]:
        if cuda:
            torch.cuda.reset_peak_memory_stats(device)
        it = batches()
        for _ in range(warm):
            step(*next(it))
        _sync(device)
        t0 = time.perf_counter()
        for _ in range(timed):
            step(*next(it))
        _sync(device)
        ms = (time.perf_counter() - t0) * 1000 / timed
        row: dict[str, Any] = {"ms_per_step": round(ms, 2), "batch": b, "size": size}
        if cuda:
            row["peak_allocated_GiB"] = round(torch.cuda.max_memory_allocated(device) / 2**30, 2)
            row["peak_reserved_GiB"] = round(torch.cuda.max_memory_reserved(device) / 2**30, 2)
        else:
            row["peak_rss_MiB"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        return row

    n = warm + timed
    ready = torch.randn(b, 3, size, size, device=device)
    labels = torch.randint(0, 1000, (b,), device=device)
    pin = (lambda t: t.pin_memory()) if cuda else (lambda t: t)
    u8 = pin(torch.randint(0, 256, (b, 3, size, size), dtype=torch.uint8))
    padded, targets = _padded(b, side)
    padded = PaddedBatch(pin(padded.images), padded.sizes)
    targets = targets.remainder(1000)
    aug = DeviceAugment(
        size,
        auto_augment="rand-m9-mstd0.5-inc1",
        re_prob=0.25,
        mixup=Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, mode="elem", num_classes=1000),
        mean=MEAN,
        std=STD,
    )

    def soft_ce(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.sum(-y * torch.log_softmax(x.float(), -1), -1).mean()

    out: dict[str, Any] = {}
    out["model_only"] = run("model_only", lambda: iter([(ready, labels)] * n))
    out["prefetcher"] = run(
        "prefetcher",
        lambda: iter(PrefetchLoader([(u8, labels.cpu())] * n, device=device, re_prob=0.25)),
    )
    plain = loss_fn
    loss_fn = soft_ce  # type: ignore[assignment]  # Mixup's soft targets
    out["device_path"] = run(
        "device_path", lambda: iter(DevicePrefetchLoader([(padded, targets)] * n, aug, device))
    )
    loss_fn = plain
    for k in ("prefetcher", "device_path"):
        out[k]["overhead_ms_per_step"] = round(out[k]["ms_per_step"] - out["model_only"]["ms_per_step"], 2)
    return out


# --- 5. CPU against CUDA pixels, TF32 on and off -------------------------------------------------------


def pixel_diffs(device: torch.device, small: bool) -> dict[str, Any]:
    n, side = (4, 64) if small else (32, 320)
    batch, _ = _padded(n, side, seed=3)
    aug = DeviceAugment(
        32 if small else 224, auto_augment="rand-m9-mstd0.5-inc1", interpolation="random", color_jitter=None
    )
    params = aug.sample(batch.sizes, torch.Generator().manual_seed(0))
    cpu = aug.apply_uint8(batch.images, params).int()
    out: dict[str, Any] = {}
    prev = torch.get_float32_matmul_precision()
    try:
        for setting in ("highest", "high"):
            torch.set_float32_matmul_precision(setting)
            got = aug.apply_uint8(batch.images.to(device), params).cpu().int()
            diff = (got - cpu).abs().float()
            out[f"matmul_precision_{setting}"] = {
                "tf32_allowed": setting != "highest",
                "mean_abs_diff": round(float(diff.mean()), 4),
                "max_abs_diff": int(diff.max()),
                "share_off_by_more_than_1": round(float((diff > 1).float().mean()), 5),
            }
    finally:
        torch.set_float32_matmul_precision(prev)
    return out


SECTIONS: dict[str, Callable[[torch.device, bool], dict[str, Any]]] = {
    "syncs_per_batch": syncs_per_batch,
    "nvjpeg_race": nvjpeg_race,
    "decode_vs_cpu": decode_cases,
    "resnet50_steps": training_steps,
    "cpu_vs_cuda_pixels": pixel_diffs,
}


def _environment(device: torch.device) -> dict[str, Any]:
    import torchvision

    env = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "device": str(device),
    }
    if device.type == "cuda":
        env["gpu"] = torch.cuda.get_device_name(device)
    return env


def _markdown(report: dict[str, Any]) -> str:
    lines = ["# GPU probe", "", f"Environment: `{json.dumps(report['environment'])}`", ""]
    for name, result in report["sections"].items():
        lines += [f"## {name}", "", "```json", json.dumps(result, indent=2), "```", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for probe.json and probe.md")
    parser.add_argument("--cpu", action="store_true", help="run on the CPU with small sizes (smoke test)")
    parser.add_argument("--only", nargs="*", choices=sorted(SECTIONS), help="run only these sections")
    args = parser.parse_args(argv)
    if not args.cpu and not torch.cuda.is_available():
        parser.error("no CUDA device: pass --cpu for the smoke test")
    device = torch.device("cpu") if args.cpu else torch.device("cuda")
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"environment": _environment(device), "sections": {}}
    failed = 0
    for name, fn in SECTIONS.items():
        if args.only and name not in args.only:
            continue
        t0 = time.perf_counter()
        try:
            result = fn(device, args.cpu)
        except Exception as e:  # one section's failure is a finding, not the end of the probe
            failed += 1
            result = {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()[-2000:]}
        result["seconds"] = round(time.perf_counter() - t0, 1)
        report["sections"][name] = result
        print(f"{name}: {json.dumps(result)[:600]}", flush=True)
        (out_dir / "probe.json").write_text(json.dumps(report, indent=2))
        (out_dir / "probe.md").write_text(_markdown(report))
    print(f"wrote {out_dir / 'probe.json'} and {out_dir / 'probe.md'}; {failed} section(s) failed")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
