"""Decoding: encoded image bytes to PIL images or uint8 tensors, with errors that name the sample."""

from .decode import ImageSource, decode_pil, decode_tensor, read_bytes
from .encoded import EncodedImage

__all__ = ["EncodedImage", "ImageSource", "decode_pil", "decode_tensor", "read_bytes"]
