"""Fuzzing the decode path with mutated JPEG / PNG / GIF / WebP bytes.

A seeded NumPy generator mutates a small corpus of valid files (bit flips, random bytes, truncation,
insertion, deletion, duplicated ranges, and header fields: JPEG frame size / components / precision and
table bytes, PNG ``IHDR`` size / depth / colour type with a recomputed CRC). Each mutated file goes through
:func:`~pixelpipe.io.decode_pil`, :func:`~pixelpipe.io.decode_tensor`, a fused decode-and-crop pipeline
(:class:`~pixelpipe.transforms.decode_crop.DecodePipeline` on an
:class:`~pixelpipe.io.EncodedImage`) and a bare :class:`~pixelpipe.transforms.DecodeRandomResizedCrop`.

The property: a valid image (PIL image of the asked mode, or a ``uint8`` ``(C, H, W)`` tensor) or an
:class:`~pixelpipe.errors.ImageDecodeError` / :class:`~pixelpipe.errors.SampleError` naming the file;
never another exception, a hang or a crash.

The default run (a few hundred inputs, in-process) takes seconds. ``PIXELPIPE_FUZZ_EXAMPLES=N`` runs ``N``
inputs in a child process (``PIXELPIPE_FUZZ_SEED`` picks the seed, default random), so a segfault or an
abort in a native decoder fails the test with the offending input saved to a file instead of killing
pytest. See ``tests/README.md``. This file also runs on its own: ``python tests/test_fuzz_decode.py N SEED``.
"""

from __future__ import annotations

import faulthandler
import io
import os
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator

import numpy as np
import pytest
import torch
from PIL import Image

from pixelpipe.errors import ImageDecodeError, SampleError
from pixelpipe.factories import create_transform
from pixelpipe.io import EncodedImage, decode_pil, decode_tensor, read_header
from pixelpipe.transforms import DecodeRandomResizedCrop
from pixelpipe.transforms.decode_crop import fuse_decode

DEFAULT_INPUTS = 300
LONG_INPUTS = int(os.environ.get("PIXELPIPE_FUZZ_EXAMPLES", "0") or 0)
PER_INPUT_SECONDS = 60  # long mode: an input taking longer is reported as a hang
MAX_PIXELS = 2_000_000  # keeps every decode of a mutated header small and fast
FILENAME = "fuzzed/sample.jpg"

pytestmark = pytest.mark.fuzz


# --- the corpus -----------------------------------------------------------------------------------------


def _pixels(w: int, h: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255 // max(w - 1, 1), yy * 255 // max(h - 1, 1), (xx + yy) % 256], -1)
    return np.clip(base + rng.integers(-30, 31, (h, w, 3)), 0, 255).astype(np.uint8)


def _save(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def corpus() -> list[bytes]:
    """Small valid files in the formats and variants the decoders treat differently."""
    rgb = Image.fromarray(_pixels(40, 32, 0))
    big = Image.fromarray(_pixels(320, 240, 1))  # large enough for the reduced-scale JPEG decode
    grey = rgb.convert("L")
    pal = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    pal.info["transparency"] = 3
    grey16 = Image.fromarray(_pixels(24, 20, 2)[..., 0].astype(np.uint16) * 257)
    return [
        _save(rgb, "JPEG", quality=90),
        _save(big, "JPEG", quality=75),
        _save(rgb, "JPEG", quality=80, progressive=True),
        _save(rgb, "JPEG", quality=95, subsampling=0),
        _save(grey, "JPEG"),
        _save(rgb.convert("CMYK"), "JPEG"),
        _save(Image.fromarray(_pixels(1, 1, 3)), "JPEG"),
        _save(rgb, "PNG"),
        _save(grey, "PNG"),
        _save(pal, "PNG"),
        _save(rgb.convert("RGBA"), "PNG"),
        _save(grey16, "PNG"),
        _save(rgb.convert("1"), "PNG"),
        _save(rgb, "GIF"),
        _save(rgb, "WEBP", quality=80),
    ]


# --- mutations ------------------------------------------------------------------------------------------


def _sof_offset(data: bytes) -> int | None:
    """Offset of the first JPEG start-of-frame marker (``FF C0`` .. ``FF CF`` but DHT/JPG/DAC)."""
    i = data.find(b"\xff\xc0")
    for marker in (0xC2, 0xC1):
        j = data.find(bytes((0xFF, marker)))
        if j != -1 and (i == -1 or j < i):
            i = j
    return None if i == -1 else i


def _png_ihdr(data: bytearray, rng: np.random.Generator) -> None:
    """Rewrite a field of the PNG ``IHDR`` chunk (bytes 16-29), usually fixing the CRC after it."""
    if len(data) < 33 or data[12:16] != b"IHDR":
        return
    field = rng.integers(0, 6)
    if field == 0:  # width
        data[16:20] = int(rng.choice([0, 1, 2, 7, 41, 4096, 65535, 2**31 - 1, 2**32 - 1])).to_bytes(4, "big")
    elif field == 1:  # height
        data[20:24] = int(rng.choice([0, 1, 3, 33, 5000, 2**31 - 1])).to_bytes(4, "big")
    elif field == 2:  # bit depth
        data[24] = int(rng.choice([0, 1, 2, 4, 8, 16, 3, 255]))
    elif field == 3:  # colour type
        data[25] = int(rng.choice([0, 2, 3, 4, 6, 1, 5, 7, 255]))
    elif field == 4:  # compression, filter, interlace
        data[26 + int(rng.integers(0, 3))] = int(rng.integers(0, 256))
    else:  # the chunk length
        data[8:12] = int(rng.choice([0, 12, 14, 2**31 - 1])).to_bytes(4, "big")
    if rng.random() < 0.8:  # libpng would stop at a bad CRC: usually make it valid again
        data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")


def _jpeg_header(data: bytearray, rng: np.random.Generator) -> None:
    """Rewrite a field of the JPEG frame header: precision, height, width or component count."""
    i = _sof_offset(bytes(data))
    if i is None or i + 10 > len(data):
        return
    field = rng.integers(0, 5)
    if field == 0:
        data[i + 4] = int(rng.choice([0, 8, 12, 16, 255]))
    elif field == 1:
        data[i + 5 : i + 7] = int(rng.choice([0, 1, 2, 31, 33, 1000, 65535])).to_bytes(2, "big")
    elif field == 2:
        data[i + 7 : i + 9] = int(rng.choice([0, 1, 39, 41, 1000, 65535])).to_bytes(2, "big")
    elif field == 3:
        data[i + 9] = int(rng.choice([0, 1, 2, 3, 4, 5, 255]))
    else:  # the segment length
        data[i + 2 : i + 4] = int(rng.choice([0, 1, 2, 8, 11, 17, 65535])).to_bytes(2, "big")


_INTERESTING = [[0, 0], [0xFF, 0xFF], [0xFF, 0xD9], [0xFF, 0xDA], [0x7F, 0xFF]]  # zeros, EOI, SOS, ...


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """One to four random mutations of ``data``."""
    out = bytearray(data)
    for _ in range(int(rng.integers(1, 5))):
        n = len(out)
        kind = int(rng.integers(0, 9))
        if n == 0:
            out += bytes(rng.integers(0, 256, int(rng.integers(1, 16)), dtype=np.uint8))
        elif kind == 0:  # bit flips
            for i in rng.integers(0, n, int(rng.integers(1, 9))):
                out[int(i)] ^= 1 << int(rng.integers(0, 8))
        elif kind == 1:  # random bytes over a range
            i = int(rng.integers(0, n))
            out[i : i + 8] = bytes(rng.integers(0, 256, min(8, n - i), dtype=np.uint8))
        elif kind == 2:  # truncation
            del out[int(rng.integers(0, n)) :]
        elif kind == 3:  # insertion
            i = int(rng.integers(0, n + 1))
            out[i:i] = bytes(rng.integers(0, 256, int(rng.integers(1, 64)), dtype=np.uint8))
        elif kind == 4:  # deletion of a range
            i = int(rng.integers(0, n))
            del out[i : i + int(rng.integers(1, 64))]
        elif kind == 5:  # a range copied elsewhere (markers and chunks repeated out of place)
            i, j = (int(v) for v in rng.integers(0, n, 2))
            out[j:j] = out[i : i + int(rng.integers(1, 128))]
        elif kind == 6:  # header fields
            if out.startswith(b"\x89PNG"):
                _png_ihdr(out, rng)
            else:
                _jpeg_header(out, rng)
        elif kind == 7:  # interesting values at a random place in the first bytes (headers, tables)
            i = int(rng.integers(0, min(n, 700)))
            out[i : i + 2] = bytes(rng.choice(_INTERESTING))
        else:  # end of file cut just after the header
            del out[int(rng.integers(min(n, 20), min(n, 700) + 1)) :]
    return bytes(out)


# --- running one input ----------------------------------------------------------------------------------

_PIPELINE = fuse_decode(create_transform(24, is_training=True, use_prefetcher=True))
_CROP = DecodeRandomResizedCrop(24)


def _check_error(e: BaseException) -> None:
    """Only the documented errors, naming the file."""
    if not isinstance(e, (ImageDecodeError, SampleError)):
        raise AssertionError(f"undocumented {type(e).__name__}: {e}") from e
    assert e.filename == FILENAME and FILENAME in str(e), e


def _check_pil(img: Image.Image, mode: str | None) -> None:
    assert isinstance(img, Image.Image)
    assert img.width >= 1 and img.height >= 1
    if mode:
        assert img.mode == mode
    img.tobytes()  # every pixel readable


def _check_tensor(t: torch.Tensor, channels: int | None = None) -> None:
    assert isinstance(t, torch.Tensor) and t.dtype == torch.uint8 and t.ndim == 3, (type(t), t.dtype)
    assert t.shape[1] >= 1 and t.shape[2] >= 1
    if channels is not None:
        assert t.shape[0] == channels, t.shape


def run_one(data: bytes, seed: int) -> None:
    """Every decode entry point on ``data``; raises ``AssertionError`` on a contract violation."""
    opts = {"filename": FILENAME, "index": 7, "max_image_pixels": MAX_PIXELS}
    for mode, channels in (("RGB", 3), ("L", 1), (None, None)):
        try:
            _check_pil(decode_pil(data, mode, **opts), mode)
        except AssertionError:
            raise
        except BaseException as e:
            _check_error(e)
        try:
            _check_tensor(decode_tensor(data, mode, **opts), channels)
        except AssertionError:
            raise
        except BaseException as e:
            _check_error(e)
    enc = EncodedImage(data, "RGB", FILENAME, 7, max_image_pixels=MAX_PIXELS)
    try:
        out = _PIPELINE(enc, rng=np.random.default_rng(seed))
        _check_tensor(out, 3)
        assert tuple(out.shape) == (3, 24, 24)
    except AssertionError:
        raise
    except BaseException as e:
        _check_error(e)
    _bare_decode_crop(data, seed)


# RuntimeError: torchvision.io; the others: Pillow and decode_tensor (ImageDecodeError is an OSError)
_DECODER_ERRORS = (RuntimeError, OSError, ValueError, SyntaxError, EOFError, IndexError)


def _bare_decode_crop(data: bytes, seed: int) -> None:
    """The bare transform knows no file name and uses the process-wide pixel limit: only inputs whose
    header is within this test's limit are given to it, and it may raise the decoders' own errors (its
    callers, such as :class:`DecodePipeline`, turn those into :class:`ImageDecodeError`), nothing else."""
    header = read_header(data)
    if header.pixels is None or header.pixels > MAX_PIXELS:
        return
    try:
        params = _CROP.make_params(data, np.random.default_rng(seed))
        out = _CROP.apply(data, params)
    except _DECODER_ERRORS:
        return
    _check_tensor(out, 3)
    assert tuple(out.shape) == (3, 24, 24)


def inputs(n: int, seed: int) -> Iterator[tuple[int, bytes]]:
    """``n`` mutated inputs, each a pure function of ``(seed, i)``."""
    files = corpus()
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        base = files[int(rng.integers(0, len(files)))]
        yield i, mutate(base, rng)


def fuzz(n: int, seed: int, before: Callable[[int, bytes], None] | None = None) -> None:
    for i, data in inputs(n, seed):
        if before is not None:
            before(i, data)
        try:
            run_one(data, seed + i)
        except Exception as e:  # an assertion, or an exception the checks did not expect
            path = os.path.join(tempfile.gettempdir(), f"pixelpipe-fuzz-decode-{seed}-{i}.bin")
            with open(path, "wb") as f:
                f.write(data)
            raise AssertionError(f"input {i} of seed {seed} (saved to {path}): {e}") from e


# --- tests ----------------------------------------------------------------------------------------------


def test_corpus_decodes():
    for data in corpus():
        run_one(data, 0)
        _check_tensor(decode_tensor(data, "RGB"), 3)


def test_bare_decode_crop_of_16_bit_png_is_uint8():
    data = corpus()[11]
    params = _CROP.make_params(data, np.random.default_rng(0))
    assert _CROP.apply(data, params).dtype == torch.uint8


def test_fuzz_decode_short():
    """A few hundred mutated files, in-process (seconds)."""
    start = time.perf_counter()
    fuzz(DEFAULT_INPUTS, seed=20240601)
    assert time.perf_counter() - start < 120  # a hang-like slowdown fails loudly


def test_fuzz_decode_long():
    """``PIXELPIPE_FUZZ_EXAMPLES=N``: N inputs in a child process, so a native crash is caught and saved."""
    if not LONG_INPUTS:
        pytest.skip("set PIXELPIPE_FUZZ_EXAMPLES=N to run N mutated inputs (see tests/README.md)")
    seed = int(os.environ.get("PIXELPIPE_FUZZ_SEED") or np.random.SeedSequence().entropy % 2**31)
    progress = os.path.join(tempfile.gettempdir(), f"pixelpipe-fuzz-decode-{seed}.current")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.path.dirname(__file__), *sys.path])}
    proc = subprocess.run(
        [sys.executable, __file__, str(LONG_INPUTS), str(seed), progress],
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        where = ""
        if os.path.exists(progress):
            with open(progress, "rb") as f:
                where = f" last input saved to {progress} ({len(f.read())} bytes)"
        tail = proc.stderr[-4000:]
        raise AssertionError(f"decode fuzz (seed {seed}) failed, exit code {proc.returncode}{where}:\n{tail}")
    if os.path.exists(progress):
        os.remove(progress)


def _main(argv: list[str]) -> int:
    n, seed = int(argv[0]), int(argv[1])
    progress = argv[2] if len(argv) > 2 else None

    def before(i: int, data: bytes) -> None:
        # a hang: after PER_INPUT_SECONDS on one input, dump the stacks and exit (the input is saved)
        faulthandler.dump_traceback_later(PER_INPUT_SECONDS, exit=True)
        if progress is not None:
            with open(progress, "wb") as f:  # on a crash, the parent finds the input here
                f.write(data)
        if i and i % 10_000 == 0:
            print(f"{i} inputs", file=sys.stderr, flush=True)

    fuzz(n, seed, before)
    faulthandler.cancel_dump_traceback_later()
    print(f"decode fuzz: {n} inputs, seed {seed}: ok", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
