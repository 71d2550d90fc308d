"""A reader for images inside uncompressed tar archives (reference: timm ``ReaderImageInTar``, §1.6).

Three layouts: one ``.tar`` of class folders (``imagenette.tar``); a folder of ``.tar`` files (the tar's
name is the class when its members sit at the top level); tars holding tars (one level of nesting). Members
are read in place with ``os.pread`` at the byte offset found by the scan: nothing is extracted to disk and
nested tars need no temporary copy.

Only regular files with an image extension are samples. Links (symbolic or hard), devices, FIFOs, sparse
files, members whose names are absolute or contain a ``..`` component, and image members larger than
``max_member_bytes`` (default :data:`~pixelpipe.io.limits.DEFAULT_MAX_MEMBER_BYTES`, 256 MiB) are never
read: they are skipped, counted in ``num_skipped_members`` and summarised in one logged warning. Member
names are only ever used as labels and offsets into the archive, never as paths on disk.

Labels follow the reference: the class of a member is the last component of ``<path>/<member folder>``
where ``<path>`` is ``''`` for a single root tar, the tar's stem for a folder of tars, and
``<parent path>/<child tar stem>`` inside a nested tar.

Indexing shows a tqdm progress bar when stderr is a terminal and the archives are big (over
``PROGRESS_MIN_BYTES``, 1 GiB, in total, or past ``PROGRESS_MIN_MEMBERS``, 100k members); it is quiet
otherwise and checks only once per 1024 members, never per member.

The scan can be cached in a JSON file ``_<root name>_tarinfos.json`` beside the archives (never a pickle);
a cache whose tars, sizes, modification times or extensions differ from what is on disk is rebuilt.
"""

from __future__ import annotations

import io
import logging
import os
import posixpath
import sys
import tarfile
import threading
from collections import Counter
from typing import Any

import numpy as np

from ..errors import ConfigError, DatasetNotFoundError, SampleError
from ..io.limits import DEFAULT_MAX_MEMBER_BYTES, resolve_max_member_bytes
from .base import Reader
from .class_map import ClassMap, load_class_map
from .img_extensions import get_img_extensions
from .index import SampleIndex, natural_key
from .splits import split_candidates
from .tar_cache import TAR_CACHE_SUFFIX, load_tar_cache, save_tar_cache

__all__ = ["ReaderImageInTar"]

_logger = logging.getLogger(__name__)

CACHE_MIN_BYTES = 10 * 1024**3  # with cache_tarinfo=None, cache the scan of tars bigger than this in total
_MAX_SKIP_RECORDS = 100
# a progress bar (stderr a terminal only) once the archives are this big or this many members were seen
PROGRESS_MIN_BYTES = 1024**3
PROGRESS_MIN_MEMBERS = 100_000
_TICK = 1024  # members between progress checks: nothing is done per member


def member_problem(ti: tarfile.TarInfo) -> str | None:
    """Why a member must not be read as a sample (``None`` when it may be)."""
    name = ti.name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "absolute name"
    if ".." in name.split("/"):
        return "'..' in name"
    if ti.issym():
        return "symbolic link"
    if ti.islnk():
        return "hard link"
    if ti.ischr() or ti.isblk() or ti.isfifo():
        return "device or fifo"
    if ti.issparse():
        return "sparse file"
    return None


def _loaded_members(tf: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """The members ``tf`` has read so far (iterating a ``TarFile`` keeps them all in this list)."""
    return tf.members  # type: ignore[attr-defined]  # a real TarFile attribute that typeshed omits


class _Scan:
    """Accumulates one archive's members: ``[name, absolute offset, size]`` rows and skipped members."""

    def __init__(self, extensions: frozenset[str], total_bytes: int = 0, progress: bool = False) -> None:
        self.extensions = extensions
        self.skipped: list[list[str]] = []  # [tar, member, reason]
        self.num_skipped = 0
        # progress: only checked every _TICK members (when tarfile's member list is trimmed) and per archive
        self.progress = progress
        self.total_bytes = total_bytes
        self.done_bytes = 0  # archives finished
        self.members_seen = 0
        self.bar: Any = None

    def tick(self, position: int, members: int) -> None:
        """``members`` more members were read; ``position``: bytes into the current archive."""
        self.members_seen += members
        if not self.progress:
            return
        if self.bar is None:
            if self.total_bytes < PROGRESS_MIN_BYTES and self.members_seen < PROGRESS_MIN_MEMBERS:
                return
            from tqdm import tqdm

            self.bar = tqdm(
                total=self.total_bytes,
                desc="indexing tar",
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                leave=False,
                dynamic_ncols=True,
                file=sys.stderr,
            )
        self.bar.n = min(self.done_bytes + position, self.total_bytes)
        self.bar.set_postfix_str(f"{self.members_seen} members", refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def skip(self, where: str, name: str, reason: str) -> None:
        self.num_skipped += 1
        if len(self.skipped) < _MAX_SKIP_RECORDS:
            self.skipped.append([where, name, reason])

    def members(self, tf: tarfile.TarFile, where: str, base: int, limit: int, depth: int, node: dict) -> None:
        for ti in tf:
            loaded = _loaded_members(tf)
            if len(loaded) > _TICK:
                self.tick(base + tf.offset, len(loaded))
                loaded.clear()  # iteration only moves forward; do not keep every TarInfo alive
            if ti.isdir():
                continue
            problem = member_problem(ti)
            if problem:
                self.skip(where, ti.name, problem)
                continue
            if not ti.isfile():
                self.skip(where, ti.name, "not a regular file")
                continue
            ext = posixpath.splitext(ti.name)[1].lower()
            if ext != ".tar" and ext not in self.extensions:
                continue
            if ti.offset_data + ti.size > limit:
                self.skip(where, ti.name, "data runs past the end of the archive")
            elif ext == ".tar" and depth == 0:
                self.child(tf, ti, where, base, node)
            elif ext == ".tar":
                self.skip(where, ti.name, "tar nested more than one level deep")
            else:
                node["members"].append([ti.name, base + ti.offset_data, ti.size])

    def child(self, tf: tarfile.TarFile, ti: tarfile.TarInfo, where: str, base: int, node: dict) -> None:
        child: dict[str, Any] = {
            "name": ti.name,
            "offset": base + ti.offset_data,
            "size": ti.size,
            "members": [],
        }
        try:
            with tarfile.open(fileobj=tf.extractfile(ti), mode="r:") as ctf:
                self.members(ctf, f"{where}:{ti.name}", child["offset"], ti.size, 1, child)
                self.members_seen += len(_loaded_members(ctf))
        except tarfile.TarError as e:
            self.skip(where, ti.name, f"nested tar unreadable ({e})")
            return
        node["children"].append(child)


def scan_tar(path: str, name: str, extensions: frozenset[str], scan: _Scan) -> dict[str, Any]:
    """Index one archive on disk: its members, and those of the tars inside it."""
    st = os.stat(path)
    node: dict[str, Any] = {"name": name, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    node.update(members=[], children=[])
    try:
        with tarfile.open(path, mode="r:") as tf:
            scan.members(tf, name, 0, st.st_size, 0, node)
            scan.tick(st.st_size, len(_loaded_members(tf)))
    except tarfile.ReadError as e:
        raise ConfigError(
            f"{path!r} is not an uncompressed tar archive ({e}); pixelpipe reads members in place, "
            "so decompress .tar.gz/.tar.bz2/.tar.xz archives first"
        ) from e
    scan.done_bytes += st.st_size
    return node


def cap_members(trees: list[dict], max_bytes: int | None) -> tuple[list[dict], list[list[str]], int]:
    """``trees`` without the image members over ``max_bytes``; ``(trees, skipped rows, count)``.

    Applied after the scan (and after reading a cached scan), so the cache does not depend on the cap.
    """
    if max_bytes is None:
        return trees, [], 0
    skipped: list[list[str]] = []
    count = 0

    def keep(members: list, where: str) -> list:
        nonlocal count
        out = []
        for row in members:
            if row[2] > max_bytes:
                count += 1
                if len(skipped) < _MAX_SKIP_RECORDS:
                    skipped.append([where, row[0], f"larger than max_member_bytes ({row[2]} > {max_bytes})"])
            else:
                out.append(row)
        return out

    capped = []
    for tree in trees:
        children = [
            {**c, "members": keep(c["members"], f"{tree['name']}:{c['name']}")} for c in tree["children"]
        ]
        capped.append({**tree, "members": keep(tree["members"], tree["name"]), "children": children})
    return capped, skipped, count


def _stderr_is_terminal() -> bool:
    try:
        return bool(sys.stderr is not None and sys.stderr.isatty())
    except (AttributeError, ValueError):  # replaced or closed stream
        return False


def _leaf(*parts: str) -> str:
    joined = posixpath.join(*parts).strip("/")
    return joined.rsplit("/", 1)[-1]


class ReaderImageInTar(Reader):
    """Images inside one tar, a folder of tars, or tars of tars; ``__getitem__`` gives ``(BytesIO, target)``.

    Args:
        root: a ``.tar`` file, or a folder whose top level holds ``.tar`` files.
        class_map: a class map (see :func:`load_class_map`); classes it does not name are dropped.
        cache_tarfiles: keep each archive open (one handle per archive per process, so forked DataLoader
            workers open their own) instead of opening it for every sample.
        cache_tarinfo: read/write the scan as JSON beside the archives: ``True`` always, ``False`` never,
            ``None`` when the archives total more than 10 GiB.
        split: keep only the members under a folder named after this split or a synonym of it
            (``imagenette2/train/...`` for ``'train'``, ``.../val/...`` for ``'validation'``); ``None``
            (the reference's behaviour) keeps every member. ``create_dataset`` passes its ``split`` here
            for a ``.tar`` root, so train and validation images of one archive are never mixed.

    Attributes:
        root: as given.
        root_is_tar: whether ``root`` is a single tar file.
        class_name_to_idx, class_idx_to_name: class name <-> target.
        class_to_idx: same as ``class_name_to_idx`` (as in the folder reader).
        targets: ``int64`` NumPy array of targets.
        samples: a sequence of ``(member name, target)``.
        split_folder: the folder name ``split`` matched, or ``None`` when every member was kept.
        num_skipped_members: members that were never read (links, devices, unsafe names, too large, ...).
        skipped_members: up to 100 ``[archive, member, reason]`` rows describing them.

    Raises:
        DatasetNotFoundError: ``root`` is missing, holds no ``.tar``, or no image member.
        ConfigError: a compressed archive, a bad class map.

    Example:
        >>> import io, os, tarfile, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), 'pets.tar')
        >>> with tarfile.open(path, 'w') as tf:
        ...     for name in ('dog/1.jpg', 'cat/2.jpg', 'cat/10.jpg'):
        ...         ti = tarfile.TarInfo(name); ti.size = 3
        ...         tf.addfile(ti, io.BytesIO(name[:3].encode()))
        >>> r = ReaderImageInTar(path)
        >>> r.class_name_to_idx, r.filenames(), r.targets.tolist()
        ({'cat': 0, 'dog': 1}, ['cat/2.jpg', 'cat/10.jpg', 'dog/1.jpg'], [0, 0, 1])
        >>> f, target = r[2]; f.read(), int(target), type(target).__name__  # a NumPy int, as in the reference
        (b'dog', 1, 'int64')
    """

    def __init__(
        self,
        root: str | os.PathLike,
        class_map: ClassMap | None = "",
        cache_tarfiles: bool = True,
        cache_tarinfo: bool | None = None,
        split: str | None = None,
        max_member_bytes: int | None = DEFAULT_MAX_MEMBER_BYTES,
    ) -> None:
        super().__init__()
        if root is None or not isinstance(root, (str, os.PathLike)):
            raise ConfigError(f"root must be a path to a .tar file or a folder of them, got {root!r}")
        self.max_member_bytes = resolve_max_member_bytes(max_member_bytes, "ReaderImageInTar")
        self.root = os.fspath(root)
        self.cache_tarfiles = bool(cache_tarfiles)
        class_to_idx = load_class_map(class_map, self.root) if class_map else None
        self.extensions = tuple(get_img_extensions())
        self.root_is_tar, folder, tar_names, cache_name = self._find_tars(self.root)
        self._folder = folder
        self._tars = tar_names  # archive names relative to the folder
        paths = [os.path.join(folder, n) for n in tar_names]
        if cache_tarinfo is None:
            cache_tarinfo = sum(os.path.getsize(p) for p in paths) > CACHE_MIN_BYTES
        cache_path = os.path.join(folder, "_" + cache_name + TAR_CACHE_SUFFIX) if cache_tarinfo else ""
        trees, skipped, num_skipped = self._scan(paths, cache_path)
        trees, too_big, num_too_big = cap_members(trees, self.max_member_bytes)
        skipped = (skipped + too_big)[:_MAX_SKIP_RECORDS]
        num_skipped += num_too_big
        self.num_skipped_members = num_skipped
        self.skipped_members = skipped
        if num_skipped:
            reasons = Counter(r.split(" (", 1)[0] for _, _, r in skipped)
            _logger.warning(
                "ReaderImageInTar(%r): skipped %d member(s) that are not safe regular files or are too "
                "large (%s), e.g. %r",
                self.root,
                num_skipped,
                ", ".join(f"{n} {r}" for r, n in reasons.most_common()),
                skipped[0][1],
            )
        self.split = split
        self.split_folder: str | None = None
        self._build(trees, class_to_idx)
        self.class_to_idx = self.class_name_to_idx
        self.class_idx_to_name = {v: k for k, v in self.class_name_to_idx.items()}
        if not len(self.index):
            raise DatasetNotFoundError(
                f"found 0 image members in {self.root!r} ({len(paths)} tar file(s)); "
                f"looked for the extensions {', '.join(self.extensions)}"
            )
        self._handles: dict[int, io.FileIO] = {}
        self._handles_pid = os.getpid()
        self._lock = threading.Lock()

    @staticmethod
    def _find_tars(root: str) -> tuple[bool, str, list[str], str]:
        if os.path.isfile(root):
            if os.path.splitext(root)[1].lower() != ".tar":
                raise ConfigError(f"root {root!r} is a file but not a .tar archive")
            folder, name = os.path.split(root)
            return True, folder, [name], os.path.splitext(name)[0]
        if not os.path.isdir(root):
            raise DatasetNotFoundError(
                f"root {root!r} does not exist (expected a .tar file or a folder of them)"
            )
        with os.scandir(root) as it:
            names = [e.name for e in it if e.name.lower().endswith(".tar") and e.is_file()]
        if not names:
            raise DatasetNotFoundError(f"no .tar files at the top level of {root!r}")
        names.sort(key=natural_key)
        return False, root, names, os.path.basename(os.path.normpath(root))

    def _scan(self, paths: list[str], cache_path: str) -> tuple[list[dict], list[list[str]], int]:
        exts = frozenset(self.extensions)
        if cache_path:
            cached = load_tar_cache(cache_path, paths, self._tars, self.extensions)
            if cached is not None:
                return cached["tars"], cached["skipped"], cached["num_skipped"]
        total = sum(os.path.getsize(p) for p in paths)
        scan = _Scan(exts, total_bytes=total, progress=_stderr_is_terminal())
        try:
            trees = [scan_tar(p, n, exts, scan) for p, n in zip(paths, self._tars)]
        finally:
            scan.close()
        if cache_path:
            save_tar_cache(cache_path, trees, self.extensions, scan.skipped, scan.num_skipped)
        return trees, scan.skipped, scan.num_skipped

    def _build(self, trees: list[dict], class_to_idx: dict[str, int] | None) -> None:
        names: list[str] = []
        labels: list[str] = []
        cols: dict[str, list[int]] = {"tar": [], "child": [], "offset": [], "size": []}
        self._children: list[str] = []

        paths: list[str] = []  # folder path of each member, prefixed with its tar / child tar stem

        def add(members: list, path: str, tar_i: int, child_i: int) -> None:
            for name, offset, size in members:
                names.append(name)
                paths.append(posixpath.join(path, posixpath.dirname(name)))
                labels.append(_leaf(path, posixpath.dirname(name)))
                for key, v in zip(cols, (tar_i, child_i, offset, size)):
                    cols[key].append(v)

        for tar_i, tree in enumerate(trees):
            path = "" if self.root_is_tar else os.path.splitext(tree["name"])[0]
            for child in tree["children"]:  # children first, as the reference orders them
                self._children.append(child["name"])
                stem = posixpath.splitext(posixpath.basename(child["name"]))[0]
                add(child["members"], posixpath.join(path, stem), tar_i, len(self._children) - 1)
            add(tree["members"], path, tar_i, -1)
        in_split = self._select_split(paths)
        if class_to_idx is None:
            labels_in_split = {lb for lb, ok in zip(labels, in_split) if ok}
            class_to_idx = {c: i for i, c in enumerate(sorted(labels_in_split, key=natural_key))}
        keep = [i for i, lb in enumerate(labels) if in_split[i] and lb in class_to_idx]
        keep.sort(key=lambda i: natural_key(names[i]))
        self.index = SampleIndex(
            [names[i] for i in keep],
            np.fromiter((class_to_idx[labels[i]] for i in keep), np.int64, len(keep)),
            {k: np.asarray(v, dtype=np.int64)[keep] for k, v in cols.items()},
        )
        self.class_name_to_idx = class_to_idx

    def _select_split(self, paths: list[str]) -> list[bool]:
        """Which members belong to ``self.split``: those under the first split folder name found.

        The candidates are the split name and its synonyms (``train``/``training``; ``val``, ``valid``,
        ``validation``, ``eval``, ``evaluation``), matched against every folder component of the member
        paths (tar stems included). Without a split, or when no candidate folder exists, every member is
        kept, as the folder split search falls back to the root.
        """
        if not self.split:
            return [True] * len(paths)
        parts = [set(p.split("/")) for p in paths]
        present = set().union(*parts) if parts else set()
        for candidate in split_candidates(self.split):
            if candidate in present:
                self.split_folder = candidate
                return [candidate in p for p in parts]
        return [True] * len(paths)

    # ----------------------------------------------------------------------------------------- access
    @property
    def samples(self) -> SampleIndex:
        """Read-only sequence of ``(member name, target)``."""
        return self.index

    @property
    def targets(self) -> np.ndarray:
        """The ``int64`` target of every sample, in index order."""
        return self.index.targets

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, index: int) -> tuple[io.BytesIO, np.int64]:
        name, target = self.index[index]
        cols = self.index.columns
        i = int(index)
        tar_i, offset, size = int(cols["tar"][i]), int(cols["offset"][i]), int(cols["size"][i])
        try:
            data = self._read(tar_i, offset, size)
        except OSError as e:
            raise SampleError(
                f"cannot read member {name!r} of {self._tar_path(tar_i)!r}: {e}", index=i, filename=name
            ) from e
        if len(data) != size:
            raise SampleError(
                f"member {name!r} of {self._tar_path(tar_i)!r} is truncated ({len(data)} of {size} bytes); "
                "the archive changed since it was indexed",
                index=i,
                filename=name,
            )
        return io.BytesIO(data), np.int64(target)  # a NumPy integer, like the reference's tar reader

    def _tar_path(self, tar_i: int) -> str:
        return os.path.join(self._folder, self._tars[tar_i])

    def _read(self, tar_i: int, offset: int, size: int) -> bytes:
        if not self.cache_tarfiles:
            with open(self._tar_path(tar_i), "rb", buffering=0) as fh:
                return _pread(fh, size, offset, None)
        if self._handles_pid != os.getpid():  # forked: the parent's handles are not ours to use
            self._handles, self._handles_pid, self._lock = {}, os.getpid(), threading.Lock()
        f = self._handles.get(tar_i)
        if f is None:
            f = self._handles[tar_i] = open(self._tar_path(tar_i), "rb", buffering=0)  # noqa: SIM115
        return _pread(f, size, offset, self._lock)

    def close(self) -> None:
        """Close the archives this process holds open (they reopen on the next read)."""
        if self._handles_pid == os.getpid():
            for f in self._handles.values():
                f.close()
        self._handles = {}

    def __del__(self) -> None:
        try:  # noqa: SIM105 - plain try: module globals (contextlib) may be gone at shutdown
            self.close()
        except Exception:  # interpreter shutdown: attributes or os may already be gone
            pass

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_handles"] = {}
        state["_handles_pid"] = None
        state["_lock"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._handles_pid = os.getpid()
        self._lock = threading.Lock()

    def _filename(self, index: int, basename: bool = False, absolute: bool = False) -> str:
        """The member's name inside its tar, or its base name.

        ``absolute`` is accepted and ignored, as in the reference (REFERENCE §1.6): a member has no path on
        disk, so ``filename(i, absolute=True)`` is the member name too.
        """
        name = self.index.names[index]
        return posixpath.basename(name) if basename else name


def _pread(f: io.FileIO, size: int, offset: int, lock: threading.Lock | None) -> bytes:
    if hasattr(os, "pread"):
        chunks, got = [], 0
        while got < size:
            chunk = os.pread(f.fileno(), size - got, offset + got)
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)
    if lock is None:  # pragma: no cover - platforms without pread
        f.seek(offset)
        return f.read(size)
    with lock:  # pragma: no cover
        f.seek(offset)
        return f.read(size)
