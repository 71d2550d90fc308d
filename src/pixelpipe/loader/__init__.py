"""Loading batches: ``uint8`` collate, device prefetch, samplers, per-sample seeding.

The pieces of the reference's ``timm.data.loader`` and ``timm.data.distributed_sampler``, plus the
seeding that makes a loader's output a function of one seed whatever the number of workers
(:mod:`pixelpipe.loader.seeding`). ``create_loader``, which puts them together with a transform (or with
the device path, :mod:`pixelpipe.device`), is a factory in the top layer: :mod:`pixelpipe.factories.loader`
(``pixelpipe.create_loader``; ``timm.data.loader`` under :mod:`pixelpipe.timm`). This package does not
import :mod:`pixelpipe.device`, nor the device it.
"""

from .collate import fast_collate
from .multi_epochs import MultiEpochsDataLoader, RepeatSampler
from .prefetch import PrefetchLoader, adapt_to_chs, resolve_device
from .samplers import OrderedDistributedSampler, RepeatAugSampler
from .scheduled import ScheduledBatchSampler, ScheduledTransformDataset
from .seeding import SampleKey, SeededCollate, SeededDataset, SeededSampler, worker_init
from .skips import find_skip_source, skip_report

__all__ = [
    "MultiEpochsDataLoader",
    "OrderedDistributedSampler",
    "PrefetchLoader",
    "RepeatAugSampler",
    "RepeatSampler",
    "SampleKey",
    "ScheduledBatchSampler",
    "ScheduledTransformDataset",
    "SeededCollate",
    "SeededDataset",
    "SeededSampler",
    "adapt_to_chs",
    "fast_collate",
    "find_skip_source",
    "resolve_device",
    "skip_report",
    "worker_init",
]
