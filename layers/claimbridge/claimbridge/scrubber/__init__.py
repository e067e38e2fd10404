"""scrubber package."""
