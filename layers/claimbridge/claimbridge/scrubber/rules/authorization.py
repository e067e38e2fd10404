"""authorization rules (to be filled)."""
