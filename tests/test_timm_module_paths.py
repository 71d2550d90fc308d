"""timm's module paths: every ``timm.data`` module pixelpipe covers imports as ``pixelpipe.<same path>``
(``timm.data.loader``: ``pixelpipe.factories.loader``), with pixelpipe's own objects;
``python -m pixelpipe.timm`` resolves ``timm.data`` to pixelpipe."""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

import pixelpipe
from pixelpipe.timm import NOT_PROVIDED, TIMM_DATA_MODULES

# The static list: timm.data (1.0.29) module path -> the public names pixelpipe implements there.
MODULE_NAMES: dict[str, list[str]] = {
    "auto_augment": [
        "AugMixAugment",
        "AugmentOp",
        "AutoAugment",
        "RandAugment",
        "augment_and_mix_transform",
        "augmix_ops",
        "auto_augment_policy",
        "auto_augment_transform",
        "rand_augment_choices",
        "rand_augment_ops",
        "rand_augment_transform",
    ],
    "config": ["resolve_data_config", "resolve_model_data_config"],
    "constants": [
        "DEFAULT_CROP_MODE",
        "DEFAULT_CROP_PCT",
        "IMAGENET_DEFAULT_MEAN",
        "IMAGENET_DEFAULT_STD",
        "IMAGENET_DPN_MEAN",
        "IMAGENET_DPN_STD",
        "IMAGENET_INCEPTION_MEAN",
        "IMAGENET_INCEPTION_STD",
        "OPENAI_CLIP_MEAN",
        "OPENAI_CLIP_STD",
    ],
    "dataset": ["AugMixDataset", "ImageDataset", "IterableImageDataset"],
    "dataset_factory": ["create_dataset"],
    "dataset_info": ["CustomDatasetInfo", "DatasetInfo", "DatasetInfoLabelMapper", "LabelMappingCoverage"],
    "distributed_sampler": ["OrderedDistributedSampler", "RepeatAugSampler"],
    "imagenet_info": ["ImageNetInfo", "infer_imagenet_subset"],
    "loader": ["MultiEpochsDataLoader", "PrefetchLoader", "adapt_to_chs", "create_loader", "fast_collate"],
    "mixup": [
        "FastCollateMixup",
        "Mixup",
        "cutmix_bbox_and_lam",
        "mixup_target",
        "one_hot",
        "rand_bbox",
        "rand_bbox_minmax",
    ],
    "random_erasing": ["RandomErasing"],
    "real_labels": ["RealLabelsImagenet"],
    "scheduled_sampler": ["ScheduledBatchSampler", "ScheduledTransformDataset"],
    "transforms": [
        "CenterCropOrPad",
        "MaybePILToTensor",
        "MaybeToTensor",
        "RandomCropOrPad",
        "RandomPad",
        "RandomResizedCropAndInterpolation",
        "ResizeKeepRatio",
        "ToNumpy",
        "ToTensor",
        "TrimBorder",
        "center_crop_or_pad",
        "crop_or_pad",
        "interp_mode_to_str",
        "str_to_interp_mode",
        "str_to_pil_interp",
    ],
    "transforms_factory": [
        "create_transform",
        "transforms_imagenet_eval",
        "transforms_imagenet_train",
        "transforms_noaug_train",
    ],
    "readers": [
        "add_img_extensions",
        "create_reader",
        "del_img_extensions",
        "get_img_extensions",
        "is_img_extension",
        "set_img_extensions",
    ],
    "readers.class_map": ["load_class_map"],
    "readers.img_extensions": [
        "add_img_extensions",
        "del_img_extensions",
        "get_img_extensions",
        "is_img_extension",
        "set_img_extensions",
    ],
    "readers.reader": ["Reader"],
    "readers.reader_factory": ["create_reader"],
    "readers.reader_hfds": ["ReaderHfds"],
    "readers.reader_hfids": ["ReaderHfids"],
    "readers.reader_image_folder": ["ReaderImageFolder", "find_images_and_targets"],
    "readers.reader_image_in_tar": ["ReaderImageInTar"],
    "readers.reader_wds": ["ReaderWds"],
}

# Public names of covered timm.data modules that pixelpipe deliberately does not offer there, and why.
NOT_OFFERED: dict[str, set[str]] = {
    # timm's op functions take (img, level, **kwargs); pixelpipe's functional ops take explicit fill and
    # resampling (pixelpipe.augment.functional_pil): AugmentOp(name, ...) is the common interface. The
    # per-policy builders are auto_augment_policy(name); LEVEL_TO_ARG / NAME_TO_OP are internal tables.
    "auto_augment": {
        "shear_x",
        "shear_y",
        "translate_x_abs",
        "translate_y_abs",
        "translate_x_rel",
        "translate_y_rel",
        "rotate",
        "auto_contrast",
        "invert",
        "equalize",
        "solarize",
        "solarize_add",
        "posterize",
        "contrast",
        "color",
        "brightness",
        "sharpness",
        "gaussian_blur",
        "gaussian_blur_rand",
        "desaturate",
        "LEVEL_TO_ARG",
        "NAME_TO_OP",
        "auto_augment_policy_v0",
        "auto_augment_policy_v0r",
        "auto_augment_policy_original",
        "auto_augment_policy_originalr",
        "auto_augment_policy_3a",
    },
    # class-map label remapping helpers of newer timm releases (after 1.0.29)
    "readers.class_map": {"remap_labels", "remap_dense_target", "remap_target"},
    # a mutable module-level tuple in timm; pixelpipe's list is behind get/set/add/del_img_extensions
    "readers.img_extensions": {"IMG_EXTENSIONS"},
    # tar-index internals (pixelpipe keeps a JSON index, never pickles TarInfo objects)
    "readers.reader_image_in_tar": {"CACHE_FILENAME_SUFFIX", "TarState", "extract_tarinfos"},
    "readers.reader_hfids": {"SHUFFLE_SIZE"},
    # webdataset plumbing of timm's reader; pixelpipe streams shards with pixelpipe.streaming
    "readers.reader_wds": {
        "SAMPLE_SHUFFLE_SIZE",
        "SAMPLE_INITIAL_SIZE",
        "SplitInfo",
        "WdsTargetKeyError",
        "log_and_continue",
        "pytorch_worker_seed",
        "detshuffle2",
        "ResampledShards2",
    },
}


def test_static_list_matches_declaration() -> None:
    assert set(TIMM_DATA_MODULES) - {""} == set(MODULE_NAMES)
    assert not set(TIMM_DATA_MODULES) & set(NOT_PROVIDED)


@pytest.mark.parametrize("path", sorted(MODULE_NAMES))
def test_module_path_imports_with_pixelpipe_objects(path: str) -> None:
    # pixelpipe.<same path>, except timm.data.loader: pixelpipe.factories.loader (create_loader is a factory)
    module = importlib.import_module(TIMM_DATA_MODULES[path])
    assert TIMM_DATA_MODULES[path] == module.__name__
    for name in MODULE_NAMES[path]:
        obj = getattr(module, name)
        if hasattr(pixelpipe, name):  # the same object as the top-level name
            assert obj is getattr(pixelpipe, name), f"pixelpipe.{path}.{name}"


def test_tutorial_import_lines() -> None:
    import pixelpipe.readers.reader_image_folder
    from pixelpipe.auto_augment import rand_augment_transform
    from pixelpipe.dataset import ImageDataset
    from pixelpipe.mixup import Mixup
    from pixelpipe.readers.reader import Reader
    from pixelpipe.transforms import RandomResizedCropAndInterpolation
    from pixelpipe.transforms_factory import create_transform

    assert pixelpipe.readers.reader_image_folder.ReaderImageFolder is pixelpipe.ReaderImageFolder
    assert (create_transform, rand_augment_transform, Mixup, ImageDataset, Reader) == (
        pixelpipe.create_transform,
        pixelpipe.rand_augment_transform,
        pixelpipe.Mixup,
        pixelpipe.ImageDataset,
        pixelpipe.Reader,
    )
    assert RandomResizedCropAndInterpolation is pixelpipe.RandomResizedCropAndInterpolation


def _timm_public_names(module: types.ModuleType) -> set[str]:
    """Names a timm.data module defines for its users: its classes / functions and its own constants
    (not the ones it imports from timm.data.constants, nor other modules' classes)."""
    constants = importlib.import_module("timm.data.constants")
    names = getattr(module, "__all__", None)
    out = set()
    for name in names if names is not None else vars(module):
        if name.startswith("_"):
            continue
        obj = getattr(module, name)
        if isinstance(obj, types.ModuleType):
            continue
        if inspect.isclass(obj) or inspect.isfunction(obj):
            if not getattr(obj, "__module__", "").startswith(module.__name__.rsplit(".", 1)[0]):
                continue  # typing helpers, torch classes, ...
            if names is None and obj.__module__ != module.__name__ and module.__name__ != "timm.data.readers":
                continue  # imported from a sibling module
        elif not name.isupper():
            continue
        elif module.__name__ != "timm.data.constants" and any(obj is v for v in vars(constants).values()):
            continue  # a re-exported constant
        out.add(name)
    return out


def test_every_timm_data_module_is_covered() -> None:
    """Walk the installed timm.data: every module is aliased or declared not provided, and every public
    name of an aliased module is offered or declared not offered (with the reason above)."""
    timm_data = pytest.importorskip("timm.data")
    problems = []
    for info in pkgutil.walk_packages(timm_data.__path__, "timm.data."):
        sub = info.name[len("timm.data.") :]
        if sub in NOT_PROVIDED:
            assert sub not in MODULE_NAMES
            continue
        if sub not in MODULE_NAMES:
            problems.append(f"timm.data.{sub}: neither aliased nor declared in pixelpipe.timm.NOT_PROVIDED")
            continue
        module = importlib.import_module(info.name)
        ours = importlib.import_module(TIMM_DATA_MODULES[sub])
        for name in sorted(_timm_public_names(module)):
            if name in NOT_OFFERED.get(sub, set()):
                continue
            if not hasattr(ours, name):
                problems.append(f"{ours.__name__} lacks {name} (timm.data.{sub}.{name})")
    assert not problems, "\n".join(problems)


def test_not_provided_modules_raise_with_reason(tmp_path: Path) -> None:
    _run_python(
        """
        import pixelpipe.timm
        pixelpipe.timm.install()
        for path, words in [('naflex_loader', 'NaFlex is out of scope'),
                            ('readers.reader_tfds', 'TensorFlow Datasets are out of scope')]:
            try:
                __import__('timm.data.' + path)
            except ModuleNotFoundError as e:
                assert words in str(e), e
            else:
                raise SystemExit('no error for ' + path)
        import timm.data
        from timm.data import create_naflex_loader
        try:
            create_naflex_loader(None)
        except ValueError as e:
            assert 'out of scope' in str(e) and 'input_size_choices' in str(e)
        print('ok')
        """,
        tmp_path,
    )


def _run_python(code: str, cwd: Path, *args: str) -> str:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, *args] if args else [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_install_makes_timm_data_pixelpipe(tmp_path: Path) -> None:
    pytest.importorskip("timm")
    out = _run_python(
        """
        import pixelpipe.timm
        pixelpipe.timm.install()
        import timm, timm.data, pixelpipe
        from timm.data.readers.reader_factory import create_reader
        from timm.data.transforms_factory import create_transform
        import timm.data.mixup
        import timm.models  # reads its constants from timm.data
        assert timm.data is pixelpipe and timm.data.mixup is pixelpipe.mixup
        assert create_reader is pixelpipe.create_reader and create_transform is pixelpipe.create_transform
        assert timm.data.readers.reader_factory is pixelpipe.readers.reader_factory
        m = timm.create_model('resnet10t', num_classes=3)
        assert m.pretrained_cfg['mean'] == pixelpipe.IMAGENET_DEFAULT_MEAN
        print('ok')
        """,
        tmp_path,
    )
    assert out.strip() == "ok"


def test_timm_data_loader_is_the_loader_factory_and_keeps_pixelpipe_loader(tmp_path: Path) -> None:
    """``timm.data.loader`` is ``pixelpipe.factories.loader``; the import also sets it as
    ``pixelpipe.loader`` (``timm.data`` is the package), whose names and submodules still resolve."""
    out = _run_python(
        """
        import pixelpipe.timm
        pixelpipe.timm.install()
        import pixelpipe.loader.seeding
        from timm.data.loader import create_loader, fast_collate, PrefetchLoader
        import pixelpipe, sys
        assert create_loader is pixelpipe.create_loader and fast_collate is pixelpipe.fast_collate
        assert sys.modules['timm.data.loader'] is sys.modules['pixelpipe.factories.loader']
        low = sys.modules['pixelpipe.loader']
        assert pixelpipe.loader.SeededSampler is low.SeededSampler
        assert pixelpipe.loader.seeding is low.seeding
        print('ok')
        """,
        tmp_path,
    )
    assert out.strip() == "ok"


def test_install_refuses_after_timm_data(tmp_path: Path) -> None:
    pytest.importorskip("timm")
    _run_python(
        """
        import timm.data, pixelpipe.timm
        try:
            pixelpipe.timm.install()
        except RuntimeError as e:
            assert 'before anything imports timm' in str(e)
        else:
            raise SystemExit('installed over timm.data')
        """,
        tmp_path,
    )


def test_launcher_runs_a_script_unchanged(tmp_path: Path) -> None:
    pytest.importorskip("timm")
    script = tmp_path / "script.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys
            from timm.data import create_transform, ScheduledBatchSampler
            import timm.data, pixelpipe, helper
            assert timm.data is pixelpipe and helper.VALUE == 1
            print('args', sys.argv[1:], __name__)
            raise SystemExit(3 if '--fail' in sys.argv else 0)
            """
        )
    )
    (tmp_path / "helper.py").write_text("VALUE = 1\n")
    out = _run_python("", Path("/"), "-m", "pixelpipe.timm", str(script), "--x", "1")
    assert "args ['--x', '1'] __main__" in out
    proc = subprocess.run(
        [sys.executable, "-m", "pixelpipe.timm", str(script), "--fail"], capture_output=True, text=True
    )
    assert proc.returncode == 3
    proc = subprocess.run(
        [sys.executable, "-m", "pixelpipe.timm", str(tmp_path / "missing.py")], capture_output=True, text=True
    )
    assert proc.returncode == 2 and "no such script" in proc.stderr
