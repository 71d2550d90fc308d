"""Hostile and broken inputs (issue 8): broken files under both error policies on every decode path,
decompression bombs, unusual image modes on the PIL / tensor / fused paths, EXIF orientation, and tar
members that must never be read (links, devices, unsafe names, oversized members, pickled caches)."""

from __future__ import annotations

import io
import os
import pickle
import tarfile
import time
import warnings

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

import pixelpipe.io.decode as decode_mod
from _bad_inputs import (
    BOMBS,
    bad_files,
    bomb_jpeg,
    bomb_png,
    bomb_tiff,
    exif_image,
    frames,
    multi_frame,
    png16,
    png_of,
    write_mixed_shards,
    write_shard,
    ycck_jpeg,
)
from conftest import encode, make_image
from pixelpipe.datasets import ImageDataset, IterableImageDataset
from pixelpipe.errors import ConfigError, ImageDecodeError, ImageTooLargeError, SampleError
from pixelpipe.factories import create_dataset, create_transform
from pixelpipe.io import EncodedImage, decode_pil, decode_tensor, read_header, set_max_image_pixels
from pixelpipe.readers import ReaderImageInTar
from pixelpipe.streaming import ListShardSource, ShardStream
from pixelpipe.streaming.tar import TarShardSource, iter_tar_samples
from pixelpipe.transforms.decode_crop import fuse_decode

BACKENDS = ["pil", "tensor"]
DECODERS = [decode_pil, decode_tensor]


def _hwc(x) -> np.ndarray:
    """(H, W, C) int array from a PIL image or a (C, H, W) tensor."""
    if isinstance(x, torch.Tensor):
        return x.permute(1, 2, 0).numpy().astype(int)
    arr = np.asarray(x).astype(int)
    return arr[..., None] if arr.ndim == 2 else arr


def _train_pipe(size: int = 16):
    return fuse_decode(create_transform(size, is_training=True, use_prefetcher=True, scale=(0.5, 1.0)))


@pytest.fixture
def bad_folder(tmp_path):
    """One class folder: two good PNGs, then every bad file of the issue, then a good PNG, and a .txt."""
    root = tmp_path / "data"
    (root / "a").mkdir(parents=True)
    (root / "a" / "0_good.png").write_bytes(png_of(0))
    (root / "a" / "1_good.png").write_bytes(png_of(1))
    for name, data in bad_files().items():
        (root / "a" / f"2_{name}").write_bytes(data)
    (root / "a" / "3_good.png").write_bytes(png_of(3))
    (root / "a" / "readme.txt").write_text("text in a class folder: not an image extension, never listed\n")
    return root


# --------------------------------------------------------------------------------------------------------
# broken files: raise names the file, skip counts and delivers the rest


@pytest.mark.parametrize("fused", [False, True], ids=["dataset-decodes", "transform-decodes"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_broken_files_raise_and_skip(bad_folder, backend, fused):
    ds = ImageDataset(bad_folder, image_backend=backend)
    if fused:
        ds.transform = _train_pipe()
        assert ds.decodes_in_transform
    names = ds.filenames()
    assert not any(n.endswith(".txt") for n in names)
    bad = [i for i, n in enumerate(names) if "good" not in n]
    assert len(bad) == 4
    for i in bad:
        with pytest.raises(ImageDecodeError) as info:
            ds[i]
        assert info.value.index == i and info.value.filename == names[i]
        assert names[i] in str(info.value) and f"index {i}" in str(info.value)

    ds = ImageDataset(bad_folder, image_backend=backend, on_error="skip")
    if fused:
        ds.transform = _train_pipe()
    out = [ds[i] for i in range(len(ds))]
    assert len(out) == len(names)
    assert ds.num_skipped == 4
    report = ds.skip_report()
    assert {r.filename for r in report.records} == {names[i] for i in bad}
    assert {r.index for r in report.records} == set(bad)
    assert all(r.error_type == "ImageDecodeError" for r in report.records)


def test_broken_members_of_a_tar_name_the_member(tmp_path):
    path = tmp_path / "data.tar"
    with tarfile.open(path, "w") as tf:
        for name, data in [("a/0.png", png_of(0)), *((f"a/{k}", v) for k, v in bad_files().items())]:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    ds = ImageDataset(path)
    for i, name in enumerate(ds.filenames()):
        if name == "a/0.png":
            continue
        with pytest.raises(ImageDecodeError, match=rf"{name}.*index {i}"):
            ds[i]
    skip = ImageDataset(path, on_error="skip", image_backend="tensor")
    assert len([skip[i] for i in range(len(skip))]) == 5 and skip.num_skipped == 4


@pytest.mark.parametrize("backend", BACKENDS)
def test_broken_samples_in_shards_name_shard_and_key(tmp_path, backend):
    _, bad_keys = write_mixed_shards(tmp_path)
    ds = create_dataset("wds/", root=tmp_path, split="train", image_backend=backend)
    with pytest.raises(ImageDecodeError) as info:
        list(ds)
    err = info.value
    assert "train-0000" in str(err) and any(f"'{k}'" in str(err) for k in bad_keys)
    assert err.filename.rsplit("/", 1)[1] in bad_keys

    ds = create_dataset("wds/", root=tmp_path, split="train", image_backend=backend, on_error="skip")
    assert len(list(ds)) == 12 and ds.num_skipped == len(bad_keys) == 3
    report = ds.skip_report()
    assert {r.key for r in report.records} == bad_keys
    assert all(r.shard.endswith(".tar") and r.filename == f"{r.shard}/{r.key}" for r in report.records)


def test_broken_samples_in_a_shard_stream(tmp_path):
    bad = bad_files()
    shards = [[("ok0", png_of(0), 0), ("trunc", bad["truncated.jpg"], 1)], [("empty", b"", 2)]]
    stream = ShardStream(ListShardSource(shards, names=["one.tar", "two.tar"]), world_size=1)
    with pytest.raises(ImageDecodeError, match=r"'trunc' of shard 'one\.tar'"):
        list(IterableImageDataset(None, reader=stream))
    ds = IterableImageDataset(None, reader=stream, on_error="skip", image_backend="tensor")
    assert [t for _, t in ds] == [0, 0, 0]  # each bad sample replaced by the previous good one, whole
    assert [(r.shard, r.key) for r in ds.skip_report().records] == [
        ("one.tar", "trunc"),
        ("two.tar", "empty"),
    ]


# --------------------------------------------------------------------------------------------------------
# decompression bombs


@pytest.mark.parametrize("decode", DECODERS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("name", sorted(BOMBS))
def test_bomb_refused_before_decoding(decode, name):
    make, (w, h) = BOMBS[name]
    data = make()
    assert len(data) < 2000
    start = time.perf_counter()
    with pytest.raises(ImageTooLargeError) as info:
        decode(data, filename=f"x/{name}", index=4)
    assert time.perf_counter() - start < 1.0  # nothing was allocated for the declared size
    err = info.value
    assert (err.width, err.height, err.limit) == (w, h, decode_mod.DEFAULT_MAX_IMAGE_PIXELS)
    text = str(err)
    assert f"x/{name}" in text and "index 4" in text and f"{w} x {h}" in text and "178,956,970" in text
    assert isinstance(err, ImageDecodeError) and isinstance(err, OSError)
    clone = pickle.loads(pickle.dumps(err))  # crosses DataLoader worker queues with its details
    assert (clone.width, clone.height, clone.limit, clone.filename) == (w, h, err.limit, f"x/{name}")


@pytest.mark.parametrize("decode", DECODERS, ids=lambda f: f.__name__)
def test_bomb_in_a_format_pillow_reads(decode):
    with pytest.raises(ImageTooLargeError, match=r"'b\.tif'.*Pillow.*PIL\.Image\.MAX_IMAGE_PIXELS"):
        decode(bomb_tiff(), filename="b.tif")
    # under Pillow's refusal point, over pixelpipe's limit: Pillow opens it quietly, pixelpipe refuses
    with pytest.raises(
        ImageTooLargeError, match=r"10000 x 10000 = 100,000,000 pixels, over the limit of 1,000"
    ):
        decode(bomb_tiff(10000), max_image_pixels=1000)


def test_pixel_limit_is_configurable():
    data = encode(make_image(0, (48, 40)), "PNG")  # 1,920 pixels
    for decode in DECODERS:
        with pytest.raises(ImageTooLargeError, match="48 x 40 = 1,920 pixels, over the limit of 1,000"):
            decode(data, max_image_pixels=1000)
        assert _hwc(decode(data, max_image_pixels=1920)).shape == (40, 48, 3)
        assert _hwc(decode(data, max_image_pixels=None)).shape == (40, 48, 3)
        with pytest.raises(ConfigError, match="max_image_pixels"):
            decode(data, max_image_pixels=0)
    with pytest.raises(ImageTooLargeError):
        decode_pil(make_image(0, (48, 40)), max_image_pixels=1000)  # an opened PIL image is checked too
    try:
        set_max_image_pixels(1000)
        with pytest.raises(ImageTooLargeError):
            decode_tensor(data)
        built_under_low_limit = ImageDataset(None, reader=_OneImage(data))
    finally:
        set_max_image_pixels(decode_mod.DEFAULT_MAX_IMAGE_PIXELS)
    with pytest.raises(ImageTooLargeError):  # the dataset keeps the limit it was built with
        built_under_low_limit[0]
    assert ImageDataset(None, reader=_OneImage(data))[0][0].size == (48, 40)
    with pytest.raises(ConfigError, match="set_max_image_pixels"):
        set_max_image_pixels(-5)
    with pytest.raises(ConfigError, match="ImageDataset: max_image_pixels"):
        ImageDataset(None, reader=_OneImage(data), max_image_pixels=1.5)


class _OneImage:
    def __init__(self, data: bytes, name: str = "one.png") -> None:
        self.data, self.name = data, name

    def __len__(self):
        return 1

    def __getitem__(self, i):
        return io.BytesIO(self.data), 0

    def filename(self, i, basename=False, absolute=False):
        return self.name


def test_pillow_bomb_warning_never_leaks(monkeypatch):
    data = encode(make_image(0, (48, 40)), "PNG")  # 1,920 pixels
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1500)  # Pillow warns above 1,500, refuses above 3,000
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        decode_pil(data)
        decode_tensor(data)
        decode_pil(encode(make_image(0, (48, 40)), "TIFF"))  # header read by Pillow itself
        decode_pil(multi_frame("GIF"))
        pipe_out = _train_pipe()(EncodedImage(encode(make_image(0, (48, 40)), "JPEG")))
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]
    assert pipe_out.shape == (3, 16, 16)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 500)  # Pillow's own refusal point, 1,000, is lower
    with pytest.raises(ImageTooLargeError, match="refused by Pillow"):
        decode_pil(data, filename="big.png")


@pytest.mark.parametrize("backend", BACKENDS)
def test_bomb_through_dataset_and_loader_path(backend):
    class Reader:
        def __init__(self):
            self.files = {"ok.png": png_of(0), "bomb.jpg": bomb_jpeg(), "bomb.png": bomb_png()}

        def __len__(self):
            return 3

        def __getitem__(self, i):
            return io.BytesIO(list(self.files.values())[i]), i

        def filename(self, i, basename=False, absolute=False):
            return list(self.files)[i]

    for fused in (False, True):
        ds = ImageDataset(None, reader=Reader(), image_backend=backend)
        skip = ImageDataset(None, reader=Reader(), image_backend=backend, on_error="skip")
        if fused:
            ds.transform = skip.transform = _train_pipe()
        with pytest.raises(ImageTooLargeError, match=r"'bomb\.jpg', index 1\) declares 60000 x 60000"):
            ds[1]
        with pytest.raises(ImageTooLargeError, match=r"'bomb\.png', index 2\)"):
            ds[2]
        assert skip[1][1] == 0 and skip[2][1] == 0 and skip.num_skipped == 2
        assert [r.error_type for r in skip.skip_report().records] == ["ImageTooLargeError"] * 2


def test_bomb_in_a_stream_names_shard_and_key(tmp_path):
    write_shard(
        tmp_path / "s-0.tar", [("fine", {"png": png_of(1), "cls": b"1"}), ("big", {"png": bomb_png()})]
    )
    ds = IterableImageDataset(tmp_path, reader="wds/", split="s-{0..0}.tar", image_backend="tensor")
    with pytest.raises(ImageTooLargeError, match=r"'big' of shard .*s-0\.tar.*60000 x 60000") as info:
        list(ds)
    assert info.value.width == 60000 and info.value.filename.endswith("s-0.tar/big")


# --------------------------------------------------------------------------------------------------------
# image modes: the tensor path equals the PIL path, first frame of animations


def _mode_cases():
    rgb = make_image(5, (40, 24))
    grad = np.linspace(0, 65535, 24 * 40 * 3).round().astype(np.uint16).reshape(24, 40, 3)
    rgba = rgb.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(rgb.size))
    palette = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    yield "cmyk-jpeg", encode(rgb.convert("CMYK"), "JPEG", quality=95), 1
    yield "ycck-jpeg", ycck_jpeg(rgb), 1
    yield "grey-jpeg", encode(rgb.convert("L"), "JPEG"), 1
    yield "grey-png", encode(rgb.convert("L"), "PNG"), 0
    yield "16bit-grey-png", encode(Image.fromarray(grad[..., 0]), "PNG"), 0
    yield "16bit-rgb-png", png16(grad), 1
    yield "16bit-la-png", png16(grad[..., :2]), 1
    yield "i16-tiff", encode(Image.fromarray(grad[..., 0]), "TIFF"), 0
    yield "palette-transparent-png", encode(palette, "PNG", transparency=3), 0
    yield "la-png", encode(rgba.convert("LA"), "PNG"), 0
    yield "rgba-png", encode(rgba, "PNG"), 0
    yield "animated-gif", multi_frame("GIF"), 0
    yield "animated-png", multi_frame("PNG"), 0
    yield "animated-webp", multi_frame("WEBP", lossless=True), 0
    yield "multi-page-tiff", multi_frame("TIFF"), 0


MODE_CASES = list(_mode_cases())


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA"])
@pytest.mark.parametrize(("data", "tol"), [c[1:] for c in MODE_CASES], ids=[c[0] for c in MODE_CASES])
def test_tensor_path_equals_pil_path(data, tol, mode):
    p = decode_pil(data, mode)
    assert p.mode == mode
    t = decode_tensor(data, mode)
    assert t.dtype == torch.uint8 and t.shape[0] == len(mode)
    assert _hwc(t).shape == _hwc(p).shape
    assert np.abs(_hwc(t) - _hwc(p)).max() <= tol


@pytest.mark.parametrize("fmt", ["GIF", "PNG", "WEBP", "TIFF"])
def test_first_frame_of_animations(fmt):
    data = multi_frame(fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    first = np.asarray(frames()[0]).astype(int)
    tol = 3 if fmt == "GIF" else 0  # GIF frames go through a palette
    for decode in DECODERS:
        assert np.abs(_hwc(decode(data, "RGB")) - first).max() <= tol


def test_colour_conversions_are_right():
    rgb = make_image(5, (40, 24))
    ref = np.asarray(rgb).astype(int)
    for data in (encode(rgb.convert("CMYK"), "JPEG", quality=95), ycck_jpeg(rgb)):
        for decode in DECODERS:
            assert np.abs(_hwc(decode(data, "RGB")) - ref).mean() < 4  # JPEG error only, not inverted
    grad = np.linspace(0, 65535, 24 * 40 * 3).round().astype(np.uint16).reshape(24, 40, 3)
    expected = ((grad.astype(np.int64) * 255 + 32767) // 65535).astype(int)
    for decode in DECODERS:  # Pillow reads 16-bit RGB as its high bytes: within 1 of the rounded scaling
        assert np.abs(_hwc(decode(png16(grad), "RGB")) - expected).max() <= 1
    palette = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    data = encode(palette, "PNG", transparency=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # Pillow warns when palette transparency is mishandled
        got = _hwc(decode_tensor(data, "RGBA"))
    assert (got[..., 3] == 0).sum() == (np.asarray(palette) == 3).sum()


@pytest.mark.parametrize("name", ["cmyk-jpeg", "ycck-jpeg", "grey-jpeg"])
def test_fused_crop_path_equals_tensor_path(name):
    data = dict((c[0], c[1]) for c in MODE_CASES)[name]
    pipe = _train_pipe(16)
    assert EncodedImage(data).crop_decodable
    fused = pipe(EncodedImage(data), rng=np.random.default_rng(3))
    plain = pipe(decode_tensor(data, "RGB"), rng=np.random.default_rng(3))
    assert fused.shape == plain.shape == (3, 16, 16)
    assert torch.equal(fused, plain)
    grey = pipe(EncodedImage(data, mode="L"), rng=np.random.default_rng(3))  # not fused: decoded to L
    assert grey.shape == (1, 16, 16)


@pytest.mark.parametrize("name", ["cmyk", "ycck", "grey"])
def test_reduced_scale_fused_crop_keeps_colours(name):
    img = make_image(3, (1200, 900))
    data = {
        "cmyk": lambda: encode(img.convert("CMYK"), "JPEG", quality=95),
        "ycck": lambda: ycck_jpeg(img),
        "grey": lambda: encode(img.convert("L"), "JPEG", quality=95),
    }[name]()
    control = encode(img.convert("L").convert("RGB") if name == "grey" else img, "JPEG", quality=95)
    pipe = fuse_decode(create_transform(64, is_training=True, use_prefetcher=True, scale=(0.9, 1.0)))
    params = pipe.decode_crop.make_params(data, np.random.default_rng(0))
    assert params.scale == 8  # decoded at 1/8 scale
    got = pipe.decode_crop.apply(data, params).float()
    want = pipe.decode_crop.apply(control, params).float()  # the same crop of an RGB JPEG
    assert (got - want).abs().mean() < 2.0  # colours kept (an inverted CMYK would be ~100 off)


# --------------------------------------------------------------------------------------------------------
# EXIF orientation


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_transpose_both_paths(fmt, orientation):
    data = exif_image(orientation, fmt)
    assert fmt != "JPEG" or read_header(data).orientation == orientation
    expected = _hwc(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))
    stored = _hwc(Image.open(io.BytesIO(data)).convert("RGB"))
    for decode in DECODERS:
        assert np.abs(_hwc(decode(data, "RGB", exif_transpose=True)) - expected).max() <= 1
        assert np.abs(_hwc(decode(data, "RGB")) - stored).max() <= 1  # off by default
    assert _hwc(decode_tensor(data, "L", exif_transpose=True)).shape[:2] == expected.shape[:2]


@pytest.mark.parametrize("backend", BACKENDS)
def test_exif_transpose_option_of_datasets(tmp_path, backend):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "rotated.jpg").write_bytes(exif_image(6, size=(40, 24)))
    (tmp_path / "a" / "upright.jpg").write_bytes(exif_image(1, size=(40, 24)))
    default = ImageDataset(tmp_path, image_backend=backend)
    assert _hwc(default[0][0]).shape[:2] == (24, 40)
    on = create_dataset("", root=tmp_path, exif_transpose=True, image_backend=backend)
    assert on.exif_transpose and _hwc(on[0][0]).shape[:2] == (40, 24) and _hwc(on[1][0]).shape[:2] == (24, 40)
    with pytest.raises(ConfigError, match="exif_transpose must be True or False"):
        ImageDataset(tmp_path, exif_transpose="yes")


def test_exif_transpose_on_the_fused_crop_path(tmp_path):
    data = exif_image(6, size=(40, 24))
    assert EncodedImage(data).crop_decodable  # orientation ignored unless asked for
    enc = EncodedImage(data, exif_transpose=True)
    assert not enc.crop_decodable  # the crop window must be drawn on the rotated image
    assert EncodedImage(exif_image(1), exif_transpose=True).crop_decodable
    pipe = fuse_decode(create_transform(16, is_training=True, use_prefetcher=True, scale=(1.0, 1.0)))
    got = pipe(enc, rng=np.random.default_rng(0))
    want = pipe(decode_tensor(data, exif_transpose=True), rng=np.random.default_rng(0))
    assert torch.equal(got, want)
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "r.jpg").write_bytes(data)
    ds = ImageDataset(tmp_path, exif_transpose=True)
    ds.transform = fuse_decode(
        create_transform((20, 12), is_training=False, use_prefetcher=True, crop_pct=1.0)
    )
    assert ds.decodes_in_transform and ds[0][0].shape == (3, 20, 12)


# --------------------------------------------------------------------------------------------------------
# tar members: never read outside the archive, never extracted, size cap


def _add(tf: tarfile.TarFile, name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE, link: str = ""):
    ti = tarfile.TarInfo(name)
    ti.type, ti.linkname, ti.size = kind, link, len(data) if kind == tarfile.REGTYPE else 0
    tf.addfile(ti, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def test_tar_member_size_cap(tmp_path, caplog):
    path = tmp_path / "d.tar"
    small, big = png_of(1), png_of(2, size=(300, 300)) + b"\0" * 5000
    with tarfile.open(path, "w") as tf:
        _add(tf, "a/small.png", small)
        _add(tf, "a/big.png", big)
    assert len(ReaderImageInTar(path)) == 2  # the default cap (256 MiB) is generous
    r = ReaderImageInTar(path, max_member_bytes=len(small) + 1)
    assert r.filenames() == ["a/small.png"] and r.num_skipped_members == 1
    assert r.skipped_members[0][1] == "a/big.png" and "max_member_bytes" in r.skipped_members[0][2]
    assert "too large" in caplog.text
    assert len(ReaderImageInTar(path, max_member_bytes=None)) == 2
    # the cap applies after a cached scan too: the cache does not depend on it
    assert len(ReaderImageInTar(path, cache_tarinfo=True)) == 2
    assert len(ReaderImageInTar(path, cache_tarinfo=True, max_member_bytes=len(small) + 1)) == 1
    ds = create_dataset("", root=path, max_member_bytes=len(small) + 1, split="train")
    assert len(ds) == 1
    with pytest.raises(ConfigError, match="max_member_bytes must be an int >= 1"):
        ReaderImageInTar(path, max_member_bytes=0)


def test_stream_member_size_cap(tmp_path):
    big = png_of(2) + b"\0" * 4000
    write_shard(
        tmp_path / "s-0.tar", [("k0", {"png": png_of(0), "cls": b"0"}), ("k1", {"png": big, "cls": b"1"})]
    )
    fields = dict(iter_tar_samples(tmp_path / "s-0.tar", max_member_bytes=1000))
    assert isinstance(fields["k0"]["png"], bytes) and isinstance(fields["k1"]["png"], SampleError)
    src = TarShardSource([str(tmp_path / "s-0.tar")], max_member_bytes=1000)
    (_, v0, _), (_, v1, _) = list(src.iter_shard(0))
    assert isinstance(v0, dict) and isinstance(v1, SampleError) and "k1.png" in str(v1)
    opts = dict(reader="wds/", split="s-{0..0}.tar", max_member_bytes=1000)
    with pytest.raises(SampleError, match=r"'k1' of shard .*s-0\.tar.*over max_member_bytes"):
        list(IterableImageDataset(tmp_path, **opts))
    skip = IterableImageDataset(tmp_path, on_error="skip", **opts)
    assert [t for _, t in skip] == [0, 0] and skip.skip_report().records[0].key == "k1"
    assert [t for _, t in IterableImageDataset(tmp_path, reader="wds/", split="s-{0..0}.tar")] == [0, 1]


def test_stream_tar_never_follows_links_or_writes(tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(png_of(9))
    shard = tmp_path / "shards" / "s-0.tar"
    shard.parent.mkdir()
    with tarfile.open(shard, "w") as tf:
        _add(tf, "../up.png", png_of(1))
        _add(tf, "../up.cls", b"1")
        _add(tf, "ln.png", kind=tarfile.SYMTYPE, link=str(secret))
        _add(tf, "ln.cls", b"2")
        _add(tf, "hard.png", kind=tarfile.LNKTYPE, link="../up.png")
        _add(tf, "hard.cls", b"3")
        _add(tf, "dev.png", kind=tarfile.CHRTYPE)
        _add(tf, "dev.cls", b"4")
    ds = IterableImageDataset(shard.parent, reader="wds/", split="s-{0..0}.tar", on_error="skip")
    out = list(ds)
    assert [t for _, t in out] == [1, 1, 1, 1]  # only '../up' had an image member, read from the tar
    assert ds.num_skipped == 3 and all("none of the input members" in r.error for r in ds.skipped)
    assert sorted(os.listdir(tmp_path)) == ["secret.png", "shards"]  # nothing written anywhere


def test_reference_pickle_cache_is_never_loaded(tmp_path):
    root = tmp_path / "shards"
    root.mkdir()
    with tarfile.open(root / "a.tar", "w") as tf:
        _add(tf, "1.png", png_of(1))
    marker = tmp_path / "unpickled"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (root / "_shards_tarinfos.pickle").write_bytes(pickle.dumps(Payload()))
    for cache in (None, True):
        assert ReaderImageInTar(root, cache_tarinfo=cache).filenames() == ["1.png"]
    assert not marker.exists()
