"""providers rules (to be filled)."""
