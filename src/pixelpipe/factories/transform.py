"""``create_transform``: timm's signature, building an :class:`~pixelpipe.recipe.AugmentRecipe`.

The function only checks its arguments into a recipe and hands it to
:func:`pixelpipe.transforms.transforms_from_recipe`, which builds the train, no-augmentation or eval
pipeline (see :mod:`pixelpipe.transforms.factory` for the pipelines and the differences from the
reference).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..constants import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from ..recipe import AugmentRecipe
from ..transforms.factory import Pipeline, Size, transforms_from_recipe

__all__ = ["create_transform"]


def create_transform(
    input_size: Size = 224,
    is_training: bool = False,
    no_aug: bool = False,
    train_crop_mode: str | None = None,
    scale: Sequence[float] | None = None,
    ratio: Sequence[float] | None = None,
    hflip: float = 0.5,
    vflip: float = 0.0,
    color_jitter: float | Sequence[float] | None = 0.4,
    color_jitter_prob: float | None = None,
    grayscale_prob: float | None = 0.0,
    gaussian_blur_prob: float | None = 0.0,
    auto_augment: str | None = None,
    interpolation: str = "bilinear",
    mean: Sequence[float] = IMAGENET_DEFAULT_MEAN,
    std: Sequence[float] = IMAGENET_DEFAULT_STD,
    re_prob: float = 0.0,
    re_mode: str = "const",
    re_count: int = 1,
    re_num_splits: int = 0,
    crop_pct: float | None = None,
    crop_mode: str | None = None,
    crop_border_pixels: int | None = None,
    tf_preprocessing: bool = False,
    use_prefetcher: bool = False,
    normalize: bool = True,
    separate: bool = False,
    naflex: bool = False,
    patch_size: Size = 16,
    max_seq_len: int = 576,
    patchify: bool = False,
    patchify_channels_last: bool = True,
    patchify_flatten: bool = True,
    backend: str = "tensor",
) -> Pipeline:
    """Build the train, no-augmentation or eval pipeline (see REFERENCE §4 and
    :mod:`pixelpipe.transforms.factory`).

    ``input_size`` may be an int or ``(C, H, W)`` / ``(H, W)``. The arguments become an
    :class:`~pixelpipe.recipe.AugmentRecipe` (``AugmentRecipe(**arguments)``), whose pipeline this returns.

    ``backend='tensor'`` (default) runs the pipeline on ``uint8`` tensors: PIL images are converted once on
    entry, and pixelpipe's datasets hand it the encoded image to decode itself (fused random resized crop,
    reduced JPEG scale); the output is within the README's stated tolerance of the PIL path.
    ``backend='pil'`` gives the reference's PIL pipeline, bit-exact with timm on PIL images.

    Raises:
        ConfigError: an invalid or unsupported argument (named).

    Example:
        >>> import torch
        >>> tf = create_transform(32, use_prefetcher=True)
        >>> out = tf(torch.randint(0, 256, (3, 48, 64), dtype=torch.uint8))
        >>> out.shape, out.dtype
        (torch.Size([3, 32, 32]), torch.uint8)
        >>> from PIL import Image
        >>> exact = create_transform(32, use_prefetcher=True, backend='pil')  # timm's PIL pipeline
        >>> exact(Image.new('RGB', (64, 48), (200, 10, 10)))[:, 0, 0].tolist()
        [200, 10, 10]
    """
    return transforms_from_recipe(AugmentRecipe(**locals()))
