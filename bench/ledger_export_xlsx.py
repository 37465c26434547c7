"""The XLSX ledger export against raw ``COPY`` of the same rows (target 0.15, < 150 MB).

Everything below runs on the same rows — the journal lines of whole days, ``lines`` of
them — in one run, so each figure is a ratio to the same ``COPY`` rate:

* **Baseline:** raw psycopg ``COPY (…) TO STDOUT`` with the CSV export's statement
  (``copy_statement``), consumed fully: the database's fastest way to hand the rows over.
* **App:** ``ledger_export_xlsx(start=, end=)`` in a freshly spawned process (Django and the
  export alone, as a server's worker), a finished workbook in a temporary file, read back
  fully as the view's ``FileResponse`` would, then checked to be a sound ZIP package; that
  process's RSS high-water mark over its whole life. On PostgreSQL the app's sheets hold
  rows PostgreSQL renders as XML (``xlsx_sheet_rows_statement``) in XlsxWriter's frame.
* **The database's share:** that ``COPY`` of the sheet rows' XML alone, consumed and
  dropped (no zip): the most the app's path can reach.
* **The writers' ceiling:** the same rows, fetched by a server-side cursor in batches whose
  fetching is not timed, written cell by cell with no database time counted by XlsxWriter
  in constant-memory mode (``ledger_workbook``, the app's path on SQLite and the one before
  on PostgreSQL) and by openpyxl in write-only mode (the first ``openpyxl_lines`` rows: it
  is the slower of the two): the most either library reaches writing each cell in Python.
* **What the format costs, whatever writes it:** the bytes of the sheet XML (inflated from
  the app's workbook) against ``COPY``'s CSV bytes, per row and per cell, and the time zlib
  alone (C) takes to deflate that XML at level 6 (zipfile's default, which both libraries
  use) and at level 1 (the fastest), as a rate against ``COPY``.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any

from bench import database
from bench.database import raw_connect
from bench.ledger_export_csv import copy_baseline
from bench.ledger_fill import LINES_PER_DAY, Filled
from bench.memory import in_a_fresh_process, lifetime_max_rss_mb, peak_rss_mb, rss_mb
from bench.report import Outcome, memory_outcome, rate, ratio_outcome, timed

TARGET_RATIO = 0.15
LIMIT_MB = 150.0
OPENPYXL_LINES = 200_000
_BATCH_ROWS = 20_000  # rows held in memory at a time by the ceiling runs
_INFLATE_BYTES = 1 << 20


class _Untimed:
    """The window's rows, in batches from a server-side cursor; the time spent fetching
    them is kept aside so that the writer's time can be told from the database's."""

    def __init__(self, start: datetime, end: datetime, limit: int | None) -> None:
        self.start, self.end, self.limit = start, end, limit
        self.fetch_seconds = 0.0
        self.rows = 0

    def __iter__(self) -> Iterator[Sequence[Any]]:
        from billing.selectors.ledger_export import _lines_sql, _xml_text

        with raw_connect() as conn, conn.cursor(name="xlsx_ceiling") as cursor:
            cursor.execute(_lines_sql(self.start, self.end))
            while self.limit is None or self.rows < self.limit:
                wanted = _BATCH_ROWS
                if self.limit is not None:
                    wanted = min(wanted, self.limit - self.rows)
                started = time.perf_counter()
                # What the embedded path does before XlsxWriter: the XML-illegal characters
                # dropped (untimed, like the fetch).
                batch = [_xml_text(row) for row in cursor.fetchmany(wanted)]
                self.fetch_seconds += time.perf_counter() - started
                if not batch:
                    return
                self.rows += len(batch)
                yield from batch


def _xlsxwriter(rows: Iterable[Sequence[Any]]) -> None:
    from billing.selectors.ledger_export import ledger_workbook

    with tempfile.TemporaryFile() as output:
        ledger_workbook(rows, output)


def _openpyxl(rows: Iterable[Sequence[Any]]) -> None:
    from openpyxl import Workbook

    from billing.selectors.ledger_export import COLUMNS

    with tempfile.TemporaryFile() as output:
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("ledger-1")
        sheet.append(COLUMNS)
        for row in rows:
            sheet.append(row)
        workbook.save(output)


@dataclass(frozen=True, slots=True)
class _Export:
    seconds: float
    rss_before_mb: float
    rss_peak_mb: float


def _export_in_a_fresh_process(
    start: datetime, end: datetime, warm_end: datetime, path: str
) -> _Export:
    """Runs in a process of its own (spawned, like a server's worker: Django and the export,
    nothing else): one warm-up export of a few rows, then the timed one, read through once
    as a response would be and copied to ``path`` for the checks. The RSS peak is the
    process's whole life's (``VmHWM``)."""
    database.django_setup()
    from billing.selectors.ledger_export import ledger_export_xlsx

    ledger_export_xlsx(start=start, end=warm_end).close()
    before = rss_mb() or 0.0
    started = time.perf_counter()
    with ledger_export_xlsx(start=start, end=end) as output:
        while output.read(1 << 16):
            pass
        seconds = time.perf_counter() - started
        output.seek(0)
        with open(path, "wb") as copy:
            shutil.copyfileobj(output, copy)
    return _Export(seconds, before, peak_rss_mb() or lifetime_max_rss_mb())


@dataclass(frozen=True, slots=True)
class _Sheets:
    """The workbook's worksheet XML: its size, its cells, and zlib's time to deflate it."""

    workbook_bytes: int
    xml_bytes: int
    cells: int
    deflate_seconds: dict[int, float]


def _sheets(output: IO[bytes], levels: Sequence[int]) -> _Sheets:
    """Checks the ZIP package (every part's CRC), then inflates each worksheet part in
    pieces, counting its bytes and ``<c `` elements and timing zlib's deflate of each piece
    at each level (the inflating is not timed)."""
    deflate_seconds = dict.fromkeys(levels, 0.0)
    xml_bytes = cells = 0
    with output, zipfile.ZipFile(output) as package:
        damaged = package.testzip()
        parts = [name for name in package.namelist() if name.startswith("xl/worksheets/")]
        if damaged is not None or not parts:
            raise RuntimeError(f"the XLSX export is not a sound workbook (damaged: {damaged})")
        compressors = {level: zlib.compressobj(level, zlib.DEFLATED, -15) for level in levels}
        for part in parts:
            with package.open(part) as xml:
                tail = b""  # a "<c " split between two pieces is counted once
                while piece := xml.read(_INFLATE_BYTES):
                    xml_bytes += len(piece)
                    cells += (tail + piece).count(b"<c ")
                    tail = piece[-2:]
                    for level, compressor in compressors.items():
                        started = time.perf_counter()
                        compressor.compress(piece)
                        deflate_seconds[level] += time.perf_counter() - started
        for level, compressor in compressors.items():
            started = time.perf_counter()
            compressor.flush()
            deflate_seconds[level] += time.perf_counter() - started
        size = output.seek(0, 2)
    return _Sheets(size, xml_bytes, cells, deflate_seconds)


def _sheet_rows_copy(conn: Any, start: datetime, end: datetime) -> int:
    """The app's ``COPY`` of the sheet rows' XML, consumed: the bytes received."""
    from billing.selectors.ledger_export import XLSX_MAX_ROWS_PER_SHEET, xlsx_sheet_rows_statement

    statement = xlsx_sheet_rows_statement(start, end, XLSX_MAX_ROWS_PER_SHEET)
    received = 0
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        for block in copy:
            received += len(block)
    return received


def _writer_seconds(write: Callable[[Iterable[Sequence[Any]]], None], rows: _Untimed) -> float:
    seconds, _ = timed(lambda: write(rows))
    return seconds - rows.fetch_seconds


def run(*, filled: Filled, lines: int, openpyxl_lines: int = OPENPYXL_LINES) -> list[Outcome]:
    from billing.selectors.ledger_export import export_window

    days = max(1, min(lines // LINES_PER_DAY, (filled.last_day - filled.first_day).days + 1))
    last_day = filled.first_day + timedelta(days=days - 1)
    start, end = export_window(filled.first_day, last_day)
    with raw_connect() as conn:
        (rows,) = conn.execute(
            "SELECT count(*) FROM billing_journalline l JOIN billing_journalentry e"
            " ON e.id = l.entry_id WHERE e.posted_at >= %s AND e.posted_at < %s",
            (start, end),
        ).fetchone() or (0,)
    print(f"\n== XLSX export: {rows:,} journal lines ==", flush=True)
    warm_end = start + timedelta(minutes=10)  # a few dozen rows: imports, caches, plans
    with raw_connect(autocommit=True) as conn:
        copy_baseline(conn, start, warm_end)
        runs = [timed(lambda: copy_baseline(conn, start, end)) for _ in range(2)]
        sheet_rows_seconds, sheet_rows_bytes = timed(lambda: _sheet_rows_copy(conn, start, end))
    copy_seconds, csv_bytes = min(runs)
    with tempfile.NamedTemporaryFile(suffix=".xlsx") as workbook:
        export = in_a_fresh_process(_export_in_a_fresh_process, start, end, warm_end, workbook.name)
        sheets = _sheets(open(workbook.name, "rb"), levels=(6, 1))  # noqa: SIM115 - closed by _sheets
    app_seconds = export.seconds
    print(
        f"raw COPY {copy_seconds:.2f} s ({csv_bytes / 1e6:,.1f} MB of CSV);"
        f" ledger_export_xlsx {app_seconds:.2f} s ({sheets.workbook_bytes / 1e6:,.1f} MB"
        f" workbook; its process's RSS {export.rss_before_mb:,.0f} MB before,"
        f" {export.rss_peak_mb:,.0f} MB at peak)",
        flush=True,
    )
    ceiling_rows = {"XlsxWriter constant_memory": rows, "openpyxl write-only": openpyxl_lines}
    ceilings = {}
    for (name, limit), write in zip(ceiling_rows.items(), (_xlsxwriter, _openpyxl), strict=True):
        source = _Untimed(start, end, limit=min(limit, rows))
        ceilings[name] = (source, _writer_seconds(write, source))
    copy_rate = rate(rows, copy_seconds)
    xlsxwriter_source, xlsxwriter_seconds = ceilings["XlsxWriter constant_memory"]
    print(
        f"the format: sheet XML {sheets.xml_bytes / 1e6:,.1f} MB ="
        f" {sheets.xml_bytes / rows:,.0f} bytes/row vs COPY's CSV {csv_bytes / rows:,.0f}"
        f" (x{sheets.xml_bytes / csv_bytes:.1f}); {sheets.cells / rows:.1f} cells/row,"
        f" {sheets.xml_bytes / sheets.cells:.0f} bytes/cell;"
        f" per cell: XlsxWriter {xlsxwriter_seconds / sheets.cells * 1e6:.2f} us,"
        f" deflate level 6 {sheets.deflate_seconds[6] / sheets.cells * 1e9:.0f} ns;"
        f" COPY {copy_seconds / rows * 1e6:.2f} us/row",
        flush=True,
    )
    print(
        f"PostgreSQL's sheet rows alone (binary COPY of their XML, no zip):"
        f" {sheet_rows_seconds:.2f} s, {sheet_rows_bytes / 1e6:,.1f} MB",
        flush=True,
    )

    def against_copy(name: str, count: int, seconds: float, target: float | None) -> Outcome:
        return ratio_outcome(
            name=name,
            unit="rows/s",
            app_rate=rate(count, seconds),
            baseline_label="raw COPY",
            baseline_rate=copy_rate,
            target=target,
        )

    return [
        against_copy("xlsx export (ledger_export_xlsx)", rows, app_seconds, TARGET_RATIO),
        against_copy(
            "xlsx sheet rows by PostgreSQL alone (COPY of their XML, no zip)",
            rows,
            sheet_rows_seconds,
            None,
        ),
        memory_outcome(
            name="xlsx export memory (ledger_export_xlsx)",
            detail=(
                f"a fresh process's RSS: {export.rss_before_mb:,.1f} MB after Django's start"
                f" and a warm-up, {export.rss_peak_mb:,.1f} MB at peak"
            ),
            peak_mb=export.rss_peak_mb,
            limit_mb=LIMIT_MB,
        ),
        *(
            against_copy(
                f"xlsx ceiling, no database ({name}, {source.rows:,} rows)",
                source.rows,
                seconds,
                None,
            )
            for name, (source, seconds) in ceilings.items()
        ),
        ratio_outcome(
            name="xlsx export vs XlsxWriter writing every cell (no database)",
            unit="rows/s",
            app_rate=rate(rows, app_seconds),
            baseline_label="XlsxWriter alone",
            baseline_rate=rate(xlsxwriter_source.rows, xlsxwriter_seconds),
            target=None,
        ),
        *(
            against_copy(
                f"xlsx format: zlib level {level} of the sheet XML alone (C)", rows, seconds, None
            )
            for level, seconds in sheets.deflate_seconds.items()
        ),
    ]
