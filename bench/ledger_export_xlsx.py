"""The XLSX ledger export against raw ``COPY`` of the same rows (target 0.15, < 150 MB).

The app path is ``ledger_export_xlsx(start=, end=)``, a finished workbook in a temporary
file, read back fully as the view's ``FileResponse`` would, then checked to be a sound ZIP
package with a worksheet. The baseline is the database's fastest way to hand over the same
rows: raw psycopg ``COPY (…) TO STDOUT`` with the CSV export's statement
(``copy_statement``), consumed fully. The ratio says how much of that speed the workbook
path keeps, whatever it is built with.

**The writers' ceiling:** the first ``CEILING_ROWS`` rows of the window, read into memory
first, written with no database at all by XlsxWriter (constant memory, the app's way: each
cell with its type's method) and by openpyxl (write-only, the app's writer before), as a
ratio to the same ``COPY`` rate: the most either library could reach, whatever the query.
"""

from __future__ import annotations

import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import IO, Any

from bench.database import raw_connect
from bench.ledger_export_csv import copy_baseline
from bench.ledger_fill import LINES_PER_DAY, Filled
from bench.memory import MemoryWatch
from bench.report import Outcome, memory_outcome, rate, ratio_outcome, timed

TARGET_RATIO = 0.15
LIMIT_MB = 150.0
CEILING_ROWS = 20_000


def _xlsxwriter(rows: Sequence[tuple[Any, ...]]) -> None:
    import xlsxwriter

    from billing.selectors.ledger_export import _XLSX_NUMBERS, _XLSX_OPTIONS, COLUMNS

    with tempfile.TemporaryFile() as output:
        workbook = xlsxwriter.Workbook(output, _XLSX_OPTIONS)
        sheet = workbook.add_worksheet("ledger-1")
        sheet.write_row(0, 0, COLUMNS)
        write_number, write_string = sheet.write_number, sheet.write_string
        numbers = [index in _XLSX_NUMBERS for index in range(len(COLUMNS))]
        for at, row in enumerate(rows, 1):
            for column, (number, value) in enumerate(zip(numbers, row, strict=True)):
                if number:
                    write_number(at, column, value)
                elif value:
                    write_string(at, column, value)
        workbook.close()


def _openpyxl(rows: Sequence[tuple[Any, ...]]) -> None:
    from openpyxl import Workbook

    from billing.selectors.ledger_export import COLUMNS

    with tempfile.TemporaryFile() as output:
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("ledger-1")
        sheet.append(COLUMNS)
        for row in rows:
            sheet.append(row)
        workbook.save(output)


def _read_back(start: datetime, end: datetime) -> IO[bytes]:
    """The workbook, read through once (as a response would be), rewound for checking."""
    from billing.selectors.ledger_export import ledger_export_xlsx

    output = ledger_export_xlsx(start=start, end=end)
    while output.read(1 << 16):
        pass
    output.seek(0)
    return output


def _check_workbook(output: IO[bytes]) -> int:
    """Size in bytes of a workbook whose ZIP parts are all intact and include a sheet."""
    with output, zipfile.ZipFile(output) as package:
        damaged = package.testzip()
        names = package.namelist()
        size = output.seek(0, 2)
    if damaged is not None or not any(n.startswith("xl/worksheets/") for n in names):
        raise RuntimeError(f"the XLSX export is not a sound workbook (damaged part: {damaged})")
    return size


def run(*, filled: Filled, lines: int) -> list[Outcome]:
    from billing.models import JournalLine
    from billing.selectors.ledger_export import export_window

    days = max(1, min(lines // LINES_PER_DAY, (filled.last_day - filled.first_day).days + 1))
    last_day = filled.first_day + timedelta(days=days - 1)
    start, end = export_window(filled.first_day, last_day)
    rows = JournalLine.objects.filter(entry__posted_at__gte=start, entry__posted_at__lt=end).count()
    print(f"\n== XLSX export: {rows:,} journal lines ==", flush=True)
    warm_end = start + timedelta(minutes=10)  # a few dozen rows: imports, caches, plans
    _check_workbook(_read_back(start, warm_end))
    with raw_connect(autocommit=True) as conn:
        copy_baseline(conn, start, warm_end)
        copy_seconds, _ = timed(lambda: copy_baseline(conn, start, end))
    with MemoryWatch(trace=False) as watch:
        app_seconds, output = timed(lambda: _read_back(start, end))
    size = _check_workbook(output)
    with MemoryWatch(trace=True) as traced:
        _read_back(start, end).close()
    print(
        f"workbook {size / 1e6:,.1f} MB; ledger_export_xlsx {app_seconds:.2f} s,"
        f" raw COPY {copy_seconds:.2f} s",
        flush=True,
    )
    from billing.selectors.ledger_export import _rows

    sample = []
    for row in _rows(start, end):
        sample.append(row)
        if len(sample) == CEILING_ROWS:
            break
    writers: dict[str, Callable[[Sequence[tuple[Any, ...]]], None]] = {
        "XlsxWriter": _xlsxwriter,
        "openpyxl write-only": _openpyxl,
    }
    ceilings = {}
    for name, write in writers.items():
        started = time.perf_counter()
        write(sample)
        ceilings[name] = time.perf_counter() - started
    copy_rate = rate(rows, copy_seconds)
    return [
        ratio_outcome(
            name="xlsx export (ledger_export_xlsx)",
            unit="rows/s",
            app_rate=rate(rows, app_seconds),
            baseline_label="raw COPY",
            baseline_rate=copy_rate,
            target=TARGET_RATIO,
        ),
        memory_outcome(
            name="xlsx export memory (ledger_export_xlsx)",
            detail=(
                f"tracemalloc peak {traced.traced_peak_mb or 0.0:,.1f} MB,"
                f" RSS peak {max(watch.rss_peak_mb, traced.rss_peak_mb):,.1f} MB"
                f" ({watch.rss_scope})"
            ),
            peak_mb=max(watch.worst_mb, traced.worst_mb),
            limit_mb=LIMIT_MB,
        ),
        *(
            ratio_outcome(
                name=f"xlsx ceiling, no database ({name}, {len(sample):,} rows)",
                unit="rows/s",
                app_rate=rate(len(sample), seconds),
                baseline_label="raw COPY",
                baseline_rate=copy_rate,
                target=None,
            )
            for name, seconds in ceilings.items()
        ),
    ]
