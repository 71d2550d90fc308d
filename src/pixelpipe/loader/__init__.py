"""Loading batches: ``uint8`` collate, device prefetch, samplers, per-sample seeding, ``create_loader``.

The pieces of the reference's ``timm.data.loader`` and ``timm.data.distributed_sampler``, plus the
seeding that makes a loader's output a function of one seed whatever the number of workers
(:mod:`pixelpipe.loader.seeding`).
"""

from .collate import fast_collate
from .factory import create_loader
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
    "create_loader",
    "fast_collate",
    "find_skip_source",
    "resolve_device",
    "skip_report",
    "worker_init",
]
