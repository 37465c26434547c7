"""The hash chain: what a row's hash covers and how the first row of a day is anchored.

``sha256`` of the canonical JSON (sorted keys, no spaces, UTF-8) of the row's content and
the previous row's hash. The first row of a day links to ``sha256("vienphi-audit:<day>")``,
so a row moved to another day breaks its chain too.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from typing import Any

# The fields a row's hash covers, in the model's terms.
HASHED_FIELDS = (
    "day",
    "seq",
    "occurred_at",
    "category",
    "action",
    "outcome",
    "actor_kind",
    "actor_id",
    "actor_label",
    "terminal",
    "target_type",
    "target_id",
    "client_address",
    "request_id",
    "detail",
    "prev_hash",
)


def day_anchor(day: date) -> str:
    return hashlib.sha256(f"vienphi-audit:{day.isoformat()}".encode()).hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def row_hash(fields: dict[str, Any]) -> str:
    content = {name: _canonical(fields[name]) for name in HASHED_FIELDS}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()
