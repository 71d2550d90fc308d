"""pixelpipe.augment."""
