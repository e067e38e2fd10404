"""pairs rules (to be filled)."""
