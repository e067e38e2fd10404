"""FHIR R4 intake: submission readers, an on-disk resource index, reference resolution and R4B validation."""

from claimbridge.fhir.bundle import ACCEPTED_BUNDLE_TYPES, JsonObject, Located, resource_label
from claimbridge.fhir.index import CLAIM_RESOURCE_TYPES, LineError, SubmissionIndex
from claimbridge.fhir.readers import (
    BULK_MANIFEST_NAME,
    ManifestOutput,
    is_ndjson,
    load_bundle,
    parse_manifest,
    read_bulk_set,
    read_bundle,
    read_ndjson,
    read_submission,
)
from claimbridge.fhir.references import ReferenceProblem, Resolver, UnresolvedReference, identifier_pairs
from claimbridge.fhir.validation import element_path, validation_problems

__all__ = [
    "ACCEPTED_BUNDLE_TYPES",
    "BULK_MANIFEST_NAME",
    "CLAIM_RESOURCE_TYPES",
    "JsonObject",
    "LineError",
    "Located",
    "ManifestOutput",
    "ReferenceProblem",
    "Resolver",
    "SubmissionIndex",
    "UnresolvedReference",
    "element_path",
    "identifier_pairs",
    "is_ndjson",
    "load_bundle",
    "parse_manifest",
    "read_bulk_set",
    "read_bundle",
    "read_ndjson",
    "read_submission",
    "resource_label",
    "validation_problems",
]
