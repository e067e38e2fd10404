"""fhir package."""
