"""``timm.data.dataset_info``'s module path: an alias of names from :mod:`pixelpipe.datasets`.

The objects are pixelpipe's own and this module holds no code:
``from timm.data.dataset_info import ...`` becomes ``from pixelpipe.dataset_info import ...``.

Example:
    >>> import pixelpipe
    >>> from pixelpipe.dataset_info import CustomDatasetInfo
    >>> CustomDatasetInfo is pixelpipe.CustomDatasetInfo
    True
"""

from .datasets import CustomDatasetInfo, DatasetInfo, DatasetInfoLabelMapper, LabelMappingCoverage

__all__ = ["CustomDatasetInfo", "DatasetInfo", "DatasetInfoLabelMapper", "LabelMappingCoverage"]
