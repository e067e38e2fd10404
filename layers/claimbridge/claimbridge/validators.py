"""Check-digit and format checks shared by the tenant config, mapping and the scrubber."""

from __future__ import annotations

_NPI_PREFIX_SUM = 24  # Luhn contribution of the 80840 card-issuer prefix (CMS NPI check-digit requirement)


def npi_is_valid(npi: str) -> bool:
    """BH-NPI-01: 10 digits, first digit 1 or 2, last digit the Luhn check digit over ``80840`` + the first nine.

    >>> npi_is_valid("1234567893"), npi_is_valid("1234567890")
    (True, False)
    """
    if len(npi) != 10 or not npi.isdigit() or npi[0] not in "12":
        return False
    total = _NPI_PREFIX_SUM
    for position, char in enumerate(reversed(npi[:9])):
        digit = int(char) * (2 if position % 2 == 0 else 1)
        total += digit // 10 + digit % 10
    return (10 - total % 10) % 10 == int(npi[9])
