"""Reads of the audit trail: the rows an auditor filters, and the chain's verification."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from django.db.models import QuerySet

from config.audit.chain import HASHED_FIELDS, day_anchor, row_hash
from config.audit.models import AuditEvent


@dataclass
class DayVerdict:
    day: date
    rows: int = 0
    head_hash: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


def audit_events(
    *,
    day: date | None = None,
    category: str = "",
    action: str = "",
    outcome: str = "",
    actor: str = "",
    target_type: str = "",
    target_id: str = "",
    actor_kind: str = "",
) -> QuerySet[AuditEvent]:
    rows = AuditEvent.objects.all()
    if day is not None:
        rows = rows.filter(day=day)
    for name, value in (
        ("category", category),
        ("action", action),
        ("outcome", outcome),
        ("actor_label", actor),
        ("target_type", target_type),
        ("target_id", target_id),
        ("actor_kind", actor_kind),
    ):
        if value:
            rows = rows.filter(**{name: value})
    return rows


def audit_chain_verify(
    *, day_from: date | None = None, day_to: date | None = None
) -> Iterator[DayVerdict]:
    """Walks each day's chain in order and yields what it found per day.

    An edited row no longer matches its own hash; a removed row leaves a gap in ``seq``
    and the next row's ``prev_hash`` pointing at nothing; a row added around the writer
    does not link. Removing a day's last rows leaves a shorter intact chain: compare each
    day's ``head_hash`` with the one kept off the database (``audit_verify`` prints it).
    """
    rows = AuditEvent.objects.order_by("day", "seq")
    if day_from is not None:
        rows = rows.filter(day__gte=day_from)
    if day_to is not None:
        rows = rows.filter(day__lte=day_to)
    verdict: DayVerdict | None = None
    expected_prev = ""
    expected_seq = 1
    for row in rows.values("id", "hash", *HASHED_FIELDS).iterator(chunk_size=2000):
        if verdict is None or row["day"] != verdict.day:
            if verdict is not None:
                yield verdict
            verdict = DayVerdict(day=row["day"])
            expected_prev = day_anchor(row["day"])
            expected_seq = 1
        verdict.rows += 1
        seq = row["seq"]
        if seq != expected_seq:
            verdict.problems.append(
                f"rows {expected_seq}..{seq - 1} missing (removed)"
                if seq > expected_seq
                else f"row {seq} out of order"
            )
        if row["prev_hash"] != expected_prev:
            verdict.problems.append(f"row {seq} does not link to the row before it")
        if row_hash(row) != row["hash"]:
            verdict.problems.append(f"row {seq} does not match its hash (edited)")
        expected_prev = row["hash"]
        expected_seq = seq + 1
        verdict.head_hash = row["hash"]
    if verdict is not None:
        yield verdict
