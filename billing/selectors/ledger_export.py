"""The ledger export finance loads into its accounting system: one row per journal line.

Built in constant memory however many lines there are. On PostgreSQL the CSV comes straight
out of ``COPY (…) TO STDOUT``, the database's fastest path; elsewhere (the embedded SQLite
default) rows are read through a chunked cursor. The XLSX is XlsxWriter's workbook: on
PostgreSQL XlsxWriter makes its frame (every part, each sheet with its header row) and the
sheets' rows come as XML out of ``COPY``, rendered by the database exactly as XlsxWriter
writes them; elsewhere XlsxWriter (constant memory) writes every cell from the chunked
cursor's rows. Both give the same file.
Text cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab or
CR first) are prefixed with ``'`` (CSV injection), in both formats.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import queue
import tempfile
import threading
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time, timedelta
from typing import IO, Any
from zoneinfo import ZoneInfo

import xlsxwriter
from django.conf import settings
from django.db import connection
from django.db.models import F, Max, Min
from django.utils import timezone
from psycopg import sql
from xlsxwriter.utility import xl_col_to_name

from billing.models import JournalEntry, JournalLine
from billing.selectors.statements import statement_snapshot

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


def _window_sql(start: datetime, end: datetime, *, accounts: bool = True) -> sql.Composed:
    """The FROM and WHERE of the window's lines (``l``, ``e``, and ``a`` unless
    ``accounts`` is off: every line has its account, so a count needs no join), without an
    order."""
    return sql.SQL(
        " FROM billing_journalline l"
        " JOIN billing_journalentry e ON e.id = l.entry_id"
        "{accounts}"
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
    ).format(
        accounts=sql.SQL(" JOIN billing_account a ON a.id = l.account_id" if accounts else ""),
        start=sql.Literal(start),
        end=sql.Literal(end),
    )


def _lines_sql(
    start: datetime, end: datetime, *, xlsx_sheet_rows: int | None = None
) -> sql.Composed:
    """One row per journal line with the export's columns, oldest entry first.

    ``xlsx_sheet_rows``: two more columns, ``line_id`` and ``sheet_row``, the line's row
    number on its sheet of that many rows (from 2: row 1 is the header), as text.
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
    select: list[sql.Composable] = [
        sql.SQL("{} AS {}").format(value, sql.Identifier(column))
        for value, column in zip(values, COLUMNS, strict=True)
    ]
    if xlsx_sheet_rows is not None:
        select.append(sql.SQL("l.id AS line_id"))
        select.append(
            sql.SQL(
                "((row_number() OVER (ORDER BY e.id, l.id) - 1) % {} + 2)::text AS sheet_row"
            ).format(sql.Literal(xlsx_sheet_rows))
        )
    return sql.SQL("SELECT {select}{window} ORDER BY e.id, l.id").format(
        select=sql.SQL(", ").join(select), window=_window_sql(start, end)
    )


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
_XLSX_COLUMN_LETTERS = [xl_col_to_name(index) for index in range(len(COLUMNS))]
# What XlsxWriter's constant-memory mode does to a string before writing it inline
# (xlsxwriter.xmlwriter._escape_control_characters, _escape_data; worksheet._write_cell):
# "_xHHHH_" look-alikes get their "_" escaped as _x005F_, the control characters left (only
# CR: the others are dropped) and the two non-characters become _xHHHH_, then &, < and >
# become entities. Leading or trailing whitespace (Python's \s, str.isspace) adds
# xml:space="preserve"; these are the whitespace characters the text can still hold then.
# (XlsxWriter also cuts text at 32,767 characters: the longest column holds 500.)
_XLSX_ESCAPE_LOOKALIKE = "_x[0-9a-fA-F]{4}_"
_XLSX_CONTROL_ESCAPES = (("\r", "_x000D_"), ("\ufffe", "_xFFFE_"), ("\uffff", "_xFFFF_"))
_XLSX_ENTITIES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))  # "&" first
_XLSX_WHITESPACE = (
    "\t\n \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
_XLSX_PIECE_BYTES = 256 * 1024
# A binary COPY's 19-byte header (signature, flags, extension length) and its trailer.
_COPY_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
_COPY_BINARY_TRAILER = b"\xff\xff"


def _xlsx_escaped_sql(value: sql.Composable) -> sql.Composable:
    """``value`` (text) as XlsxWriter writes an inline string's characters, the XML-illegal
    ones dropped first (as ``_xlsx_rows_in_python`` drops them): text with none of the
    characters any step changes is left alone, after one match (most text)."""
    escaped: sql.Composable = sql.SQL("regexp_replace({}, {}, '', 'g')").format(
        value,
        sql.Literal(f"[{_XML_ILLEGAL[1:]}]"),  # PostgreSQL's text never holds NUL
    )
    escaped = sql.SQL("regexp_replace({}, {}, '_x005F\\&', 'g')").format(
        escaped, sql.Literal(_XLSX_ESCAPE_LOOKALIKE)
    )
    for character, escape in (*_XLSX_CONTROL_ESCAPES, *_XLSX_ENTITIES):
        escaped = sql.SQL("replace({}, {}, {})").format(
            escaped, sql.Literal(character), sql.Literal(escape)
        )
    changed = "".join(
        [_XML_ILLEGAL[1:], *(character for character, _ in _XLSX_CONTROL_ESCAPES + _XLSX_ENTITIES)]
    )
    return sql.SQL("CASE WHEN {value} ~ {changed} THEN {escaped} ELSE {value} END").format(
        value=value,
        changed=sql.Literal(f"[{changed}]|{_XLSX_ESCAPE_LOOKALIKE}"),
        escaped=escaped,
    )


def _xlsx_number_sql(column: sql.Composable) -> sql.Composable:
    """A bigint as XlsxWriter writes a number, ``f"{float(n):.16G}"``: its digits while
    the double holds it exactly, the double's digits up to 1e16, then 16 significant digits
    and an exponent (to_char of the double, as C's printf rounds it)."""
    return sql.SQL(
        "CASE WHEN {c} BETWEEN -9007199254740992 AND 9007199254740992 THEN {c}::text"
        " WHEN abs({c}::float8) < 1e16 THEN to_char({c}::float8, 'FM9999999999999999')"
        " ELSE regexp_replace(ltrim(to_char({c}::float8, '9.999999999999999EEEE')),"
        " '\\.?0*e', 'E') END"
    ).format(c=column)


# Dates from to_char: digits, "-", "T" and ":" alone, never empty, nothing to escape.
_XLSX_PLAIN = tuple(COLUMNS.index(name) for name in ("date", "posted_at"))


def _xlsx_cell_sql(index: int) -> sql.Composable:
    """The cell of column ``index`` of ``cell`` (its value escaped) on row ``sheet_row``,
    as XlsxWriter writes it."""
    value = sql.Identifier("cell", COLUMNS[index])
    reference = sql.SQL("{} || cell.sheet_row || '\"'").format(
        sql.Literal(f'<c r="{_XLSX_COLUMN_LETTERS[index]}')
    )
    if index in _XLSX_NUMBERS:
        return sql.SQL("{} || '><v>' || {} || '</v></c>'").format(reference, value)
    if index in _XLSX_PLAIN:
        return sql.SQL("""{} || ' t="inlineStr"><is><t>' || {} || '</t></is></c>'""").format(
            reference, value
        )
    blank = f"[{_XLSX_WHITESPACE}]"
    # Empty text leaves the cell out, as ledger_workbook does.
    return sql.SQL(
        "CASE WHEN {value} = '' THEN '' ELSE {reference} || CASE WHEN {value} ~ {blank}"
        """ THEN ' t="inlineStr"><is><t xml:space="preserve">'"""
        """ ELSE ' t="inlineStr"><is><t>' END || {value} || '</t></is></c>' END"""
    ).format(value=value, reference=reference, blank=sql.Literal(f"^{blank}|{blank}$"))


def xlsx_sheet_rows_statement(start: datetime, end: datetime, sheet_rows: int) -> sql.Composed:
    """``COPY … TO STDOUT`` (binary: each row's bytes as they are, nothing escaped) of each
    journal line's sheet row, ``<row r="N">…</row>``, exactly as XlsxWriter's constant-memory
    mode writes it from ``ledger_workbook``'s cells; ``N`` counts from 2 on each sheet of
    ``sheet_rows`` rows. Same window, order, formula guard and dropped characters as the
    CSV's rows (``_lines_sql``).

    Three steps, each a subquery: the lines, numbered (the window function keeps the next
    step from being merged into it); each value escaped once (``OFFSET 0``: not merged
    into the last step, which looks at each value up to three times); the markup. The
    order is the lines', kept by each step: PostgreSQL sorts once.
    """
    escaped: list[sql.Composable] = [
        sql.SQL("line.entry_id AS line_entry_id, line.line_id, line.sheet_row")
    ]
    for index, column in enumerate(COLUMNS):
        value: sql.Composable = sql.Identifier("line", column)
        if index in _XLSX_NUMBERS:
            value = _xlsx_number_sql(value)
        elif index not in _XLSX_PLAIN:
            value = _xlsx_escaped_sql(value)
        escaped.append(sql.SQL("{} AS {}").format(value, sql.Identifier(column)))
    cells = [_xlsx_cell_sql(index) for index in range(len(COLUMNS))]
    return sql.SQL(
        "COPY (SELECT '<row r=\"' || cell.sheet_row || '\">' || {cells} || '</row>'"
        " FROM (SELECT {escaped} FROM ({lines}) AS line"
        " ORDER BY line.entry_id, line.line_id OFFSET 0) AS cell"
        " ORDER BY cell.line_entry_id, cell.line_id)"
        " TO STDOUT WITH (FORMAT binary)"
    ).format(
        cells=sql.SQL(" || ").join(cells),
        escaped=sql.SQL(", ").join(escaped),
        lines=_lines_sql(start, end, xlsx_sheet_rows=sheet_rows),
    )


def _xlsx_window_lines(start: datetime, end: datetime) -> int:
    """How many journal lines the window holds (sizes the workbook's sheets)."""
    with connection.cursor() as cursor:
        cursor.cursor.execute(
            sql.SQL("SELECT count(*){}").format(_window_sql(start, end, accounts=False))
        )
        (lines,) = cursor.fetchone()
    return int(lines)


class _SheetTooLarge(Exception):
    """A sheet part passed zipfile's ZIP64_LIMIT without ZIP64 extensions."""

    def __init__(self, sheet: int) -> None:
        super().__init__(sheet)
        self.sheet = sheet


def _copied_rows(copy: Any) -> Iterator[memoryview]:
    """The values of a one-column binary ``COPY``, one per row, as they come (PostgreSQL
    sends each row in a message of its own: the header with the first, then the trailer)."""
    blocks = iter(copy)
    first = memoryview(next(blocks))
    if first[:19] != _COPY_BINARY_HEADER:
        raise RuntimeError("not a binary COPY")
    block = first[19:]
    while block != _COPY_BINARY_TRAILER:
        if len(block) - 6 != int.from_bytes(block[2:6], "big"):
            raise RuntimeError("a binary COPY message that is not one row of one value")
        yield block[6:]
        block = memoryview(next(blocks))
    for _ in blocks:  # the end of the COPY: psycopg reads its result, then stops
        raise RuntimeError("a binary COPY with data after its trailer")


def _xlsx_frame(sheet_count: int) -> bytes:
    """The workbook as XlsxWriter makes it (``_XLSX_OPTIONS``) with sheets ``ledger-1`` …
    holding the header row alone: every part but the sheets' rows."""
    frame = io.BytesIO()
    workbook = xlsxwriter.Workbook(frame, _XLSX_OPTIONS)
    for number in range(1, sheet_count + 1):
        workbook.add_worksheet(f"ledger-{number}").write_row(0, 0, COLUMNS)
    workbook.close()
    return frame.getvalue()


def _xlsx_sheet_ends(frame_sheet: bytes, rows: int) -> tuple[bytes, bytes]:
    """A frame sheet's XML cut after its header row, its dimension grown to ``rows``."""
    head, end_of_data, tail = frame_sheet.partition(b"</sheetData>")
    header_only = f'<dimension ref="A1:{_XLSX_COLUMN_LETTERS[-1]}1"/>'.encode()
    if not end_of_data or head.count(header_only) != 1:
        raise RuntimeError("XlsxWriter's sheet is not laid out as expected")
    dimension = f'<dimension ref="A1:{_XLSX_COLUMN_LETTERS[-1]}{rows + 1}"/>'.encode()
    return head.replace(header_only, dimension), end_of_data + tail


_SheetPiece = bytearray | None | BaseException  # None: the sheet's end


def _read_sheets(
    rows: Iterator[memoryview],
    sheet_sizes: Sequence[int],
    pieces: queue.Queue[_SheetPiece],
    stop: threading.Event,
) -> None:
    """The reading thread: ``rows`` into pieces of ~``_XLSX_PIECE_BYTES`` (each within one
    sheet, a ``None`` after each sheet's last), checked against the sheets' sizes, or the
    error that stopped it. While this thread waits for PostgreSQL (outside the GIL) the
    other deflates (zlib too releases it): both cores work, and so does the database."""
    try:
        for size in sheet_sizes:
            piece, taken = bytearray(), 0
            for taken, row in enumerate(itertools.islice(rows, size), 1):  # noqa: B007
                piece += row
                if len(piece) >= _XLSX_PIECE_BYTES:
                    if stop.is_set():
                        return
                    pieces.put(piece)
                    piece = bytearray()
            if taken != size:
                raise RuntimeError("the lines changed between their count and their rows")
            pieces.put(piece)
            pieces.put(None)
        if next(rows, None) is not None:  # also reads the end of the COPY
            raise RuntimeError("the lines changed between their count and their rows")
    except BaseException as error:  # handed to the writing thread, which raises it
        pieces.put(error)


def _xlsx_by_postgresql(start: datetime, end: datetime, output: IO[bytes]) -> None:
    """The workbook of ``ledger_workbook``, byte for byte in every part (but the creation
    time), without writing a cell in Python: XlsxWriter makes the frame — every part, its
    sheets with the header row alone — and each sheet's rows come as XML from PostgreSQL
    (``xlsx_sheet_rows_statement``), streamed into the sheet's part between the frame's
    header row and its end. The frame's parts are copied into the output zip in XlsxWriter's
    order, with its names, dates and attributes, deflated as zipfile deflates them for it.
    A second thread reads the rows (``_read_sheets``) while this one deflates them.

    The count that sizes the sheets and the rows come from one snapshot (REPEATABLE READ)
    unless the caller's transaction already decides; rows that do not match it are an error.

    ZIP64: zipfile must be told before it streams a part whether the part will pass 2 GiB
    (``force_zip64``), and only what is written tells. A sheet part gets no ZIP64 extensions,
    as in XlsxWriter's own files (Excel reads ZIP64 strictly); one that passes the limit
    anyway (a full sheet of ~2 KB rows: far beyond a real export) makes the workbook be
    written again, from the same snapshot, with ZIP64 extensions on that sheet.
    """
    per_sheet = XLSX_MAX_ROWS_PER_SHEET
    with statement_snapshot():
        lines = _xlsx_window_lines(start, end)
        sizes = [min(per_sheet, lines - first) for first in range(0, lines, per_sheet)] or [0]
        frame = _xlsx_frame(len(sizes))
        zip64: set[int] = set()
        while True:
            try:
                _xlsx_package(
                    start, end, output, frame=frame, sizes=sizes, per_sheet=per_sheet, zip64=zip64
                )
                return
            except _SheetTooLarge as large:
                zip64.add(large.sheet)
                output.seek(0)
                output.truncate()


def _xlsx_package(
    start: datetime,
    end: datetime,
    output: IO[bytes],
    *,
    frame: bytes,
    sizes: Sequence[int],
    per_sheet: int,
    zip64: set[int],
) -> None:
    """One writing of ``_xlsx_by_postgresql``'s workbook to ``output``, ZIP64 extensions on
    the sheets (by index) in ``zip64``; raises ``_SheetTooLarge`` for a sheet without them
    that passed zipfile's limit."""
    with (
        zipfile.ZipFile(io.BytesIO(frame)) as parts,
        zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as package,
        connection.cursor() as cursor,
        contextlib.ExitStack() as copying,
    ):
        rows: Iterator[memoryview] = iter(())
        if sum(sizes):
            copy = copying.enter_context(
                cursor.cursor.copy(xlsx_sheet_rows_statement(start, end, per_sheet))
            )
            rows = _copied_rows(copy)
        # At most 8 pieces (2 MiB) wait to be deflated; only psycopg's COPY is used from
        # the reading thread, never Django's connection.
        pieces: queue.Queue[_SheetPiece] = queue.Queue(maxsize=8)
        stop = threading.Event()
        reader = threading.Thread(
            target=_read_sheets, args=(rows, sizes, pieces, stop), name="xlsx-rows"
        )
        reader.start()
        try:
            sheets = enumerate(sizes)
            for info in parts.infolist():
                content = parts.read(info)
                if not info.filename.startswith("xl/worksheets/sheet"):
                    package.writestr(info, content)
                    continue
                sheet, size = next(sheets)
                _xlsx_sheet_part(
                    package,
                    info,
                    *_xlsx_sheet_ends(content, size),
                    pieces,
                    sheet=sheet,
                    zip64=zip64,
                )
            reader.join()
            if not pieces.empty():
                error = pieces.get()
                raise error if isinstance(error, BaseException) else RuntimeError(error)
        finally:
            stop.set()
            while reader.is_alive():  # a reader waiting to hand over a piece stops
                with contextlib.suppress(queue.Empty):
                    pieces.get(timeout=0.1)
            reader.join()


def _xlsx_sheet_part(
    package: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    head: bytes,
    tail: bytes,
    pieces: queue.Queue[_SheetPiece],
    *,
    sheet: int,
    zip64: set[int],
) -> None:
    """The sheet part ``info`` written to ``package``: ``head``, the reading thread's pieces
    up to the sheet's end, ``tail``; ``_SheetTooLarge`` when it passed zipfile's limit
    without ZIP64 extensions (zipfile says so only when the part is closed)."""
    info.file_size = 0  # not the frame's: zipfile counts as it writes
    written = 0
    try:
        with package.open(info, "w", force_zip64=sheet in zip64) as part:
            written += part.write(head)
            while (piece := pieces.get()) is not None:
                if isinstance(piece, BaseException):
                    raise piece
                written += part.write(piece)
            written += part.write(tail)
    except RuntimeError:  # zipfile's "File size too large, try using force_zip64"
        if sheet not in zip64 and written * 1.05 > zipfile.ZIP64_LIMIT:
            raise _SheetTooLarge(sheet) from None
        raise


def _xml_text(row: Sequence[Any]) -> tuple[Any, ...]:
    """``row`` with the XML-illegal characters dropped from its text (``ledger_workbook``'s
    input)."""
    return tuple(
        value.translate(_XML_ILLEGAL_TABLE) if isinstance(value, str) else value for value in row
    )


def _xlsx_rows_in_python(start: datetime, end: datetime) -> Iterator[tuple[Any, ...]]:
    return map(_xml_text, _rows(start, end))


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
    """The export's rows as a workbook in a temporary file, rewound; the caller streams the
    file. On PostgreSQL the sheets' rows come as XML from the database into XlsxWriter's
    frame (``_xlsx_by_postgresql``), elsewhere XlsxWriter writes every cell from the ORM's
    rows (``ledger_workbook``); both give the same workbook."""
    output = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the streaming response
    try:
        if connection.vendor == "postgresql":
            _xlsx_by_postgresql(start, end, output)
        else:
            ledger_workbook(_xlsx_rows_in_python(start, end), output)
    except BaseException:
        output.close()
        raise
    output.seek(0)
    return output
