"""pixelpipe.io."""
