"""telehealth rules (to be filled)."""
