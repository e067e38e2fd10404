"""Packaged remittance tables (read with importlib.resources)."""
