"""ImageNet "ReaL" (reassessed labels) accuracy for validation runs.

Paper: Beyer et al., "Are we done with ImageNet?" (2020), https://arxiv.org/abs/2006.07159; labels from
https://github.com/google-research/reassessed-imagenet. Reference: timm ``real_labels.py`` (REFERENCE.md
§10.3), written anew here.

The labels are a JSON list with one entry per ImageNet validation image, in file order: entry ``i`` is the
list of correct class indices of ``ILSVRC2012_val_{i + 1:08d}.JPEG`` (empty when the raters found no
valid label; those images are left out of the accuracy). A prediction is a top-k hit when any of its
``k`` best classes is among the image's labels.

pixelpipe does not ship the JSON file (``imagenet_real_labels.json``): pass ``real_json``, or it is looked
for like :class:`~pixelpipe.datasets.info.ImageNetInfo`'s metadata (``info_dir``, the
``PIXELPIPE_IMAGENET_INFO`` environment variable, an installed timm's package data).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ..errors import ConfigError
from .info import find_info_file

__all__ = ["RealLabelsImagenet"]

_REAL_JSON = "imagenet_real_labels.json"


class RealLabelsImagenet:
    """Accumulate top-k ReaL accuracy over batches of classifier outputs.

    Args:
        filenames: the image file names in the order their outputs will be passed to :meth:`add_result`,
            one per validation image (50,000 for the full set). Paths are fine: only the base name
            (``ILSVRC2012_val_00000001.JPEG``) is used to look up the labels.
        real_json: path of the ReaL labels JSON file. ``None``: ``imagenet_real_labels.json`` is looked for
            in ``info_dir``, the ``PIXELPIPE_IMAGENET_INFO`` environment variable's folder, or an installed
            timm's package data.
        topk: the k values to score.
        info_dir: folder holding ``imagenet_real_labels.json`` (used when ``real_json`` is ``None``).

    Attributes:
        real_labels: ``{file name: list of class indices}``.
        filenames: as given.
        topk: as given.
        is_correct: ``{k: [hit or not for each scored image]}``.
        sample_idx: how many outputs have been added.

    Raises:
        ValueError: ``filenames`` and the labels differ in length, or a bad ``topk``.
        FileNotFoundError: ``real_json`` is ``None`` and the labels file cannot be found.

    Example:
        >>> import json, tempfile, torch
        >>> path = os.path.join(tempfile.mkdtemp(), 'real.json')
        >>> with open(path, 'w') as f:
        ...     json.dump([[2], [], [0, 1]], f)
        >>> names = [f'ILSVRC2012_val_{i:08d}.JPEG' for i in (1, 2, 3)]
        >>> real = RealLabelsImagenet(names, real_json=path, topk=(1, 2))
        >>> real.add_result(torch.tensor([[0.1, 0.5, 0.4], [1.0, 0.0, 0.0], [0.9, 0.0, 0.2]]))
        >>> real.is_correct  # the second image has no labels: not scored
        {1: [False, True], 2: [True, True]}
        >>> real.get_accuracy()
        {1: 50.0, 2: 100.0}
        >>> real.get_accuracy(k=1)
        50.0
    """

    def __init__(
        self,
        filenames: Sequence[str],
        real_json: str | os.PathLike | None = None,
        topk: Sequence[int] = (1, 5),
        *,
        info_dir: str | os.PathLike | None = None,
    ) -> None:
        try:
            ks = list(topk)
        except TypeError:
            ks = None
        if not ks or not all(isinstance(k, int) and not isinstance(k, bool) and k > 0 for k in ks):
            raise ConfigError(f"topk must be a non-empty sequence of positive ints, got {topk!r}")
        path: str | os.PathLike[str]
        if real_json is None:
            try:
                path = find_info_file(_REAL_JSON, info_dir)
            except FileNotFoundError as e:
                raise FileNotFoundError(
                    f"{e}; or pass real_json= the path of the ReaL labels JSON file"
                ) from None
        else:
            path = os.fspath(real_json)
        with open(path, encoding="utf-8") as f:
            labels = json.load(f)
        if not isinstance(labels, list):
            raise ValueError(
                f"real_json {str(path)!r}: expected a JSON list of label lists, got {type(labels)}"
            )
        self.real_labels: dict[str, list[int]] = {
            f"ILSVRC2012_val_{i + 1:08d}.JPEG": lbl for i, lbl in enumerate(labels)
        }
        if len(filenames) != len(self.real_labels):
            raise ValueError(
                f"filenames has {len(filenames)} entries but {str(path)!r} has labels for "
                f"{len(self.real_labels)} images; pass one file name per validation image"
            )
        self.filenames = filenames
        self.topk = topk
        self._maxk = max(ks)
        self.is_correct: dict[int, list[bool]] = {k: [] for k in ks}
        self.sample_idx = 0

    def add_result(self, output: Any) -> None:
        """Score one batch of outputs, shape ``(batch, num_classes)`` (logits or probabilities, a tensor
        or an array), for the next ``batch`` file names.

        Raises:
            ValueError: ``output`` is not 2-D, has fewer classes than the largest k, or runs past the end
                of ``filenames``.
            KeyError: a file name that is not an ImageNet validation file name.
        """
        output = torch.as_tensor(output)
        if output.ndim != 2:
            raise ValueError(f"output must have shape (batch, num_classes), got {tuple(output.shape)}")
        if output.shape[1] < self._maxk:
            raise ValueError(
                f"output has {output.shape[1]} classes, fewer than the largest k in topk={self.topk}"
            )
        if self.sample_idx + output.shape[0] > len(self.filenames):
            raise ValueError(
                f"output batch of {output.shape[0]} after {self.sample_idx} results runs past the "
                f"{len(self.filenames)} file names"
            )
        preds = output.topk(self._maxk, 1, True, True)[1].cpu().tolist()
        for pred in preds:
            name = os.path.basename(self.filenames[self.sample_idx])
            try:
                labels = self.real_labels[name]
            except KeyError:
                raise KeyError(
                    f"no ReaL labels for file {name!r} (sample {self.sample_idx}); names must look like "
                    "'ILSVRC2012_val_00000001.JPEG'"
                ) from None
            if labels:
                wanted = set(labels)
                # rank of the best-ranked correct class: a top-k hit is a rank below k
                rank = next((r for r, p in enumerate(pred) if p in wanted), self._maxk)
                for k, scores in self.is_correct.items():
                    scores.append(rank < k)
            self.sample_idx += 1

    def get_accuracy(self, k: int | None = None) -> dict[int, float] | float:
        """Top-k accuracy in percent over the scored images (``nan`` before any).

        Args:
            k: one of ``topk``; ``None``: a ``{k: accuracy}`` dict for all of them.

        Raises:
            KeyError: ``k`` is not one of ``topk``.
        """
        if k is None:
            return {k: self._accuracy(k) for k in self.is_correct}
        if k not in self.is_correct:
            raise KeyError(f"k={k!r} is not one of topk={self.topk}")
        return self._accuracy(k)

    def _accuracy(self, k: int) -> float:
        scores = self.is_correct[k]
        return float(np.mean(scores)) * 100 if scores else math.nan
