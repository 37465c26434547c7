"""The ledger export finance loads into its accounting system: one row per journal line.

Built in constant memory however many lines there are. On PostgreSQL the database renders
every row — CSV, or the XML of an XLSX sheet row — and hands it over through
``COPY (…) TO STDOUT``, its fastest path; elsewhere (the embedded SQLite default) Python
renders the same rows from a chunked cursor. Text cells that a spreadsheet would run as a
formula (``=``, ``+``, ``-``, ``@``, tab or CR first) are prefixed with ``'`` (CSV
injection), in both formats.
"""

from __future__ import annotations

import csv
import io
import itertools
import string
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta
from typing import IO, Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.utils import timezone
from psycopg import sql

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
_NUMBER_COLUMNS = frozenset({"entry_id", "debit", "credit"})
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


def _in_pieces(blocks: Iterable[Any]) -> Iterator[bytes]:
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


def _lines_sql(start: datetime, end: datetime, *, numbered_from: int | None = None) -> sql.Composed:
    """One row per journal line with the export's columns, oldest entry first; with
    ``numbered_from``, also ``n``: the line's number, counted from that number."""
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
    ]
    select = [
        sql.SQL("{} AS {}").format(value, sql.Identifier(column))
        for value, column in zip(values, COLUMNS, strict=True)
    ]
    if numbered_from is not None:
        select.append(
            sql.SQL("row_number() OVER (ORDER BY e.id, l.id) + {} AS n").format(
                sql.Literal(numbered_from - 1)
            )
        )
    return sql.SQL(
        "SELECT {select} FROM billing_journalline l"
        " JOIN billing_journalentry e ON e.id = l.entry_id"
        " JOIN billing_account a ON a.id = l.account_id"
        " WHERE e.posted_at >= {start} AND e.posted_at < {end}"
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
            yield from _in_pieces(copy)
    else:
        yield from _in_pieces(_csv_rows_in_python(start, end))


# --- XLSX -----------------------------------------------------------------------------
# The workbook's XML parts are written directly, row by row, into a zip in a temporary file:
# constant memory, text stored inline (no shared-strings table growing with the export),
# and many times faster than openpyxl, whose per-cell serialisation (without lxml) took
# over half a minute for 100,000 lines. On PostgreSQL the database renders each row's XML.

_SPREADSHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELATIONSHIP_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_NS = "http://schemas.openxmlformats.org/package/2006"
_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
# XML 1.0 cannot carry these at all: a memo holding one would make a corrupt workbook.
_XML_ILLEGAL = "".join(map(chr, [*range(0x01, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)]))
_XML_ILLEGAL += "\ufffe\uffff"
# Markup characters, and the characters COPY's text format would escape with a backslash:
# as character references they reach the cell unchanged and every row stays on one line.
_XML_ESCAPES = (
    ("&", "&amp;"),  # first: the others add ampersands
    ("<", "&lt;"),
    (">", "&gt;"),
    ("\\", "&#92;"),
    ("\n", "&#10;"),
    ("\r", "&#13;"),
    ("\t", "&#9;"),
)
_XML_TEXT = str.maketrans({**dict.fromkeys(_XML_ILLEGAL), **dict(_XML_ESCAPES)})
_LETTERS = [chr(ord("A") + index) for index in range(len(COLUMNS))]


def _row_template(number_columns: frozenset[str]) -> str:
    """``str.format`` template of a sheet row: ``{r}`` is its number, ``{0}``… its cells."""
    cells = []
    for index, (letter, column) in enumerate(zip(_LETTERS, COLUMNS, strict=True)):
        if column in number_columns:
            cells.append(f'<c r="{letter}{{r}}"><v>{{{index}}}</v></c>')
        else:
            cells.append(
                f'<c r="{letter}{{r}}" t="inlineStr"><is><t xml:space="preserve">{{{index}}}'
                "</t></is></c>"
            )
    return '<row r="{r}">' + "".join(cells) + "</row>\n"


_ROW = _row_template(_NUMBER_COLUMNS)
_SHEET_START = (
    f'{_XML_DECLARATION}<worksheet xmlns="{_SPREADSHEET_NS}"><sheetData>'
    + _row_template(frozenset()).format(*COLUMNS, r=1)
).encode()
_SHEET_END = b"</sheetData></worksheet>"


def _xlsx_rows_in_python(start: datetime, end: datetime) -> Iterator[bytes]:
    """Each line's sheet row, numbered from 2 in each sheet (row 1 is the header)."""
    per_sheet = XLSX_MAX_ROWS_PER_SHEET
    for index, row in enumerate(_rows(start, end)):
        cells = (value if isinstance(value, int) else value.translate(_XML_TEXT) for value in row)
        yield _ROW.format(*cells, r=index % per_sheet + 2).encode()


def _xml_text_sql(column: str) -> sql.Composable:
    value = sql.Identifier("line", column)
    illegal = sql.Literal(f"[{_XML_ILLEGAL}]")
    # The test first: a plain match is cheap, removing characters is not (rarely needed).
    text: sql.Composable = sql.SQL(
        "CASE WHEN {v} ~ {illegal} THEN regexp_replace({v}, {illegal}, '', 'g') ELSE {v} END"
    ).format(v=value, illegal=illegal)
    for character, reference in _XML_ESCAPES:
        text = sql.SQL("replace({}, {}, {})").format(
            text, sql.Literal(character), sql.Literal(reference)
        )
    return text


def xlsx_copy_statement(start: datetime, end: datetime) -> sql.Composed:
    """``COPY … TO STDOUT`` of each line's sheet row, rendered by PostgreSQL exactly as
    :func:`_xlsx_rows_in_python` renders it, one row per line of output."""
    pieces: list[sql.Composable] = []
    for literal, field, _, _ in string.Formatter().parse(_ROW):
        if literal:
            pieces.append(sql.Literal(literal.removesuffix("\n")))
        if field == "r":
            pieces.append(
                sql.SQL("((line.n - 1) % {} + 2)::text").format(
                    sql.Literal(XLSX_MAX_ROWS_PER_SHEET)
                )
            )
        elif field is not None:
            column = COLUMNS[int(field)]
            if column in _NUMBER_COLUMNS:
                pieces.append(sql.SQL("{}::text").format(sql.Identifier("line", column)))
            else:
                pieces.append(_xml_text_sql(column))
    return sql.SQL("COPY (SELECT {row} FROM ({lines}) AS line ORDER BY line.n) TO STDOUT").format(
        row=sql.SQL(" || ").join(pieces), lines=_lines_sql(start, end, numbered_from=1)
    )


def _xlsx_rows_from_copy(start: datetime, end: datetime) -> Iterator[bytes]:
    with connection.cursor() as cursor, cursor.cursor.copy(xlsx_copy_statement(start, end)) as copy:
        for block in copy:
            # One row per block, its newline included; split anyway, should that ever change.
            yield from bytes(block).splitlines(keepends=True)


def _write_sheets(package: zipfile.ZipFile, rows: Iterator[bytes]) -> int:
    """Writes ``rows`` into sheets of up to XLSX_MAX_ROWS_PER_SHEET rows below a header
    row, at least one sheet and no empty one after it; returns how many."""
    sheet_count = 0
    following = next(rows, None)
    while sheet_count == 0 or following is not None:
        sheet_count += 1
        sheet_rows = itertools.chain([] if following is None else [following], rows)
        name = f"xl/worksheets/sheet{sheet_count}.xml"
        with package.open(name, "w", force_zip64=True) as part:
            part.write(_SHEET_START)
            for piece in _in_pieces(itertools.islice(sheet_rows, XLSX_MAX_ROWS_PER_SHEET)):
                part.write(piece)
            part.write(_SHEET_END)
        following = next(rows, None)
    return sheet_count


def _package_parts(sheet_count: int) -> dict[str, str]:
    """Every part of the workbook but its sheets."""
    numbers = range(1, sheet_count + 1)
    worksheet = f"{_CONTENT_TYPE}.worksheet+xml"
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{worksheet}"/>'
        for n in numbers
    )
    sheets = "".join(f'<sheet name="ledger-{n}" sheetId="{n}" r:id="rId{n}"/>' for n in numbers)
    sheet_relationships = "".join(
        f'<Relationship Id="rId{n}" Type="{_RELATIONSHIP_NS}/worksheet"'
        f' Target="worksheets/sheet{n}.xml"/>'
        for n in numbers
    )
    return {
        "[Content_Types].xml": (
            f'<Types xmlns="{_PACKAGE_NS}/content-types">'
            '<Default Extension="rels"'
            ' ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_CONTENT_TYPE}.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{_CONTENT_TYPE}.styles+xml"/>'
            f"{overrides}</Types>"
        ),
        "_rels/.rels": (
            f'<Relationships xmlns="{_PACKAGE_NS}/relationships">'
            f'<Relationship Id="rId1" Type="{_RELATIONSHIP_NS}/officeDocument"'
            ' Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<workbook xmlns="{_SPREADSHEET_NS}" xmlns:r="{_RELATIONSHIP_NS}">'
            f"<sheets>{sheets}</sheets></workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{_PACKAGE_NS}/relationships">{sheet_relationships}'
            f'<Relationship Id="rId{sheet_count + 1}" Type="{_RELATIONSHIP_NS}/styles"'
            ' Target="styles.xml"/></Relationships>'
        ),
        "xl/styles.xml": (
            f'<styleSheet xmlns="{_SPREADSHEET_NS}">'
            '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
            '<fills count="2"><fill><patternFill patternType="none"/></fill>'
            '<fill><patternFill patternType="gray125"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border>'
            "</borders>"
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
            "</cellStyleXfs>"
            '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
            "</cellXfs>"
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            "</styleSheet>"
        ),
    }


def ledger_export_xlsx(*, start: datetime, end: datetime) -> IO[bytes]:
    """An XLSX workbook in a temporary file, built in constant memory; the caller streams it.

    Sheets ``ledger-1``, ``ledger-2``, … each start with the header row; a new one starts
    every 1,048,575 rows (Excel's limit). Amounts are numbers, everything else text.
    """
    if connection.vendor == "postgresql":
        rows = _xlsx_rows_from_copy(start, end)
    else:
        rows = _xlsx_rows_in_python(start, end)
    output = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the streaming response
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as package:
        sheet_count = _write_sheets(package, rows)
        for name, xml in _package_parts(sheet_count).items():
            package.writestr(name, _XML_DECLARATION + xml)
    output.seek(0)
    return output
