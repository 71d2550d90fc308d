"""The GPU probe's CPU smoke run (``benchmarks/gpu_probe.py --cpu``), so CI keeps it working."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

PROBE = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_probe.py"


def _probe():
    spec = importlib.util.spec_from_file_location("gpu_probe", PROBE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_probe_cpu_smoke_run(tmp_path: Path) -> None:
    assert _probe().main(["--cpu", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "probe.json").read_text())
    sections = report["sections"]
    assert set(sections) == {
        "syncs_per_batch",
        "nvjpeg_race",
        "decode_vs_cpu",
        "resnet50_steps",
        "cpu_vs_cuda_pixels",
    }
    assert not any("error" in s for s in sections.values())
    decode = sections["decode_vs_cpu"]
    assert {"truncated", "progressive", "444", "grey", "cmyk"} <= set(decode)
    assert any(k.startswith("large_") for k in decode)
    assert sections["resnet50_steps"]["device_path"]["ms_per_step"] > 0
    assert (tmp_path / "probe.md").read_text().startswith("# GPU probe")


def test_probe_refuses_to_run_on_a_machine_without_cuda_unless_told(tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(SystemExit):
        _probe().main(["--out", str(tmp_path)])
