"""Every script in examples/ runs on tiny generated data."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest
import torch

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pets_custom_reader(capsys):
    result = _load("pets_custom_reader").main(["--img-size", "32"])
    assert result["len"] == 12
    assert result["classes"] == {"Abyssinian": 0, "great_pyrenees": 1}
    assert result["shape"] == (4, 3, 32, 32)
    assert "first batch" in capsys.readouterr().out


def test_imagenette_tar_keeps_splits_and_trains(tmp_path, capsys):
    module = _load("imagenette_tar")
    tar = module.make_tar(tmp_path / "tiny.tar", per_class=4, size=32, classes=("circle", "square", "star"))
    argv = ["--data", tar, "--img-size", "32", "--epochs", "1", "--batch-size", "4", "--workers", "0"]
    result = module.main(argv)
    # 4 per class under train/, max(4 // 4, 2) = 2 per class under val/: the splits are not mixed
    assert (result["train"], result["val"], result["classes"]) == (12, 6, 3)
    assert len(result["losses"]) == 3 and all(math.isfinite(v) for v in result["losses"])
    assert 0.0 <= result["accuracy"] <= 1.0
    assert "val accuracy" in capsys.readouterr().out


def test_plain_pytorch_loop_with_resnet18_and_mixup(capsys):
    argv = ["--per-class", "2", "--img-size", "32", "--batch-size", "4", "--epochs", "1", "--steps", "2"]
    result = _load("plain_pytorch_loop").main([*argv, "--workers", "0"])
    assert result["classes"] == 5
    assert result["batch"] == (4, 3, 32, 32)
    assert result["soft_targets"] == (4, 5)  # Mixup/CutMix soft targets
    assert len(result["losses"]) == 2 and all(math.isfinite(v) for v in result["losses"])
    assert "val accuracy" in capsys.readouterr().out


def test_soft_target_cross_entropy_matches_hard_labels():
    module = _load("plain_pytorch_loop")
    logits, labels = torch.randn(6, 4), torch.tensor([0, 1, 2, 3, 0, 1])
    soft = torch.nn.functional.one_hot(labels, 4).float()
    expected = torch.nn.functional.cross_entropy(logits, labels)
    assert torch.allclose(module.soft_target_cross_entropy(logits, soft), expected)


def test_augmix_jsd_splits_and_loss(capsys):
    module = _load("augmix_jsd")
    result = module.main(["--img-size", "32", "--batch-size", "4", "--steps", "2", "--workers", "0"])
    assert result["batch"] == (12, 3, 32, 32)  # 3 splits of 4, split-major
    clean, aug1, aug2 = result["views"]
    assert not torch.equal(clean, aug1) and not torch.equal(aug1, aug2)
    assert len(result["history"]) == 2
    assert all(math.isfinite(ce) and js >= 0 for ce, js in result["history"])
    assert "secondary: AugMixAugment" in capsys.readouterr().out


def test_jensen_shannon_divergence():
    js = _load("augmix_jsd").jensen_shannon
    a = torch.tensor([[2.0, 0.0, -1.0]])
    assert float(js([a, a, a])) == pytest.approx(0.0, abs=1e-7)
    # two one-hot-like distributions that disagree completely: JS -> log 2
    big = torch.tensor([[50.0, 0.0]]), torch.tensor([[0.0, 50.0]])
    assert float(js(big)) == pytest.approx(math.log(2), rel=1e-4)
    p = torch.softmax(a, -1)[0]
    q = torch.softmax(torch.tensor([0.0, 1.0, 0.5]), -1)
    m = (p + q) / 2
    expected = 0.5 * (p * (p / m).log()).sum() + 0.5 * (q * (q / m).log()).sum()
    assert float(js([a, torch.tensor([[0.0, 1.0, 0.5]])])) == pytest.approx(float(expected), rel=1e-5)


def test_distributed_shards_two_ranks_with_torchrun():
    import os
    import re
    import subprocess
    import sys

    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    cmd += [str(EXAMPLES / "distributed_shards.py"), "--epochs", "2", "--img-size", "24", "--per-class", "6"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    out = result.stdout
    assert "2 ranks" in out
    # 30 samples in shards of 4 over 2 ranks x 1 worker, batch 8: every rank the same whole batches
    summaries = re.findall(r"epoch (\d)/2: samples per rank \[(\d+), (\d+)\] \(equal\), loss ([\d.]+)", out)
    assert [s[0] for s in summaries] == ["1", "2"]
    assert all(s[1] == s[2] and int(s[1]) > 0 for s in summaries)
    assert len(re.findall(r"rank [01] epoch \d/2: \d+ samples, loss", out)) == 4
