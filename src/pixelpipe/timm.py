"""Run timm's own scripts (``train.py``, ``validate.py``, ...) unchanged, with pixelpipe as their data side.

Command line::

    python -m pixelpipe.timm train.py --data-dir data/ --model resnet50 --epochs 90 ...
    python -m pixelpipe.timm validate.py --data-dir data/ --model resnet50 --checkpoint best.pth.tar

The launcher installs an import hook, then runs the script as ``__main__`` (as ``python train.py ...``
would: ``sys.argv`` and ``sys.path[0]`` are the script's). The hook makes ``timm.data`` and its
submodules resolve to pixelpipe for the whole process: ``timm.data`` *is* the ``pixelpipe`` package,
``timm.data.mixup`` is :mod:`pixelpipe.mixup`, ``timm.data.readers.reader_factory`` is
:mod:`pixelpipe.readers.reader_factory`, ... (:data:`TIMM_DATA_MODULES` lists them), also for the rest of
timm (``timm.models`` reads its normalisation constants from ``timm.data``). Modules pixelpipe does not
provide (:data:`NOT_PROVIDED`: NaFlex, TFDS, TF preprocessing, ...) raise ``ModuleNotFoundError`` saying
why and what to use instead.

The same from Python, before anything imports timm::

    import pixelpipe.timm
    pixelpipe.timm.install()
    import timm.data            # pixelpipe

Without the launcher, a copy of ``train.py`` with its one ``timm.data`` import line changed works too::

    from pixelpipe import create_dataset, create_loader, create_naflex_loader, resolve_data_config, \\
        Mixup, FastCollateMixup, AugMixDataset

Example:
    >>> TIMM_DATA_MODULES['readers.reader_factory']
    'pixelpipe.readers.reader_factory'
    >>> import pixelpipe, pixelpipe.readers.reader_factory as m
    >>> m.create_reader is pixelpipe.create_reader
    True
    >>> NOT_PROVIDED['naflex_loader'].split(';')[0]
    'NaFlex is out of scope'
"""

from __future__ import annotations

import argparse
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import runpy
import sys
from collections.abc import Mapping, Sequence
from types import MappingProxyType, ModuleType

__all__ = ["NOT_PROVIDED", "TIMM_DATA_MODULES", "install", "installed", "main", "uninstall"]

_PREFIX = "timm.data"

#: Every module of timm's ``timm.data`` (1.0.29) that holds public names pixelpipe implements, as
#: ``{path under timm.data: pixelpipe module}`` (``''`` is ``timm.data`` itself). The pixelpipe module
#: has the same path under ``pixelpipe``, except ``loader``: ``pixelpipe.factories.loader``, which holds
#: ``create_loader`` and the rest of timm's ``timm.data.loader`` names. Their names are pixelpipe's own
#: objects.
_ELSEWHERE = {
    # timm.data.loader's create_loader is a factory (pixelpipe's top layer); pixelpipe.loader holds the
    # lower pieces (prefetcher, collate, samplers) and does not import the device path create_loader builds
    "loader": "pixelpipe.factories.loader",
}
TIMM_DATA_MODULES: Mapping[str, str] = MappingProxyType(
    {
        sub: _ELSEWHERE.get(sub, f"pixelpipe.{sub}" if sub else "pixelpipe")
        for sub in (
            "",
            "auto_augment",
            "config",
            "constants",
            "dataset",
            "dataset_factory",
            "dataset_info",
            "distributed_sampler",
            "imagenet_info",
            "loader",
            "mixup",
            "random_erasing",
            "real_labels",
            "scheduled_sampler",
            "transforms",
            "transforms_factory",
            "readers",
            "readers.class_map",
            "readers.img_extensions",
            "readers.reader",
            "readers.reader_factory",
            "readers.reader_hfds",
            "readers.reader_hfids",
            "readers.reader_image_folder",
            "readers.reader_image_in_tar",
            "readers.reader_wds",
        )
    }
)

_NAFLEX = (
    "NaFlex is out of scope; use create_loader with a fixed input_size, or input_size_choices to train at "
    "several resolutions (train.py --train-img-sizes), or run without pixelpipe.timm for NaFlex models"
)

#: The other modules of ``timm.data`` (1.0.29, and newer releases' additions), with why pixelpipe has
#: no module of that path.
NOT_PROVIDED: Mapping[str, str] = MappingProxyType(
    {
        "naflex_dataset": _NAFLEX,
        "naflex_loader": _NAFLEX,
        "naflex_mixup": _NAFLEX,
        "naflex_random_erasing": _NAFLEX,
        "naflex_transforms": _NAFLEX,
        "tf_preprocessing": "TF preprocessing needs TensorFlow and is out of scope",
        "readers.reader_tfds": (
            "TensorFlow Datasets are out of scope; use folders, tars, WebDataset shards (wds/) or Hugging "
            "Face datasets (hfds/, hfids/)"
        ),
        "readers.reader_image_tar": (
            "the legacy single-tar reader (deprecated in timm); use readers.reader_image_in_tar"
        ),
        "readers.shared_count": "an internal helper of timm's iterable readers",
        # added to timm.data after 1.0.29
        "model_config": "model input resolution (timm.data.model_config, newer than timm 1.0.29)",
        "target_transforms": "multi-label targets (newer than timm 1.0.29)",
        "readers.targets": "multi-field targets (newer than timm 1.0.29)",
        "readers._hfds": "an internal helper of timm's Hugging Face readers",
    }
)


class _AliasLoader(importlib.abc.Loader):
    """Loads ``timm.data.<path>`` as the pixelpipe module of the same path (replacing itself in
    ``sys.modules``, which the import system supports, so the objects are pixelpipe's own)."""

    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None  # a placeholder; exec_module swaps in the pixelpipe module

    def exec_module(self, module: ModuleType) -> None:
        sys.modules[module.__name__] = importlib.import_module(self.target)


class _TimmDataFinder(importlib.abc.MetaPathFinder):
    """Meta-path finder answering for ``timm.data`` and every module under it."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != _PREFIX and not fullname.startswith(_PREFIX + "."):
            return None
        sub = fullname[len(_PREFIX) + 1 :]
        if sub in TIMM_DATA_MODULES:
            module = TIMM_DATA_MODULES[sub]
            return importlib.util.spec_from_loader(
                fullname, _AliasLoader(module), is_package=_is_package(module)
            )
        why = NOT_PROVIDED.get(sub, "pixelpipe has no module of that path")
        raise ModuleNotFoundError(f"{fullname} is not provided by pixelpipe: {why}.", name=fullname)


def _is_package(module: str) -> bool:
    spec = importlib.util.find_spec(module)
    return spec is not None and spec.submodule_search_locations is not None


_FINDER = _TimmDataFinder()


def installed() -> bool:
    """Whether the ``timm.data`` -> pixelpipe import hook is installed."""
    return _FINDER in sys.meta_path


def install() -> None:
    """Make ``timm.data`` and its submodules resolve to pixelpipe in this process.

    Call it before anything imports ``timm`` (or at least ``timm.data``). Idempotent.

    Raises:
        RuntimeError: timm's own ``timm.data`` is already imported (objects made from it could not be
            replaced).
    """
    if installed():
        return
    loaded = sys.modules.get(_PREFIX)
    if loaded is not None and not (getattr(loaded, "__name__", "") == "pixelpipe"):
        raise RuntimeError(
            "pixelpipe.timm.install(): timm.data is already imported from timm; install the hook before "
            "anything imports timm (python -m pixelpipe.timm SCRIPT does)."
        )
    sys.meta_path.insert(0, _FINDER)


def uninstall() -> None:
    """Remove the hook and forget the ``timm.data`` aliases (timm's own can then be imported again)."""
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
    for name in [n for n in sys.modules if n == _PREFIX or n.startswith(_PREFIX + ".")]:
        if getattr(sys.modules[name], "__name__", "").startswith("pixelpipe"):
            del sys.modules[name]
    timm = sys.modules.get("timm")
    if timm is not None and getattr(getattr(timm, "data", None), "__name__", "") == "pixelpipe":
        delattr(timm, "data")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m pixelpipe.timm",
        description="Run a timm script (train.py, validate.py, ...) with timm.data resolved to pixelpipe.",
    )
    p.add_argument("script", help="the script to run, e.g. train.py from the timm repository")
    p.add_argument("args", nargs=argparse.REMAINDER, help="the script's own arguments, unchanged")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``SCRIPT ARGS...`` as ``__main__`` with the hook installed; returns the exit status.

    ``SystemExit`` raised by the script (``sys.exit``, argparse errors) becomes the return value.
    """
    opts = _parser().parse_args(argv)
    script = os.fspath(opts.script)
    if not os.path.isfile(script):
        print(f"python -m pixelpipe.timm: no such script: {script!r}", file=sys.stderr)
        return 2
    install()
    print("pixelpipe.timm: timm.data resolves to pixelpipe for this run", file=sys.stderr)
    old_argv = sys.argv[:]
    sys.argv = [script, *opts.args]
    script_dir = os.path.dirname(os.path.abspath(script))
    sys.path.insert(0, script_dir)  # as `python SCRIPT` does
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as e:
        code = e.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code
        print(code, file=sys.stderr)
        return 1
    finally:
        sys.argv = old_argv
        if sys.path and sys.path[0] == script_dir:
            del sys.path[0]
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised through subprocess tests
    sys.exit(main())
