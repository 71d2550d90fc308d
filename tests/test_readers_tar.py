"""ReaderImageInTar: single tar, folder of tars, tar of tars, unsafe members, JSON cache, pickling."""

from __future__ import annotations

import io
import json
import os
import pickle
import tarfile

import pytest

from _readers_util import add_file, make_tar, payload, read_all
from pixelpipe.errors import ConfigError, DatasetNotFoundError
from pixelpipe.readers import ReaderImageInTar


def test_single_tar_of_class_folders(tmp_path):
    path = make_tar(
        tmp_path / "imagenette.tar",
        ["n2/b.jpg", "n10/a.JPEG", "n2/a10.png", "n2/a2.png", "top.jpg", "n2/x.txt"],
    )
    r = ReaderImageInTar(path)
    assert r.root_is_tar
    assert r.class_name_to_idx == {"": 0, "n2": 1, "n10": 2}
    assert r.class_idx_to_name == {0: "", 1: "n2", 2: "n10"}
    assert r.filenames() == ["n2/a2.png", "n2/a10.png", "n2/b.jpg", "n10/a.JPEG", "top.jpg"]
    assert r.targets.tolist() == [1, 1, 1, 2, 0]
    assert read_all(r) == [(payload(n), t) for n, t in zip(r.filenames(), r.targets.tolist())]
    assert r.filename(3, basename=True) == "a.JPEG"
    assert r.filename(3, absolute=True) == "n10/a.JPEG"  # the member name, as in the reference
    assert r.num_skipped_members == 0


@pytest.mark.parametrize("form", ["txt", "json", "dict"])
def test_folder_of_tars_with_class_map(tmp_path, form):
    root = tmp_path / "shards"
    make_tar(root / "dog.tar", ["d1.jpg", "d2.jpg"])
    make_tar(root / "cat.tar", ["c1.jpg", "sub/c3.jpg"])  # members in a folder: the folder is the class
    (root / "ignored.txt").write_text("x")
    r = ReaderImageInTar(root)
    assert not r.root_is_tar
    assert r.class_name_to_idx == {"cat": 0, "dog": 1, "sub": 2}
    assert r.filenames() == ["c1.jpg", "d1.jpg", "d2.jpg", "sub/c3.jpg"]
    assert read_all(r) == [
        (payload("c1.jpg"), 0),
        (payload("d1.jpg"), 1),
        (payload("d2.jpg"), 1),
        (payload("sub/c3.jpg"), 2),
    ]
    if form == "txt":
        (root / "map.txt").write_text("dog\ncat\n")
        cm = "map.txt"
    elif form == "json":
        cm = str(tmp_path / "map.json")
        (tmp_path / "map.json").write_text(json.dumps({"dog": 0, "cat": 1}))
    else:
        cm = {"dog": 0, "cat": 1}
    mapped = ReaderImageInTar(root, class_map=cm)
    assert mapped.filenames() == ["c1.jpg", "d1.jpg", "d2.jpg"] and mapped.targets.tolist() == [1, 0, 0]


def test_tar_of_tars(tmp_path):
    path = make_tar(
        tmp_path / "outer.tar",
        ["loose/o1.jpg"],
        children={"parts/cats.tar": ["c1.jpg", "c2.jpg"], "dogs.tar": ["big/d1.jpg"]},
    )
    r = ReaderImageInTar(path, class_map={"cats": 0, "big": 1, "loose": 2})
    assert r.filenames() == ["big/d1.jpg", "c1.jpg", "c2.jpg", "loose/o1.jpg"]
    assert r.targets.tolist() == [1, 0, 0, 2]
    assert read_all(r) == [(payload(n), t) for n, t in zip(r.filenames(), [1, 0, 0, 2])]
    assert r.filename(1, absolute=True) == "c1.jpg"
    assert ReaderImageInTar(path).class_name_to_idx == {"big": 0, "cats": 1, "loose": 2}


def test_unsafe_members_skipped_and_counted(tmp_path, caplog):
    path = tmp_path / "evil.tar"
    with tarfile.open(path, "w") as tf:
        add_file(tf, "ok/good.jpg")
        add_file(tf, "../evil.jpg")
        add_file(tf, "ok/../../evil2.jpg")
        add_file(tf, "/etc/abs.jpg")
        link = tarfile.TarInfo("ok/link.jpg")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tf.addfile(link)
        hard = tarfile.TarInfo("ok/hard.jpg")
        hard.type, hard.linkname = tarfile.LNKTYPE, "ok/good.jpg"
        tf.addfile(hard)
        dev = tarfile.TarInfo("ok/dev.jpg")
        dev.type = tarfile.CHRTYPE
        tf.addfile(dev)
    r = ReaderImageInTar(path)
    assert r.filenames() == ["ok/good.jpg"]
    assert read_all(r) == [(payload("ok/good.jpg"), 0)]
    assert r.num_skipped_members == 6
    reasons = sorted(reason for _, _, reason in r.skipped_members)
    assert reasons == sorted(
        ["'..' in name", "'..' in name", "absolute name", "symbolic link", "hard link", "device or fifo"]
    )
    assert "skipped 6 member" in caplog.text
    assert not (tmp_path / "evil.jpg").exists()


def test_json_cache_written_validated_and_rebuilt(tmp_path):
    root = tmp_path / "shards"
    make_tar(root / "a.tar", ["1.jpg"])
    make_tar(root / "b.tar", ["2.jpg"])
    r = ReaderImageInTar(root, cache_tarinfo=True)
    cache = root / "_shards_tarinfos.json"
    data = json.loads(cache.read_text())
    assert data["format"] == "pixelpipe-tarinfo" and [t["name"] for t in data["tars"]] == ["a.tar", "b.tar"]
    assert read_all(ReaderImageInTar(root, cache_tarinfo=True)) == read_all(r)  # read from the cache
    # A tampered cache pointing outside the archive is refused and rebuilt.
    data["tars"][0]["members"][0][1] = 10**9
    cache.write_text(json.dumps(data))
    assert read_all(ReaderImageInTar(root, cache_tarinfo=True)) == read_all(r)
    # A stale cache (archive changed) is rebuilt.
    make_tar(root / "b.tar", ["2.jpg", "3.jpg"])
    os.utime(root / "b.tar", ns=(1, 1))
    r2 = ReaderImageInTar(root, cache_tarinfo=True)
    assert r2.filenames() == ["1.jpg", "2.jpg", "3.jpg"]
    assert len(json.loads(cache.read_text())["tars"][1]["members"]) == 2
    cache.write_text("not json {")
    assert len(ReaderImageInTar(root, cache_tarinfo=True)) == 3
    assert not list(root.glob("*.pickle"))


def test_pickle_drops_handles_and_works_after(tmp_path):
    path = make_tar(tmp_path / "x.tar", ["a/1.jpg", "b/2.jpg"])
    r = ReaderImageInTar(path)
    read_all(r)  # opens a handle
    assert r._handles
    state = r.__getstate__()
    assert state["_handles"] == {}
    r2 = pickle.loads(pickle.dumps(r))
    assert read_all(r2) == read_all(r)
    r.close()
    assert read_all(ReaderImageInTar(path, cache_tarfiles=False)) == read_all(r2)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_worker_opens_its_own_handle(tmp_path):
    path = make_tar(tmp_path / "x.tar", ["a/1.jpg", "b/2.jpg"])
    r = ReaderImageInTar(path)
    r[0]
    parent_handle = r._handles[0]
    rd, wr = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: reads through its own handle
        try:
            ok = r[1][0].read() == payload("b/2.jpg") and r._handles[0] is not parent_handle
            os.write(wr, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(wr)
    _, status = os.waitpid(pid, 0)
    assert os.read(rd, 1) == b"1" and status == 0
    os.close(rd)
    assert r._handles[0] is parent_handle and r[1][0].read() == payload("b/2.jpg")


def test_errors(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        ReaderImageInTar(tmp_path / "missing.tar")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetNotFoundError, match=r"no \.tar files"):
        ReaderImageInTar(tmp_path / "empty")
    with pytest.raises(DatasetNotFoundError, match=r"\.png, \.jpg, \.jpeg"):
        ReaderImageInTar(make_tar(tmp_path / "t.tar", ["a/readme.txt"]))
    gz = tmp_path / "z.tar"
    with tarfile.open(gz, "w:gz") as tf:
        add_file(tf, "a/1.jpg")
    with pytest.raises(ConfigError, match="not an uncompressed tar"):
        ReaderImageInTar(gz)
    (tmp_path / "notatar.zip").write_bytes(b"x")
    with pytest.raises(ConfigError, match=r"not a \.tar"):
        ReaderImageInTar(tmp_path / "notatar.zip")


def test_many_members_scan(tmp_path):
    path = tmp_path / "many.tar"
    with tarfile.open(path, "w") as tf:
        for i in range(3000):
            ti = tarfile.TarInfo(f"c{i % 3}/{i}.jpg")
            ti.size = 1
            tf.addfile(ti, io.BytesIO(b"x"))
    r = ReaderImageInTar(path)
    assert len(r) == 3000 and r.filename(2999) == "c2/2999.jpg"


def test_no_cache_by_default_and_deep_nesting_skipped(tmp_path):
    from _readers_util import tar_bytes

    root = tmp_path / "d"
    path = root / "outer.tar"
    root.mkdir()
    with tarfile.open(path, "w") as tf:
        add_file(tf, "child.tar", tar_bytes(["c/1.jpg"]))
        inner = io.BytesIO()
        with tarfile.open(fileobj=inner, mode="w") as itf:
            add_file(itf, "grandchild.tar", tar_bytes(["g/1.jpg"]))
        add_file(tf, "deep.tar", inner.getvalue())
        add_file(tf, "broken.tar", b"not a tar at all" * 40)
    r = ReaderImageInTar(path)
    assert r.filenames() == ["c/1.jpg"]
    reasons = sorted(reason for _, _, reason in r.skipped_members)
    assert len(reasons) == 2 and reasons[1] == "tar nested more than one level deep"
    assert reasons[0].startswith("nested tar unreadable")
    assert os.listdir(root) == ["outer.tar"]  # cache_tarinfo=None and small: no cache file


def test_dataset_filename_absolute_is_the_member_name(tmp_path):
    # the reference's tar reader ignores absolute=True: a member has no path on disk (REFERENCE §1.6)
    from pixelpipe import ImageDataset, create_dataset

    path = make_tar(tmp_path / "flat.tar", ["a/0.jpg", "a/1.jpg", "b/2.jpg"])
    for ds in (ImageDataset(path), create_dataset("", root=path, search_split=False)):
        assert ds.filename(0, absolute=True) == "a/0.jpg"
        assert ds.filenames(absolute=True) == ["a/0.jpg", "a/1.jpg", "b/2.jpg"]
        assert ds.filename(2, basename=True, absolute=True) == "2.jpg"
