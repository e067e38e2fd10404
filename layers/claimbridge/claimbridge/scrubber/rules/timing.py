"""timing rules (to be filled)."""
