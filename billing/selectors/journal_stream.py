"""The journal read one entry at a time, with its lines: what the MISA and beancount exports
are built from.

Rows come from one query ordered by entry then line, read through a chunked cursor
(``QuerySet.iterator``: a server-side cursor on PostgreSQL), and are grouped per entry as
they arrive: memory holds one chunk and one entry, however long the window.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from itertools import groupby
from operator import itemgetter
from zoneinfo import ZoneInfo

from django.conf import settings

from billing.models import JournalLine

CHUNK = 2000


@dataclass(frozen=True, slots=True)
class StreamedLine:
    account_code: str
    account_type: str
    currency: str
    debit: int
    credit: int
    reference: str
    counterparty: str


@dataclass(frozen=True, slots=True)
class StreamedEntry:
    id: int
    day: date  # the hospital's local calendar day of ``posted_at``
    memo: str
    source_type: str
    source_id: str
    voucher_type: str
    voucher_number: str
    recorded_by: str
    lines: tuple[StreamedLine, ...]


_FIELDS = (
    "entry_id",
    "entry__posted_at",
    "entry__memo",
    "entry__source_type",
    "entry__source_id",
    "entry__voucher_type",
    "entry__voucher_number",
    "entry__recorded_by",
    "account__code",
    "account__type",
    "account__currency",
    "debit",
    "credit",
    "reference",
    "counterparty",
)


def journal_stream(*, start: datetime, end: datetime) -> Iterator[StreamedEntry]:
    """Entries posted in ``[start, end)``, oldest id first, each with its lines in order."""
    tz = ZoneInfo(settings.TIME_ZONE)
    rows = (
        JournalLine.objects.filter(entry__posted_at__gte=start, entry__posted_at__lt=end)
        .order_by("entry_id", "id")
        .values_list(*_FIELDS)
        .iterator(chunk_size=CHUNK)
    )
    for entry_id, group in groupby(rows, key=itemgetter(0)):
        lines = tuple(group)
        first = lines[0]
        yield StreamedEntry(
            id=entry_id,
            day=first[1].astimezone(tz).date(),
            memo=first[2],
            source_type=first[3],
            source_id=first[4],
            voucher_type=first[5],
            voucher_number=first[6],
            recorded_by=first[7],
            lines=tuple(StreamedLine(*row[8:]) for row in lines),
        )
