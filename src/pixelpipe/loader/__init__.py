"""pixelpipe.loader."""
