"""diagnoses rules (to be filled)."""
