"""``timm.data.distributed_sampler``'s module path: an alias of names from :mod:`pixelpipe.loader`.

The objects are pixelpipe's own and this module holds no code:
``from timm.data.distributed_sampler import ...`` becomes ``from pixelpipe.distributed_sampler import ...``.

Example:
    >>> import pixelpipe
    >>> from pixelpipe.distributed_sampler import RepeatAugSampler
    >>> RepeatAugSampler is pixelpipe.RepeatAugSampler
    True
"""

from .loader import OrderedDistributedSampler, RepeatAugSampler

__all__ = ["OrderedDistributedSampler", "RepeatAugSampler"]
