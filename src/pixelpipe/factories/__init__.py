"""The factories, the top layer: ``create_transform``, ``create_dataset``, ``create_loader`` and the
device path's loader (``augment_on='device'``).

They sit above every package they combine (see ARCHITECTURE.md): :mod:`.transform` builds an
:class:`~pixelpipe.recipe.AugmentRecipe` and hands it to :mod:`pixelpipe.transforms`; :mod:`.dataset`
picks a reader and a dataset; :mod:`.loader` builds the recipe, the transform, the sampler, the DataLoader
and the prefetcher (:mod:`pixelpipe.loader`), or, with ``augment_on='device'``, the batched device path
(:mod:`.device_loader`, which joins :mod:`pixelpipe.loader` and :mod:`pixelpipe.device`, so neither of those
imports the other). ``pixelpipe.create_transform`` and the other public names are these objects.
"""

from .dataset import create_dataset, find_split_root
from .device_loader import DecodeOnly, DevicePrefetchLoader, ReadBytes, device_loader_parts
from .loader import create_loader
from .transform import create_transform

__all__ = [
    "DecodeOnly",
    "DevicePrefetchLoader",
    "ReadBytes",
    "create_dataset",
    "create_loader",
    "create_transform",
    "device_loader_parts",
    "find_split_root",
]
