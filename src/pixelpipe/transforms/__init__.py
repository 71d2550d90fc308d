"""pixelpipe.transforms."""
