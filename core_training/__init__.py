"""core_training package."""
