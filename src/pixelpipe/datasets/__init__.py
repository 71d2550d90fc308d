"""pixelpipe.datasets."""
