"""Decoding: encoded image bytes to PIL images or uint8 tensors, with errors that name the sample."""

from .decode import ImageSource, decode_pil, decode_tensor, read_bytes

__all__ = ["ImageSource", "decode_pil", "decode_tensor", "read_bytes"]
