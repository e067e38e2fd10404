"""Domain error tree.

Messages name locations (FHIR paths, X12 locations), resource ids and rule ids, never values: they end up in
logs, metrics and error reports, which must stay free of PHI.
"""

from __future__ import annotations

from typing import ClassVar


class ClaimsError(Exception):
    """Base of every error the domain raises on purpose."""

    retryable: ClassVar[bool] = False
    code: ClassVar[str] = "CB-ERROR"


class InputError(ClaimsError):
    """The FHIR input cannot become a claim; ``code`` is one of the contract's ``IN-*`` codes (contract section 10)."""

    def __init__(self, code: str, fhir_path: str, message: str) -> None:
        super().__init__(f"{code} {fhir_path}: {message}")
        self.in_code = code
        self.fhir_path = fhir_path
        self.message = message


class FileFormatError(InputError):
    """The whole object is unreadable (not JSON, not a Bundle, unsupported Bundle.type): quarantine it."""

    def __init__(self, fhir_path: str, message: str) -> None:
        super().__init__("IN-FORMAT", fhir_path, message)


class TenantError(InputError):
    """Unknown or disabled tenant (IN-TENANT)."""

    def __init__(self, fhir_path: str, message: str) -> None:
        super().__init__("IN-TENANT", fhir_path, message)


class X12SyntaxError(ClaimsError):
    """An X12 document could not be read; ``x12_location`` names the segment."""

    def __init__(self, x12_location: str, message: str) -> None:
        super().__init__(f"{x12_location}: {message}")
        self.x12_location = x12_location


class StateConflict(ClaimsError):
    """A conditional write lost: the claim changed meanwhile, or the transition is not allowed."""


class PrincipalTaken(StateConflict):
    """A tenant document lists a tenant API principal that another tenant's document already maps."""

    code = "CB-PRINCIPAL-TAKEN"


class ClearinghouseError(ClaimsError):
    """The clearinghouse refused a submission for good (bad input, authentication)."""


class ClearinghouseUnavailable(ClearinghouseError):
    """The clearinghouse could not be reached or answered 5xx/429: try again later."""

    retryable: ClassVar[bool] = True
