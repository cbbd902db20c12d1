"""summarize package."""
