"""Cash counted by denomination (opening float, blind close, handover)."""

from __future__ import annotations

from typing import Any

from payments.errors import InvalidCount, UnknownDenomination
from payments.models import DENOMINATIONS

MAX_NOTES = 1_000_000  # per denomination: far above any drawer, far below bigint overflow


def count_normalize(*, count: Any, param: str = "count") -> tuple[dict[str, int], int]:
    """Validate a count ``{"500000": 2, "10000": 3}`` and return it with every denomination
    present (missing ones are 0) and its total in VND. Unknown denominations, negative or
    non-integer numbers of notes are refused (nothing is written before this passes)."""
    if not isinstance(count, dict):
        raise InvalidCount("The count is an object of denomination: number of notes.", param=param)
    known = {str(value) for value in DENOMINATIONS}
    for key, notes in count.items():
        if str(key) not in known:
            raise UnknownDenomination(
                f"{key} is not one of {', '.join(map(str, DENOMINATIONS))}.",
                param=f"{param}.{key}",
            )
        if type(notes) is not int or not 0 <= notes <= MAX_NOTES:
            raise InvalidCount(param=f"{param}.{key}")
    normalized = {str(value): int(count.get(str(value), 0)) for value in DENOMINATIONS}
    return normalized, sum(int(key) * notes for key, notes in normalized.items())
