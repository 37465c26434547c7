"""The ledger export finance loads into its accounting system: one row per journal line.

Built in constant memory however many lines there are. On PostgreSQL the CSV comes straight
out of ``COPY (…) TO STDOUT``, the database's fastest path; elsewhere (the embedded SQLite
default), and for XLSX (XlsxWriter, constant memory), rows are read through a chunked cursor.
Text cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab or
CR first) are prefixed with ``'`` (CSV injection), in both formats.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta
from typing import IO, Any
from zoneinfo import ZoneInfo

import xlsxwriter
from django.conf import settings
from django.db import connection
from django.db.models import F, Max, Min
from django.utils import timezone
from psycopg import sql

from billing.models import JournalEntry, JournalLine

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
    "reference",
    "counterparty",
    "voucher_type",
    "voucher_number",
    "recorded_by",
)
XLSX_MAX_ROWS_PER_SHEET = 1_048_575  # Excel's limit less the header row
_CHUNK = 5000
# COPY hands over one row at a time; the output is written in pieces of about this size.
_PIECE_BYTES = 64 * 1024
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def export_window(date_from: date | None, date_to: date | None) -> tuple[datetime, datetime]:
    """Local calendar days [from, to] as an aware half-open interval."""
    tz = ZoneInfo(settings.TIME_ZONE)
    start = datetime.combine(date_from or date(2000, 1, 1), time.min, tzinfo=tz)
    end_day = date_to or timezone.localdate()
    end = datetime.combine(end_day + timedelta(days=1), time.min, tzinfo=tz)
    return start, end


def in_pieces(blocks: Iterable[Any]) -> Iterator[bytes]:
    """Joins small blocks (COPY's rows) into pieces of ~64 KiB: a write per piece, not per row."""
    piece = bytearray()
    for block in blocks:
        piece += block
        if len(piece) >= _PIECE_BYTES:
            yield bytes(piece)
            piece.clear()
    if piece:
        yield bytes(piece)


# --- The rows, in SQL (PostgreSQL) ----------------------------------------------------


def _guarded_sql(column: str) -> sql.Composable:
    """``column`` with a leading ``'`` when a spreadsheet would run it as a formula."""
    risky = sql.SQL(", ").join(sql.Literal(prefix) for prefix in _FORMULA_PREFIXES)
    return sql.SQL("CASE WHEN left({c}, 1) IN ({risky}) THEN '''' || {c} ELSE {c} END").format(
        c=sql.SQL(column), risky=risky
    )


def _lines_sql(start: datetime, end: datetime) -> sql.Composed:
    """One row per journal line with the export's columns, oldest entry first."""
    tz = sql.Literal(settings.TIME_ZONE)
    values = [
        sql.SQL("e.id"),
        sql.SQL("to_char(e.posted_at AT TIME ZONE {tz}, 'YYYY-MM-DD')").format(tz=tz),
        sql.SQL("""to_char(e.posted_at AT TIME ZONE {tz}, 'YYYY-MM-DD"T"HH24:MI:SS')""").format(
            tz=tz
        ),
        sql.SQL("a.code"),
        _guarded_sql("a.name"),
        sql.SQL("l.debit"),
        sql.SQL("l.credit"),
        sql.SQL("a.currency"),
        _guarded_sql("e.memo"),
        sql.SQL("e.source_type"),
        _guarded_sql("e.source_id"),
        _guarded_sql("l.reference"),
        _guarded_sql("l.counterparty"),
        sql.SQL("e.voucher_type"),
        _guarded_sql("e.voucher_number"),
        _guarded_sql("e.recorded_by"),
    ]
    select = [
        sql.SQL("{} AS {}").format(value, sql.Identifier(column))
        for value, column in zip(values, COLUMNS, strict=True)
    ]
    return sql.SQL(
        "SELECT {select} FROM billing_journalline l"
        " JOIN billing_journalentry e ON e.id = l.entry_id"
        " JOIN billing_account a ON a.id = l.account_id"
        " WHERE e.posted_at >= {start} AND e.posted_at < {end}"
        # The window's lines by their entry ids' range (entries of a window have nearly
        # consecutive ids): without it PostgreSQL hashes every line of the ledger to find
        # them, and a day's export slows as the ledger grows. Only narrows the search: the
        # entry's date above decides. ``id + 0``: through the date index, not a walk of the
        # primary key from either end (see billing.selectors.ledger.lines_between).
        " AND l.entry_id BETWEEN"
        " (SELECT min(id + 0) FROM billing_journalentry"
        " WHERE posted_at >= {start} AND posted_at < {end})"
        " AND (SELECT max(id + 0) FROM billing_journalentry"
        " WHERE posted_at >= {start} AND posted_at < {end})"
        " ORDER BY e.id, l.id"
    ).format(select=sql.SQL(", ").join(select), start=sql.Literal(start), end=sql.Literal(end))


def copy_statement(start: datetime, end: datetime) -> sql.Composed:
    """The CSV's ``COPY … TO STDOUT`` statement (also the benchmark's baseline)."""
    return sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv)").format(_lines_sql(start, end))


# --- The rows, in Python (any database) -----------------------------------------------


def _safe_text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_PREFIXES) else value


def _rows(start: datetime, end: datetime) -> Iterator[tuple[Any, ...]]:
    tz = ZoneInfo(settings.TIME_ZONE)
    # The entry ids' range narrows the lines' search, as in the SQL above.
    ids = JournalEntry.objects.filter(posted_at__gte=start, posted_at__lt=end).aggregate(
        low=Min(F("id") + 0), high=Max(F("id") + 0)
    )
    if ids["low"] is None:
        return
    rows = (
        JournalLine.objects.filter(
            entry__posted_at__gte=start,
            entry__posted_at__lt=end,
            entry_id__gte=ids["low"],
            entry_id__lte=ids["high"],
        )
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
            "reference",
            "counterparty",
            "entry__voucher_type",
            "entry__voucher_number",
            "entry__recorded_by",
        )
        .iterator(chunk_size=_CHUNK)
    )
    for (
        entry_id,
        posted_at,
        code,
        name,
        debit,
        credit,
        currency,
        memo,
        stype,
        sid,
        reference,
        counterparty,
        voucher_type,
        voucher_number,
        recorded_by,
    ) in rows:
        local = posted_at.astimezone(tz).replace(tzinfo=None)
        yield (
            entry_id,
            local.date().isoformat(),
            local.isoformat(timespec="seconds"),
            code,
            _safe_text(name),
            debit,
            credit,
            currency,
            _safe_text(memo),
            stype,
            _safe_text(sid),
            _safe_text(reference),
            _safe_text(counterparty),
            voucher_type,
            _safe_text(voucher_number),
            _safe_text(recorded_by),
        )


# --- CSV ------------------------------------------------------------------------------


def _csv_writer(buffer: io.StringIO) -> Any:
    # Lines end in "\n" like COPY's, so the header and the rows end alike.
    return csv.writer(buffer, lineterminator="\n")


def _csv_header() -> bytes:
    buffer = io.StringIO()
    _csv_writer(buffer).writerow(COLUMNS)
    return ("\ufeff" + buffer.getvalue()).encode()  # BOM: Excel reads UTF-8 Vietnamese right


def _csv_rows_in_python(start: datetime, end: datetime) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = _csv_writer(buffer)
    for row in _rows(start, end):
        writer.writerow(row)
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()


def ledger_export_csv(*, start: datetime, end: datetime) -> Iterator[bytes]:
    """CSV bytes in pieces: a BOM and a header, then one row per journal line."""
    yield _csv_header()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor, cursor.cursor.copy(copy_statement(start, end)) as copy:
            yield from in_pieces(copy)
    else:
        yield from in_pieces(_csv_rows_in_python(start, end))


# --- XLSX -----------------------------------------------------------------------------


# XML cannot carry these control characters (a memo may hold one): the workbook drops them.
_XML_ILLEGAL = dict.fromkeys([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
# Amounts and the entry id are numbers in the workbook; every other column is text.
_XLSX_NUMBERS = frozenset(COLUMNS.index(name) for name in ("entry_id", "debit", "credit"))
_XLSX_OPTIONS = {
    "constant_memory": True,  # each row goes to a temporary file as it is written
    # The text is written as it is: never turned into a number, a formula or a link.
    "strings_to_numbers": False,
    "strings_to_formulas": False,
    "strings_to_urls": False,
}


def ledger_export_xlsx(*, start: datetime, end: datetime) -> IO[bytes]:
    """An XLSX workbook in a temporary file, built with XlsxWriter in constant-memory mode
    (each row goes to disk as it is written); the caller streams the file.

    Sheets ``ledger-1``, ``ledger-2``, … each start with the header row; a new one starts
    every 1,048,575 rows (Excel's limit). Amounts and entry ids are numbers, everything
    else text (inline strings); empty text leaves the cell empty. Each cell is written with
    its type's own method, chosen by column, not looked up per value.
    """
    output = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the streaming response
    workbook = xlsxwriter.Workbook(output, _XLSX_OPTIONS)
    numbers = [index in _XLSX_NUMBERS for index in range(len(COLUMNS))]
    sheet: Any = None
    written = XLSX_MAX_ROWS_PER_SHEET
    for row in _rows(start, end):
        if written == XLSX_MAX_ROWS_PER_SHEET:
            sheet = workbook.add_worksheet(f"ledger-{len(workbook.worksheets()) + 1}")
            sheet.write_row(0, 0, COLUMNS)
            write_number, write_string = sheet.write_number, sheet.write_string
            written = 0
        written += 1
        for column, (number, value) in enumerate(zip(numbers, row, strict=True)):
            if number:
                write_number(written, column, value)
            elif value:
                write_string(written, column, value.translate(_XML_ILLEGAL))
    if sheet is None:
        workbook.add_worksheet("ledger-1").write_row(0, 0, COLUMNS)
    workbook.close()
    output.seek(0)
    return output
