"""``pixelpipe preview``: the grid's layout, the Mixup/CutMix block, reproducibility and clean errors."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pixelpipe.cli import main
from pixelpipe.preview import preview_dataset
from pixelpipe.synthetic import write_shapes_folder, write_shapes_tar

CLASSES = ("circle", "square", "star")


@pytest.fixture(scope="module")
def shapes_tar(tmp_path_factory):
    path = tmp_path_factory.mktemp("preview") / "shapes.tar"
    write_shapes_tar(path, per_class=2, size=40, classes=CLASSES)
    return str(path)


def _run(capsys, *argv):
    code = main(["preview", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_grid_has_expected_size(shapes_tar, tmp_path, capsys):
    out = tmp_path / "grid.png"
    code, stdout, _ = _run(capsys, shapes_tar, "--num", "3", "--num-aug", "2", "--size", "32", "-o", str(out))
    assert code == 0 and str(out) in stdout
    # cells are max(size, 112) square: 3 columns; a title band, then 3 rows with a label band each
    assert Image.open(out).size == (3 * 112, 18 + 3 * (112 + 14))


def test_large_size_sets_the_cell(shapes_tar, tmp_path, capsys):
    out = tmp_path / "sub" / "grid.png"  # missing parent folders are created
    assert _run(capsys, shapes_tar, "--num", "1", "--num-aug", "1", "--size", "120", "-o", str(out))[0] == 0
    assert Image.open(out).size == (2 * 120, 18 + 120 + 14)


def test_mixup_block_is_appended(shapes_tar, tmp_path, capsys):
    plain, mixed = tmp_path / "plain.png", tmp_path / "mixed.png"
    args = [shapes_tar, "--num", "2", "--num-aug", "2", "--size", "32", "--seed", "3"]
    assert _run(capsys, *args, "-o", str(plain))[0] == 0
    assert _run(capsys, *args, "--mixup", "0.8", "--cutmix", "1.0", "-o", str(mixed))[0] == 0
    a, b = np.asarray(Image.open(plain)), np.asarray(Image.open(mixed))
    # 3 columns (odd): the mixed batch is 6 images, two full rows with a three-line label band each
    assert b.shape[1] == a.shape[1] and b.shape[0] == a.shape[0] + 18 + 2 * (112 + 38)
    assert np.array_equal(b[: a.shape[0]], a)  # the sample rows are unchanged by the extra block
    block = b[a.shape[0] :]
    assert (block < 250).any(axis=2).mean() > 0.3  # images, not a blank band


def test_cutmix_only_with_even_columns(shapes_tar, tmp_path, capsys):
    out = tmp_path / "grid.png"
    argv = [shapes_tar, "--num", "1", "--num-aug", "1", "--size", "32", "--cutmix", "1", "-o", str(out)]
    assert _run(capsys, *argv)[0] == 0
    assert Image.open(out).size == (2 * 112, 18 + 126 + 18 + 150)  # 2 columns: one row of 2 mixed


def test_same_seed_same_picture(shapes_tar, tmp_path, capsys):
    grids = []
    for name, seed in (("a", "1"), ("b", "1"), ("c", "2")):
        out = tmp_path / f"{name}.png"
        argv = [shapes_tar, "--num", "2", "--num-aug", "2", "--size", "32", "--mixup", "1", "--seed", seed]
        assert _run(capsys, *argv, "-o", str(out))[0] == 0
        grids.append(np.asarray(Image.open(out)))
    assert np.array_equal(grids[0], grids[1])
    assert not np.array_equal(grids[0][18:], grids[2][18:])


def test_folder_with_split_folders(tmp_path, capsys):
    write_shapes_folder(tmp_path / "d" / "train", per_class=2, size=32, classes=CLASSES[:2])
    write_shapes_folder(tmp_path / "d" / "val", per_class=1, size=32, classes=CLASSES[:2], split="val")
    out = tmp_path / "g.png"
    code, _, _ = _run(capsys, str(tmp_path / "d"), "--split", "validation", "--num", "9", "-o", str(out))
    assert code == 0
    # only the 2 validation images exist, so 2 rows; default 4 draws at the default size 160
    assert Image.open(out).size == (5 * 160, 18 + 2 * (160 + 14))


def test_no_augmentation_and_item_dataset():
    class Items:
        transform = None

        def __len__(self):
            return 2

        def __getitem__(self, i):
            return Image.new("RGB", (20, 10), "red" if i else "blue"), i

    grid = preview_dataset(Items(), aug=None, num=2, num_aug=1, size=16, cutmix_alpha=1.0)
    assert grid.size == (2 * 112, 18 + 2 * 126 + 18 + 150)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--num", "0"], "num must be an int >= 1"),
        (["--num-aug", "-1"], "num_aug must be an int >= 0"),
        (["--size", "4"], "size must be an int >= 8"),
        (["--mixup", "-0.5"], "mixup alpha must be >= 0"),
        (["--cutmix", "nan"], "cutmix alpha must be >= 0"),
        (["--aug", "rand-q9"], "rand-q9"),
        (["-o", "grid.unknownext"], "unknown file extension"),
    ],
)
def test_bad_arguments_error_cleanly(shapes_tar, tmp_path, capsys, argv, message):
    argv = [a if a != "grid.unknownext" else str(tmp_path / a) for a in argv]
    code, _, err = _run(capsys, shapes_tar, "-o", str(tmp_path / "g.png"), *argv)
    assert code == 2
    assert err.startswith("pixelpipe preview: error:") and message in err


def test_missing_data_errors_cleanly(tmp_path, capsys):
    code, _, err = _run(capsys, str(tmp_path / "nope.tar"), "-o", str(tmp_path / "g.png"))
    assert code == 2 and "pixelpipe preview: error:" in err and "nope.tar" in err
    assert not (tmp_path / "g.png").exists()


def test_non_numeric_option_is_a_usage_error(shapes_tar, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["preview", shapes_tar, "--num", "many"])
    assert exc.value.code == 2
    assert "invalid int value" in capsys.readouterr().err


def test_help_lists_preview(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "preview" in capsys.readouterr().out


def test_mixing_unlabelled_samples_is_an_error():
    class Unlabelled:
        transform = None

        def __len__(self):
            return 2

        def __getitem__(self, i):
            return Image.new("RGB", (20, 20), "red"), -1

    assert preview_dataset(Unlabelled(), num=2, num_aug=1, size=16).size == (224, 18 + 2 * 126)
    with pytest.raises(ValueError, match="needs class labels"):
        preview_dataset(Unlabelled(), num=2, num_aug=1, size=16, mixup_alpha=1.0)
