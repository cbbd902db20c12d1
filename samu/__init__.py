"""samu package."""
