"""Fuzzing the class-map loader, the reader factory's name parsing and the tar index.

* class maps: random ``.txt`` / ``.json`` bytes, random JSON values, random Python objects: a checked
  ``{name: index}`` dict or a documented error (:class:`ConfigError`, :class:`DatasetNotFoundError`); nothing
  is ever unpickled;
* ``create_reader``: random ``prefix/name`` strings and roots: a reader or a documented error, and the name
  after the prefix reaches the backend unchanged;
* tar archives built in memory with random member names (``..``, absolute, drive letters, nested folders),
  links, devices, empty files and nested tars, then optionally truncated or corrupted: the reader indexes
  exactly the safe regular image members (with their bytes), or raises a documented error naming the
  archive, and never reads outside the archive or writes anything.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import tarfile

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from _fuzz import fuzz_settings
from pixelpipe.errors import ConfigError, DatasetNotFoundError, SampleError, UnknownReaderError
from pixelpipe.readers import ReaderImageInTar, create_reader, load_class_map
from pixelpipe.readers import factory as reader_factory
from pixelpipe.readers.base import Reader
from pixelpipe.readers.img_extensions import get_img_extensions

_ = UnknownReaderError  # documented error types; UnknownReaderError is a ConfigError

pytestmark = pytest.mark.fuzz


@pytest.fixture(autouse=True)
def _no_unpickling(monkeypatch):
    """Any unpickling during these tests fails them."""

    def refuse(*args, **kwargs):
        raise AssertionError("pixelpipe must never unpickle")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)


# --- class maps ---------------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=6),
    lambda kids: st.lists(kids, max_size=5) | st.dictionaries(st.text(max_size=6), kids, max_size=5),
    max_leaves=20,
)


def _lines(text: str) -> list[str]:
    """Stripped lines as a text file reads them (universal newlines: ``\n``, ``\r\n``, ``\r``)."""
    return [line.strip() for line in io.StringIO(text, newline=None)]


def _check_class_map(result) -> None:
    assert isinstance(result, dict)
    for name, idx in result.items():
        assert isinstance(name, str)
        assert isinstance(idx, int) and not isinstance(idx, bool) and 0 <= idx < 2**63


def _load(path_or_map, root=""):
    try:
        result = load_class_map(path_or_map, root)
    except (ConfigError, DatasetNotFoundError) as e:
        return e
    _check_class_map(result)
    return result


@fuzz_settings(150)
@given(JSON_VALUES)
def test_class_map_json_values(tmp_path_factory, value):
    path = tmp_path_factory.mktemp("cm") / "map.json"
    path.write_text(json.dumps(value), encoding="utf-8")
    result = _load(str(path))
    if isinstance(value, dict) and not isinstance(result, Exception):
        assert result == value
    if isinstance(value, list) and not isinstance(result, Exception):
        assert result == {name: i for i, name in enumerate(value)}


@fuzz_settings(150)
@given(st.binary(max_size=200), st.sampled_from([".txt", ".json", ".TXT", ".Json"]))
def test_class_map_random_bytes(tmp_path_factory, data, ext):
    path = tmp_path_factory.mktemp("cm") / f"map{ext}"
    path.write_bytes(data)
    result = _load(str(path))
    if ext.lower() == ".txt" and not isinstance(result, Exception):
        names = _lines(data.decode("utf-8-sig"))
        assert set(result) <= set(names)
        assert sorted(result.values()) == list(range(len(result)))


@fuzz_settings(100)
@given(st.lists(st.text(max_size=8), max_size=12))
def test_class_map_txt_lines(tmp_path_factory, names):
    path = tmp_path_factory.mktemp("cm") / "classes.txt"
    path.write_text("\n".join(names), encoding="utf-8")
    result = _load(str(path))
    if isinstance(result, Exception):
        return
    lines = _lines(path.read_bytes().decode("utf-8"))
    while lines and not lines[-1]:
        lines.pop()
    assert result == {name: i for i, name in enumerate(lines)}


@fuzz_settings(100)
@given(
    st.one_of(
        st.none(),
        st.integers(),
        st.floats(),
        st.binary(max_size=8),
        st.lists(st.text(max_size=3), max_size=3),
        st.dictionaries(st.one_of(st.text(max_size=3), st.integers()), JSON_VALUES, max_size=4),
        st.text(max_size=30).map(lambda s: s + ".pkl"),
        st.text(max_size=30).map(lambda s: s + ".txt"),
        st.text(max_size=30),
    )
)
def test_class_map_any_argument(value):
    if isinstance(value, (bytes, str)) and "\x00" in str(value):
        value = value.replace("\x00", "") if isinstance(value, str) else value
    result = _load(value, root="/nonexistent-pixelpipe-root")
    if isinstance(value, dict) and not isinstance(result, Exception):
        assert result == value


def test_pickle_class_map_is_refused_without_unpickling(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "classes.pkl"
    path.write_bytes(pickle.dumps(Payload()))
    for name in ("classes.pkl", "classes.PKL", "classes.pickle"):
        (tmp_path / name).write_bytes(path.read_bytes())
        with pytest.raises(ConfigError, match="pickle"):
            load_class_map(name, root=str(tmp_path))
    assert not marker.exists()


def test_deeply_nested_json_class_map(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(ConfigError, match=r"deep\.json"):
        load_class_map(str(path))


# --- reader factory ---------------------------------------------------------------------------------------

PREFIXES = ["", "tfds/", "wds/", "hfds/", "hfids/", "torch/", "TFDS/", "Wds/", "HFds/", "foo/", "/", "//"]
NAME_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=16)


class _StubReader(Reader):
    """Stands in for the optional backends (no network, no third-party import)."""

    def __init__(self, **kwargs) -> None:
        super().__init__()
        self.kwargs = kwargs

    def __len__(self) -> int:
        return 0

    def __getitem__(self, index):
        raise IndexError(index)

    def _filename(self, index, basename=False, absolute=False):
        raise IndexError(index)


@pytest.fixture(scope="module")
def roots(tmp_path_factory):
    base = tmp_path_factory.mktemp("roots")
    folder = base / "folder" / "cat"
    folder.mkdir(parents=True)
    (folder / "1.jpg").write_bytes(b"\xff\xd8\xff")
    empty = base / "empty"
    empty.mkdir()
    text = base / "notes.txt"
    text.write_text("hi")
    fake_tar = base / "fake.tar"
    fake_tar.write_bytes(b"not a tar at all" * 40)
    return [None, str(base / "folder"), str(empty), str(text), str(fake_tar), str(base / "missing")]


@fuzz_settings(200)
@given(st.sampled_from(PREFIXES), NAME_TEXT, st.integers(0, 5), st.sampled_from(["train", "validation", ""]))
def test_create_reader_names(monkeypatch, roots, prefix, rest, root_i, split):
    name = prefix + rest
    root = roots[root_i]
    monkeypatch.setattr(reader_factory, "_optional_reader_class", lambda p: _StubReader)
    try:
        reader = create_reader(name, root=root, split=split)
    except (ConfigError, DatasetNotFoundError) as e:  # UnknownReaderError is a ConfigError
        assert str(e)
        return
    assert isinstance(reader, Reader)
    head, sep, tail = name.partition("/")
    if isinstance(reader, _StubReader):  # hfds / hfids / wds: the rest of the name reaches the backend as is
        assert sep and head.lower() in ("hfds", "hfids", "wds")
        assert reader.kwargs["name"] == tail and reader.kwargs["split"] == split


@fuzz_settings(60)
@given(st.one_of(st.none(), st.integers(), st.binary(max_size=5), st.lists(st.text(max_size=2), max_size=2)))
def test_create_reader_non_string_names(roots, name):
    with pytest.raises((ConfigError, DatasetNotFoundError)):
        create_reader(name, root=roots[1])


# --- tar index --------------------------------------------------------------------------------------------

SEGMENTS = ["a", "cat", "dog", "..", ".", "", "x.jpg", "y.PNG", "z.jpeg", "t.txt", "C:", "\\..\\", "é", " "]
IMAGE_NAMES = ["1.jpg", "2.png", "3.JPEG", "4.gif", "5", "6.jpg.txt", ".jpg"]
EXTENSIONS = frozenset(get_img_extensions(as_set=True))


@st.composite
def member_names(draw) -> str:
    parts = draw(st.lists(st.sampled_from(SEGMENTS), max_size=3))
    name = "/".join([*parts, draw(st.sampled_from(IMAGE_NAMES))])
    if draw(st.integers(0, 5)) == 0:
        name = "/" + name
    return name


def _is_safe(name: str) -> bool:
    n = name.replace("\\", "/")
    return not (n.startswith("/") or (len(n) > 1 and n[1] == ":") or ".." in n.split("/"))


def _is_image(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in EXTENSIONS


def _is_tar(name: str) -> bool:
    return os.path.splitext(name)[1].lower() == ".tar"  # not a bare '.tar' (a hidden file, no extension)


@st.composite
def members(draw, depth: int = 0):
    """``(kind, name, payload)`` specs; payload is bytes, a link target, or a list of inner specs."""
    kind = draw(st.sampled_from(["file", "file", "file", "dir", "sym", "lnk", "chr", "fifo", "nested"]))
    if kind == "nested":
        inner = draw(st.lists(members(depth + 1), max_size=4)) if depth < 2 else []
        name = draw(member_names()).rsplit(".", 1)[0] + ".tar"
        return kind, name, inner
    name = draw(member_names())
    if kind in ("sym", "lnk"):
        return kind, name, draw(st.sampled_from(["../../etc/passwd", "/etc/passwd", "cat/1.jpg", "x"]))
    return kind, name, draw(st.binary(max_size=64))


def _build_tar(specs, fmt) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for kind, name, payload in specs:
            ti = tarfile.TarInfo(name)
            data = b""
            if kind == "file":
                data = payload
            elif kind == "nested":
                data = _build_tar(payload, fmt)
            elif kind == "dir":
                ti.type = tarfile.DIRTYPE
            elif kind == "sym":
                ti.type, ti.linkname = tarfile.SYMTYPE, payload
            elif kind == "lnk":
                ti.type, ti.linkname = tarfile.LNKTYPE, payload
            elif kind == "chr":
                ti.type = tarfile.CHRTYPE
            else:
                ti.type = tarfile.FIFOTYPE
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data) if data else None)
    return buf.getvalue()


def _expected(specs, depth: int = 0) -> list[tuple[str, bytes]]:
    """The ``(name, bytes)`` samples a correct reader indexes: safe regular image members, and those of
    safe nested tars one level down."""
    out = []
    for kind, name, payload in specs:
        stored = name.rstrip("/") if kind == "dir" else name
        if not _is_safe(stored):
            continue
        if kind == "file" and _is_image(stored):
            out.append((stored, payload))
        elif kind == "nested" and depth == 0 and _is_tar(stored):
            out += _expected(payload, 1)
    return out


def _expected_skips(specs, depth: int = 0) -> int:
    """Members the reader must skip and count: unsafe names, links, devices, tars nested too deep, and
    (inside safe nested tars) the same again. Directories are never counted."""
    count = 0
    for kind, name, payload in specs:
        if kind == "dir":
            continue
        if not _is_safe(name) or kind in ("sym", "lnk", "chr", "fifo"):
            count += 1
        elif kind == "nested" and _is_tar(name):
            count += _expected_skips(payload, 1) if depth == 0 else 1
    return count


@st.composite
def corruptions(draw, size: int):
    """A list of ``(offset, bytes)`` overwrites, and a truncation length (or ``None``)."""
    edits = []
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, max(size - 1, 0)))
        edits.append((at, draw(st.binary(min_size=1, max_size=12))))
    truncate = draw(st.one_of(st.none(), st.integers(0, size)))
    return edits, truncate


@fuzz_settings(120)
@given(
    st.lists(members(), max_size=8),
    st.sampled_from([tarfile.GNU_FORMAT, tarfile.PAX_FORMAT]),
    st.data(),
)
def test_tar_index_only_safe_members(tmp_path_factory, specs, fmt, data):
    try:
        raw = _build_tar(specs, fmt)
    except (ValueError, UnicodeError):  # a name this tar format cannot store
        assume(False)
    corrupt = data.draw(st.booleans())
    if corrupt:
        edits, truncate = data.draw(corruptions(len(raw)))
        buf = bytearray(raw)
        for at, chunk in edits:
            buf[at : at + len(chunk)] = chunk
        raw = bytes(buf[: len(raw)] if truncate is None else buf[:truncate])
    folder = tmp_path_factory.mktemp("tar")
    path = folder / "data.tar"
    path.write_bytes(raw)
    cap = data.draw(st.sampled_from([None, 10**9, 16]))
    expected = _expected(specs)
    if cap is not None:
        expected = [(n, b) for n, b in expected if len(b) <= cap]

    try:
        reader = ReaderImageInTar(str(path), cache_tarinfo=False, max_member_bytes=cap)
    except (ConfigError, DatasetNotFoundError) as e:
        assert str(path) in str(e)
        assert corrupt or not expected, e
        assert sorted(os.listdir(folder)) == ["data.tar"]
        return

    got = []
    for i in range(len(reader)):
        name = reader.filename(i)
        assert _is_safe(name) and _is_image(name), name
        try:
            f, _ = reader[i]
        except SampleError as e:
            assert corrupt and name in str(e)
            continue
        got.append((name, f.read()))
    cols = reader.index.columns
    spans = zip(cols["offset"].tolist(), cols["size"].tolist(), strict=True)
    assert all(o >= 0 and o + s <= len(raw) for o, s in spans)  # never outside the archive
    if not corrupt:
        assert sorted(got) == sorted(expected)
        too_big = sum(1 for _, b in _expected(specs) if cap is not None and len(b) > cap)
        assert reader.num_skipped_members == _expected_skips(specs) + too_big
    reader.close()
    assert sorted(os.listdir(folder)) == ["data.tar"]  # nothing extracted, no cache written


@fuzz_settings(40)
@given(JSON_VALUES, st.booleans())
def test_tar_cache_content_is_never_trusted_blindly(tmp_path_factory, value, wrap):
    """A random JSON (or random bytes) cache file: ignored or used only when it matches the archive."""
    folder = tmp_path_factory.mktemp("tarcache")
    path = folder / "data.tar"
    specs = [("file", "cat/1.jpg", b"abc"), ("file", "dog/2.png", b"defg")]
    path.write_bytes(_build_tar(specs, tarfile.GNU_FORMAT))
    cache = folder / "_data_tarinfos.json"
    doc = {"format": "pixelpipe-tarinfo", "version": 1, "tars": value} if wrap else value
    cache.write_text(json.dumps(doc))
    reader = ReaderImageInTar(str(path), cache_tarinfo=True)
    assert sorted((reader.filename(i), reader[i][0].read()) for i in range(len(reader))) == [
        ("cat/1.jpg", b"abc"),
        ("dog/2.png", b"defg"),
    ]
