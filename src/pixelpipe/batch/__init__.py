"""pixelpipe.batch."""
