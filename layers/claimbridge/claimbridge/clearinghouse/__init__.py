"""Clearinghouse port and adapters."""
