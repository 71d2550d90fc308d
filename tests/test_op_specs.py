"""The op spec (pixelpipe.ops): one registry, every table derived from it, one torch implementation per op."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import make_image
from pixelpipe.augment.ops import AugmentOp
from pixelpipe.batch import ops as D
from pixelpipe.batch._sample import LEVELS
from pixelpipe.batch.augment import _INT_ARG_OPS
from pixelpipe.ops import KINDS, OP_NAMES, OPS, OpKind, get_op_spec
from pixelpipe.ops._image import apply_image

# the ops the reference defines (timm auto_augment's NAME_TO_OP), which the registry must keep
REFERENCE_OPS = {
    "AutoContrast", "Equalize", "Invert", "Rotate", "Posterize", "PosterizeIncreasing", "PosterizeOriginal",
    "Solarize", "SolarizeIncreasing", "SolarizeAdd", "Color", "ColorIncreasing", "Contrast",
    "ContrastIncreasing", "Brightness", "BrightnessIncreasing", "Sharpness", "SharpnessIncreasing", "ShearX",
    "ShearY", "TranslateX", "TranslateY", "TranslateXRel", "TranslateYRel", "Desaturate", "GaussianBlur",
    "GaussianBlurRand",
}  # fmt: skip


def test_registry_holds_every_op_once():
    assert set(OP_NAMES) == REFERENCE_OPS and len(OP_NAMES) == len(REFERENCE_OPS)
    assert all(get_op_spec(n) is OPS[n] for n in OP_NAMES)


def test_tables_are_derived_from_the_specs():
    assert dict(KINDS) == D.KERNELS and set(D.KERNELS) == {s.fn for s in OPS.values()}
    assert set(D.GEOMETRIC_KINDS) == {s.fn for s in OPS.values() if s.geometric}
    assert set(LEVELS) == set(OPS)
    # the ops whose argument the batched policies hand to the per-sample path as an int (was a literal)
    int_ops = {"Posterize", "PosterizeIncreasing", "PosterizeOriginal", "Solarize", "SolarizeIncreasing"}
    assert {*int_ops, "SolarizeAdd"} == _INT_ARG_OPS
    assert [n for n, s in OPS.items() if s.redraw is not None] == ["GaussianBlurRand"]


@pytest.mark.parametrize("kind", list(KINDS.values()), ids=list(KINDS))
def test_every_kind_has_its_kernels(kind: OpKind):
    assert callable(kind.pil)
    if kind.geometric:
        assert kind.batched is None and kind.matrix is not None
        m = kind.matrix(torch.tensor([0.25, -0.5], dtype=torch.float64), 10, 20)
        assert m.shape == (2, 6) and m.dtype == torch.float64
        assert kind.matrix(0.25, 10, 20) == tuple(m[0].tolist())  # numbers and tensors: the same matrix
    else:
        assert callable(kind.batched) and kind.matrix is None


def test_scalar_levels_keep_the_reference_types():
    for name in ("Posterize", "SolarizeIncreasing", "SolarizeAdd"):
        assert isinstance(OPS[name].level(7.3, {}, 1.0), int), name
        params = AugmentOp(name, 1.0, 7.3).make_params(None, np.random.default_rng(0))
        assert isinstance(params.arg, int), name


@pytest.mark.parametrize("name", sorted(KINDS))
def test_per_image_path_without_cpu_kernel_is_the_batched_kernel(name: str):
    """Images the per-image CPU kernels do not take (2 or 4 channels) run the batched kernel at batch size 1
    and equal it run on the whole batch."""
    kind = KINDS[name]
    imgs = [np.asarray(make_image(s, (15, 12), "RGBA")) for s in range(3)]
    batch = torch.stack([torch.from_numpy(a.transpose(2, 0, 1).copy()) for a in imgs])
    arg = {"posterize": 3, "solarize": 100, "solarize_add": 40}.get(name, 0.3 if kind.geometric else 1.4)
    host = torch.full((3,), arg, dtype=kind.arg_dtype or torch.float64)
    if kind.geometric:
        whole = D.affine_batch(batch, D.affine_matrices(name, host, *batch.shape[-2:]), 7, "bilinear")
    else:
        assert kind.batched is not None
        static = kind.host_static(host) if kind.host_static else {}
        whole = kind.batched(batch, host, **static)
    for i in range(3):
        assert torch.equal(apply_image(kind, batch[i], arg, 7, "bilinear"), whole[i]), (name, i)


def test_invert_and_nearest_have_no_cpu_kernel():
    """Measured: the batched kernel at batch size 1 is as fast (ARCHITECTURE.md, "The op spec")."""
    img = torch.from_numpy(np.asarray(make_image(1, (16, 9))).transpose(2, 0, 1).copy())
    assert KINDS["invert"].cpu is None
    for name in ("rotate", "shear_x", "translate_y"):
        kind = KINDS[name]
        assert kind.cpu is not None and kind.cpu(img, 0.3, 0, "nearest") is None
