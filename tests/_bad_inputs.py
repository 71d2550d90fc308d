"""Generated fixtures for the reliability tests: broken files, decompression bombs, unusual image modes,
identifiable images and webdataset shards holding bad samples. Nothing is downloaded."""

from __future__ import annotations

import io
import json
import struct
import tarfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from conftest import encode, make_image

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------------------------------------
# broken files


def bad_files() -> dict[str, bytes]:
    """The broken inputs of the issue: truncated JPEG, zero bytes, random bytes and text, all named .jpg."""
    return {
        "truncated.jpg": encode(make_image(0, (64, 64)), "JPEG")[:400],
        "empty.jpg": b"",
        "random.jpg": np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes(),
        "text.jpg": b"a text file that ended up in a class folder\n" * 20,
    }


# --------------------------------------------------------------------------------------------------------
# decompression bombs: small files whose headers declare huge images


def png_bytes(
    width: int, height: int, depth: int, colour: int, rows: list[bytes], extra: bytes = b""
) -> bytes:
    """A PNG written by hand (IHDR, optional extra chunks, one IDAT), for depths Pillow does not write."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    body = zlib.compress(b"".join(b"\x00" + r for r in rows))
    return PNG_MAGIC + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def png16(arr: np.ndarray) -> bytes:
    """A 16-bit PNG from a uint16 array: (H, W) grey, (H, W, 2) grey+alpha, (H, W, 3) RGB, (H, W, 4) RGBA."""
    colour = 0 if arr.ndim == 2 else {2: 4, 3: 2, 4: 6}[arr.shape[2]]
    rows = [row.astype(">u2").tobytes() for row in arr]
    return png_bytes(arr.shape[1], arr.shape[0], 16, colour, rows)


def bomb_png(side: int = 60000) -> bytes:
    return png_bytes(side, side, 8, 2, [])


def bomb_jpeg(side: int = 60000) -> bytes:
    data = bytearray(encode(make_image(1, (16, 16)), "JPEG"))
    i = data.index(b"\xff\xc0")
    data[i + 5 : i + 9] = struct.pack(">HH", side, side)
    return bytes(data)


def bomb_gif(side: int = 60000) -> bytes:
    data = bytearray(encode(make_image(1, (16, 16)).convert("P"), "GIF"))
    data[6:10] = struct.pack("<HH", side, side)
    return bytes(data)


def bomb_webp() -> bytes:
    data = bytearray(encode(make_image(1, (16, 16)), "WEBP", lossless=True))
    assert data[12:16] == b"VP8L"
    bits = int.from_bytes(data[21:25], "little")
    bits = (bits & ~((1 << 28) - 1)) | 16383 | (16383 << 14)  # 16384 x 16384
    data[21:25] = bits.to_bytes(4, "little")
    return bytes(data)


def bomb_tiff(side: int = 60000) -> bytes:
    """A TIFF (a format whose header pixelpipe leaves to Pillow) declaring ``side`` x ``side``."""
    data = bytearray(encode(Image.new("L", (8, 8), 9), "TIFF"))
    order = "<" if data[:2] == b"II" else ">"
    ifd = struct.unpack_from(order + "I", data, 4)[0]
    for k in range(struct.unpack_from(order + "H", data, ifd)[0]):
        at = ifd + 2 + 12 * k
        tag, kind = struct.unpack_from(order + "HH", data, at)
        if tag in (256, 257):  # ImageWidth, ImageLength
            fmt = order + ("H" if kind == 3 else "I")
            struct.pack_into(fmt, data, at + 8, side)
    return bytes(data)


BOMBS = {
    "bomb.png": (bomb_png, (60000, 60000)),
    "bomb.jpg": (bomb_jpeg, (60000, 60000)),
    "bomb.gif": (bomb_gif, (60000, 60000)),
    "bomb.webp": (bomb_webp, (16384, 16384)),
}


# --------------------------------------------------------------------------------------------------------
# image modes


def frames(n: int = 3, size: tuple[int, int] = (20, 14)) -> list[Image.Image]:
    """Frames of clearly different colours, so the first frame is recognisable."""
    return [Image.new("RGB", size, ((70 * i) % 256, 200 - 50 * i, 30 + 60 * i)) for i in range(n)]


def multi_frame(fmt: str, **kw) -> bytes:
    imgs = frames()
    if fmt == "GIF":
        imgs = [im.convert("P", palette=Image.Palette.ADAPTIVE) for im in imgs]
    buf = io.BytesIO()
    imgs[0].save(buf, fmt, save_all=True, append_images=imgs[1:], **kw)
    return buf.getvalue()


def ycck_jpeg(img: Image.Image) -> bytes:
    """An Adobe YCCK JPEG: Pillow writes 4-component JPEGs as CMYK only, so its channels are given the
    Y, Cb, Cr, K values and the Adobe marker's transform byte is set to 2 (YCCK) afterwards."""
    ycc = np.asarray(img.convert("YCbCr"))
    k = np.zeros(ycc.shape[:2], np.uint8)
    data = bytearray(encode(Image.fromarray(np.dstack([ycc, k]), "CMYK"), "JPEG", quality=95))
    i = data.index(b"\xff\xee\x00\x0eAdobe")
    data[i + 15] = 2
    return bytes(data)


def exif_image(orientation: int, fmt: str = "JPEG", size: tuple[int, int] = (40, 24)) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    kw = {"quality": 95} if fmt == "JPEG" else {}
    return encode(make_image(7, size), fmt, exif=exif.tobytes(), **kw)


# --------------------------------------------------------------------------------------------------------
# identifiable samples: the colour of an image says which sample it is


def index_colour(i: int) -> tuple[int, int, int]:
    return ((37 * i + 11) % 256, (91 * i + 60) % 256, (17 * i + 200) % 256)


def index_of(pixel) -> int:
    """The sample index whose colour is nearest to ``pixel`` (three values in 0..255)."""
    px = np.asarray(pixel, dtype=float)
    return int(np.argmin([np.abs(px - index_colour(i)).sum() for i in range(256)]))


def png_of(i: int, size: tuple[int, int] = (12, 10)) -> bytes:
    return encode(Image.new("RGB", size, index_colour(i)), "PNG")


def write_mixed_folder(root: Path, n_good: int = 10) -> tuple[Path, set[str]]:
    """Class folders of identifiable PNGs, one of each bad file spread among them, and a .txt that the
    reader must ignore. Returns the root and the bad files' relative names."""
    bad = bad_files()
    names = sorted(bad)
    bad_rel = set()
    for i in range(n_good):
        cls = f"c{i % 2}"
        (root / cls).mkdir(parents=True, exist_ok=True)
        (root / cls / f"{i:02d}.png").write_bytes(png_of(i))
        if i % 2 == 1 and names:
            name = names.pop()
            (root / cls / f"{i:02d}_{name}").write_bytes(bad[name])
            bad_rel.add(f"{cls}/{i:02d}_{name}")
    (root / "c0" / "notes.txt").write_text("not an image, not an image extension\n")
    return root, bad_rel


def write_shard(path: Path, samples: list[tuple[str, dict[str, bytes]]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w") as tf:
        for key, fields in samples:
            for ext, data in fields.items():
                ti = tarfile.TarInfo(f"{key}.{ext}")
                ti.size = len(data)
                tf.addfile(ti, io.BytesIO(data))


def write_mixed_shards(root: Path, n: int = 12, shards: int = 3) -> tuple[list[int], set[str]]:
    """Webdataset shards of identifiable samples ``s<i>``; some are bad. Returns (shard lengths, bad keys)."""
    bad = list(bad_files().values())
    per = [[] for _ in range(shards)]
    bad_keys = set()
    for i in range(n):
        key = f"s{i:03d}"
        if i % 4 == 2 and bad:
            img = bad.pop()
            bad_keys.add(key)
        else:
            img = png_of(i)
        per[i % shards].append((key, {"png": img, "cls": str(i).encode()}))
    names = []
    for k, samples in enumerate(per):
        name = f"train-{k:06d}.tar"
        write_shard(root / name, samples)
        names.append(name)
    lengths = [len(s) for s in per]
    info = {"splits": {"train": {"num_samples": n, "filenames": names, "shard_lengths": lengths}}}
    (root / "_info.json").write_text(json.dumps(info))
    return lengths, bad_keys
