"""Claimbridge: FHIR R4 in, X12 5010 837P out, every claim followed until it is paid."""

__version__ = "0.1.0"
