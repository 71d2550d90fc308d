"""``timm.data.real_labels``'s module path: an alias of names from :mod:`pixelpipe.datasets`.

The objects are pixelpipe's own and this module holds no code:
``from timm.data.real_labels import ...`` becomes ``from pixelpipe.real_labels import ...``.

Example:
    >>> import pixelpipe
    >>> from pixelpipe.real_labels import RealLabelsImagenet
    >>> RealLabelsImagenet is pixelpipe.RealLabelsImagenet
    True
"""

from .datasets import RealLabelsImagenet

__all__ = ["RealLabelsImagenet"]
