"""The ledger export finance loads into its accounting system: one row per journal line.

Streamed in constant memory however many lines there are. On PostgreSQL the CSV comes
straight out of ``COPY (…) TO STDOUT`` (the database's fastest path); elsewhere, and for
XLSX, rows are read through a chunked cursor. Text cells that a spreadsheet would run as a
formula (``=``, ``+``, ``-``, ``@`` first) are prefixed with ``'`` (CSV injection).
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta
from typing import IO, Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.utils import timezone

from billing.models import JournalLine

COLUMNS = (
    "entry_id",
    "date",
    "posted_at",
    "account_code",
    "account_name",
    "debit",
    "credit",
    "currency",
    "memo",
    "source_type",
    "source_id",
)
XLSX_MAX_ROWS_PER_SHEET = 1_048_575  # Excel's limit less the header row
_CHUNK = 5000
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def export_window(date_from: date | None, date_to: date | None) -> tuple[datetime, datetime]:
    """Local calendar days [from, to] as an aware half-open interval."""
    tz = ZoneInfo(settings.TIME_ZONE)
    start = datetime.combine(date_from or date(2000, 1, 1), time.min, tzinfo=tz)
    end_day = date_to or timezone.localdate()
    end = datetime.combine(end_day + timedelta(days=1), time.min, tzinfo=tz)
    return start, end


def _safe_text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_PREFIXES) else value


_RISKY_FIRST = "('=', '+', '-', '@', E'\\t', E'\\r')"


def _safe_sql(column: str) -> str:
    quoted = "''''"  # SQL for a one-character string holding a single quote
    return (
        f"CASE WHEN left({column}, 1) IN {_RISKY_FIRST} THEN {quoted} || {column} ELSE {column} END"
    )


def _copy_sql() -> str:
    """Fixed identifiers only; the two values are bound with ``sql.Literal`` by the caller."""
    tz = settings.TIME_ZONE
    return (
        "SELECT e.id,"  # noqa: S608 - fixed identifiers, values bound by sql.Literal
        f" to_char(e.posted_at AT TIME ZONE '{tz}', 'YYYY-MM-DD'),"
        f" to_char(e.posted_at AT TIME ZONE '{tz}', 'YYYY-MM-DD\"T\"HH24:MI:SS'),"
        f" a.code, {_safe_sql('a.name')}, l.debit, l.credit, a.currency,"
        f" {_safe_sql('e.memo')}, e.source_type, {_safe_sql('e.source_id')}"
        " FROM billing_journalline l"
        " JOIN billing_journalentry e ON e.id = l.entry_id"
        " JOIN billing_account a ON a.id = l.account_id"
        " WHERE e.posted_at >= {start} AND e.posted_at < {end}"
        " ORDER BY e.id, l.id"
    )


def copy_statement(start: datetime, end: datetime) -> Any:
    """The ``COPY … TO STDOUT`` statement (also the benchmark's baseline)."""
    from psycopg import sql

    query = sql.SQL(_copy_sql()).format(start=sql.Literal(start), end=sql.Literal(end))
    return sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv)").format(query)


def _header_bytes() -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(COLUMNS)
    return ("\ufeff" + buffer.getvalue()).encode()  # BOM: Excel reads UTF-8 Vietnamese right


def _rows(start: datetime, end: datetime) -> Iterator[tuple[Any, ...]]:
    tz = ZoneInfo(settings.TIME_ZONE)
    rows = (
        JournalLine.objects.filter(entry__posted_at__gte=start, entry__posted_at__lt=end)
        .order_by("entry_id", "id")
        .values_list(
            "entry_id",
            "entry__posted_at",
            "account__code",
            "account__name",
            "debit",
            "credit",
            "account__currency",
            "entry__memo",
            "entry__source_type",
            "entry__source_id",
        )
        .iterator(chunk_size=_CHUNK)
    )
    for entry_id, posted_at, code, name, debit, credit, currency, memo, stype, sid in rows:
        local = posted_at.astimezone(tz)
        yield (
            entry_id,
            local.date().isoformat(),
            local.strftime("%Y-%m-%dT%H:%M:%S"),
            code,
            _safe_text(name),
            debit,
            credit,
            currency,
            _safe_text(memo),
            stype,
            _safe_text(sid),
        )


def ledger_export_csv(*, start: datetime, end: datetime) -> Iterator[bytes]:
    """CSV bytes in chunks: a header, then one row per journal line, oldest entry first."""
    yield _header_bytes()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor, cursor.cursor.copy(copy_statement(start, end)) as copy:
            for block in copy:
                yield bytes(block)
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for count, row in enumerate(_rows(start, end), start=1):
        writer.writerow(row)
        if count % _CHUNK == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def ledger_export_xlsx(*, start: datetime, end: datetime) -> IO[bytes]:
    """An XLSX workbook in a temporary file (openpyxl write-only: constant memory).

    A new sheet starts every 1,048,575 rows (Excel's limit). The caller streams the file.
    """
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet: Any = None
    written = 0
    rows: Iterable[tuple[Any, ...]] = _rows(start, end)
    for row in rows:
        if sheet is None or written == XLSX_MAX_ROWS_PER_SHEET:
            sheet = workbook.create_sheet(f"ledger-{len(workbook.worksheets) + 1}")
            sheet.append(COLUMNS)
            written = 0
        sheet.append(row)
        written += 1
    if sheet is None:
        workbook.create_sheet("ledger-1").append(COLUMNS)
    output = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the streaming response
    workbook.save(output)
    output.seek(0)
    return output
