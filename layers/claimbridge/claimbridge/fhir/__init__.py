"""FHIR R4 intake: Bundle loading, reference resolution and R4B validation of the resources a claim reads."""

from claimbridge.fhir.bundle import ACCEPTED_BUNDLE_TYPES, JsonObject, Located, Submission, load_bundle, resource_label
from claimbridge.fhir.references import ReferenceProblem, Resolver, UnresolvedReference, identifier_pairs
from claimbridge.fhir.validation import element_path, validation_problems

__all__ = [
    "ACCEPTED_BUNDLE_TYPES",
    "JsonObject",
    "Located",
    "ReferenceProblem",
    "Resolver",
    "Submission",
    "UnresolvedReference",
    "element_path",
    "identifier_pairs",
    "load_bundle",
    "resource_label",
    "validation_problems",
]
