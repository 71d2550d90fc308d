"""Decoding: encoded image bytes to PIL images or uint8 tensors, with errors that name the sample, a pixel
limit checked before decoding, and optional EXIF orientation. Tensors are decoded by TorchCodec when it is
installed, else by ``torchvision.io``, else by Pillow (:mod:`pixelpipe.io.codecs`)."""

from .codecs import decoder_backend, set_decoder_backend
from .decode import (
    DEFAULT_MAX_IMAGE_PIXELS,
    USE_DEFAULT,
    ImageSource,
    check_image_size,
    decode_pil,
    decode_tensor,
    get_max_image_pixels,
    read_bytes,
    set_max_image_pixels,
)
from .encoded import EncodedImage, accepts_encoded
from .header import ImageHeader, read_header
from .limits import DEFAULT_MAX_MEMBER_BYTES

__all__ = [
    "DEFAULT_MAX_IMAGE_PIXELS",
    "DEFAULT_MAX_MEMBER_BYTES",
    "USE_DEFAULT",
    "EncodedImage",
    "ImageHeader",
    "ImageSource",
    "accepts_encoded",
    "check_image_size",
    "decode_pil",
    "decode_tensor",
    "decoder_backend",
    "get_max_image_pixels",
    "read_bytes",
    "read_header",
    "set_decoder_backend",
    "set_max_image_pixels",
]
