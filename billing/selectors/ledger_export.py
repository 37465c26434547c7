"""The ledger export finance loads into its accounting system: one row per journal line.

Built in constant memory however many lines there are. On PostgreSQL the CSV comes straight
out of ``COPY (…) TO STDOUT``, the database's fastest path; elsewhere (the embedded SQLite
default) rows are read through a chunked cursor. The XLSX (XlsxWriter, constant memory) is
written, on PostgreSQL, from rows the database renders, fetched through a server-side cursor
one batch ahead; elsewhere from the same chunked cursor.
Text cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab or
CR first) are prefixed with ``'`` (CSV injection), in both formats.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time, timedelta
from typing import IO, Any
from zoneinfo import ZoneInfo

import xlsxwriter
from django.conf import settings
from django.db import connection, transaction
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


def _lines_sql(start: datetime, end: datetime, *, xml_text: bool = False) -> sql.Composed:
    """One row per journal line with the export's columns, oldest entry first.

    ``xml_text``: the control characters XML cannot carry are dropped from the text columns
    (the workbook's rows), after the formula guard, as ``_xlsx_rows_in_python`` does.
    """
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
    if xml_text:
        # A bracket of the characters (PostgreSQL's text never holds NUL): regexp_replace
        # costs ~1.7 us per row here, translate() with the same characters ~19.
        illegal = sql.Literal(f"[{_XML_ILLEGAL[1:]}]")
        values = [
            value
            if index in _XLSX_NUMBERS
            else sql.SQL("regexp_replace({}, {}, '', 'g')").format(value, illegal)
            for index, value in enumerate(values)
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
_XML_ILLEGAL = "".join(map(chr, [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)]))
_XML_ILLEGAL_TABLE = dict.fromkeys(map(ord, _XML_ILLEGAL))
# Amounts and the entry id are numbers in the workbook; every other column is text.
_XLSX_NUMBERS = tuple(COLUMNS.index(name) for name in ("entry_id", "debit", "credit"))
_XLSX_TEXTS = tuple(index for index in range(len(COLUMNS)) if index not in _XLSX_NUMBERS)
_XLSX_OPTIONS = {
    "constant_memory": True,  # each row goes to a temporary file as it is written
    # The text is written as it is: never turned into a number, a formula or a link.
    "strings_to_numbers": False,
    "strings_to_formulas": False,
    "strings_to_urls": False,
}
# Rows per FETCH of the server-side cursor: two batches at most are held at once.
_XLSX_FETCH_ROWS = 2000


def _xlsx_rows_in_sql(start: datetime, end: datetime) -> Iterator[tuple[Any, ...]]:
    """The workbook's rows as PostgreSQL renders them (dates, formula guard, control
    characters dropped), read through a server-side cursor in one transaction.

    The next batch is fetched by a second thread while this one is written: the database
    renders it meanwhile, on another core, and the fetching thread waits for it outside the
    GIL. Only psycopg's cursor is used from that thread, never Django's connection.
    """
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        # Inside the transaction the cursor is not WITH HOLD: rows are rendered as fetched,
        # not all at once before the first one.
        lines = cursor.cursor
        lines.execute(_lines_sql(start, end, xml_text=True))
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="xlsx-fetch") as fetcher:
            batch = fetcher.submit(lines.fetchmany, _XLSX_FETCH_ROWS)
            while rows := batch.result():
                batch = fetcher.submit(lines.fetchmany, _XLSX_FETCH_ROWS)
                yield from rows


def _xlsx_rows_in_python(start: datetime, end: datetime) -> Iterator[tuple[Any, ...]]:
    for row in _rows(start, end):
        yield tuple(
            value.translate(_XML_ILLEGAL_TABLE) if isinstance(value, str) else value
            for value in row
        )


def ledger_workbook(rows: Iterable[Sequence[Any]], output: IO[bytes]) -> None:
    """Writes the export's rows (``COLUMNS``, text already free of XML-illegal characters)
    to ``output`` as a workbook, with XlsxWriter in constant-memory mode (each row goes to
    a temporary file as it is written).

    Sheets ``ledger-1``, ``ledger-2``, … each start with the header row; a new one starts
    every 1,048,575 rows (Excel's limit). Amounts and entry ids are numbers, everything
    else text (inline strings); empty text leaves the cell empty. Each cell is written with
    its type's own method, chosen by column, not looked up per value.
    """
    workbook = xlsxwriter.Workbook(output, _XLSX_OPTIONS)
    sheet: Any = None
    written = XLSX_MAX_ROWS_PER_SHEET
    for row in rows:
        if written == XLSX_MAX_ROWS_PER_SHEET:
            sheet = workbook.add_worksheet(f"ledger-{len(workbook.worksheets()) + 1}")
            sheet.write_row(0, 0, COLUMNS)
            write_number, write_string = sheet.write_number, sheet.write_string
            written = 0
        written += 1
        for column in _XLSX_NUMBERS:
            write_number(written, column, row[column])
        for column in _XLSX_TEXTS:
            if value := row[column]:
                write_string(written, column, value)
    if sheet is None:
        workbook.add_worksheet("ledger-1").write_row(0, 0, COLUMNS)
    workbook.close()


def ledger_export_xlsx(*, start: datetime, end: datetime) -> IO[bytes]:
    """The export's rows as a workbook (``ledger_workbook``) in a temporary file, rewound;
    the caller streams the file. On PostgreSQL the rows come rendered by the database
    (``_xlsx_rows_in_sql``), elsewhere from the ORM."""
    rows = _xlsx_rows_in_sql if connection.vendor == "postgresql" else _xlsx_rows_in_python
    output = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the streaming response
    try:
        ledger_workbook(rows(start, end), output)
    except BaseException:
        output.close()
        raise
    output.seek(0)
    return output
