"""``timm.data.scheduled_sampler``'s module path: an alias of names from :mod:`pixelpipe.loader`.

The objects are pixelpipe's own and this module holds no code:
``from timm.data.scheduled_sampler import ...`` becomes ``from pixelpipe.scheduled_sampler import ...``.

Example:
    >>> import pixelpipe
    >>> from pixelpipe.scheduled_sampler import ScheduledBatchSampler
    >>> ScheduledBatchSampler is pixelpipe.ScheduledBatchSampler
    True
"""

from .loader import ScheduledBatchSampler, ScheduledTransformDataset

__all__ = ["ScheduledBatchSampler", "ScheduledTransformDataset"]
