"""pixelpipe: fast image input pipelines for PyTorch."""

__version__ = "0.1.0"
