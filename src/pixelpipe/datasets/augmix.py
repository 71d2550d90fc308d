"""AugMix split views: one clean and ``num_splits - 1`` augmented views of every sample.

Paper: Hendrycks et al., "AugMix: A Simple Data Processing Method to Improve Robustness and Uncertainty"
(ICLR 2020). Follows the reference's ``AugMixDataset`` (REFERENCE §2.3): the wrapped dataset's
``transform`` is the 3-stage ``(primary, secondary, final)`` split that
``create_transform(..., separate=True)`` returns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch.utils.data

from ..errors import ConfigError

__all__ = ["AugMixDataset"]


class AugMixDataset(torch.utils.data.Dataset):
    """Wrap a map dataset so each sample comes as ``((clean, aug_1, ..., aug_{n-1}), target)``.

    The base dataset applies ``primary`` once (crop, flip); the wrapper then returns ``final(x)`` (split
    0, the clean view) followed by ``final(secondary(x))`` for each further split, each with a fresh draw
    of the secondary (AugMix / RandAugment) transform. ``final`` may be ``None`` (identity).

    Args:
        dataset: a map dataset with a ``transform`` attribute holding ``(primary, secondary, final)``, or
            ``None`` until one is assigned to the wrapper (as ``create_loader(num_aug_splits=...)`` does).
        num_splits: number of views per sample, >= 1.

    Raises:
        ConfigError: ``num_splits`` is not an int >= 1, or the transform is not a 3-tuple/list.

    Example:
        >>> class Numbers(torch.utils.data.Dataset):
        ...     transform = None
        ...     def __len__(self):
        ...         return 3
        ...     def __getitem__(self, i):
        ...         x = i if self.transform is None else self.transform(i)
        ...         return x, i % 2
        >>> base = Numbers()
        >>> base.transform = (lambda x: x * 10, lambda x: x + 1, lambda x: -x)
        >>> ds = AugMixDataset(base, num_splits=3)
        >>> ds[2]
        ((-20, -21, -21), 0)
    """

    def __init__(self, dataset: Any, num_splits: int = 2) -> None:
        if isinstance(num_splits, bool) or not isinstance(num_splits, int) or num_splits < 1:
            raise ConfigError(f"AugMixDataset: num_splits must be an int >= 1, got {num_splits!r}")
        if not hasattr(dataset, "transform"):
            raise ConfigError(
                f"AugMixDataset: the wrapped dataset ({type(dataset).__name__}) has no 'transform' attribute"
            )
        self.dataset = dataset
        self.num_splits = num_splits
        self.augmentation: Callable[[Any], Any] | None = None
        self.normalize: Callable[[Any], Any] | None = None
        if dataset.transform is not None:  # else split when one is assigned (create_loader does that)
            self._set_transforms(dataset.transform)

    def _set_transforms(self, stages: Any) -> None:
        if not isinstance(stages, (tuple, list)) or len(stages) != 3:
            if isinstance(stages, (tuple, list)):
                got = f"{type(stages).__name__} of length {len(stages)}"
            else:
                got = "None" if stages is None else type(stages).__name__
            raise ConfigError(
                "AugMixDataset: the dataset's transform must be a tuple/list of 3 transforms "
                f"(primary, secondary, final), as create_transform(..., separate=True) returns; got {got}"
            )
        primary, secondary, final = stages
        self.dataset.transform = primary
        self.augmentation = secondary
        self.normalize = final

    @property
    def transform(self) -> Any:
        """The base dataset's (primary) transform; assign a ``(primary, secondary, final)`` to re-split."""
        return self.dataset.transform

    @transform.setter
    def transform(self, stages: Any) -> None:
        self._set_transforms(stages)

    def _finish(self, x: Any) -> Any:
        return x if self.normalize is None else self.normalize(x)

    def _augment(self, x: Any) -> Any:
        return x if self.augmentation is None else self.augmentation(x)

    def __getitem__(self, index: int) -> tuple[Any, ...]:
        x, y, *rest = self.dataset[index]
        views = [self._finish(x)]
        views.extend(self._finish(self._augment(x)) for _ in range(self.num_splits - 1))
        return (tuple(views), y, *rest)

    def __len__(self) -> int:
        return len(self.dataset)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.dataset!r}, num_splits={self.num_splits})"
