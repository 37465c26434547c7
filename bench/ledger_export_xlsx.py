"""For information: the XLSX ledger export against raw ``COPY`` of the same rows.

The app path is ``ledger_export_xlsx(start=, end=)``, a finished workbook in a temporary
file, read back fully as the view's ``FileResponse`` would, then checked to be a sound ZIP
package with a worksheet. The baseline is the database's fastest way to hand over the same
rows: raw psycopg ``COPY (…) TO STDOUT`` with the CSV export's statement
(``copy_statement``), consumed fully. The ratio says how much of that speed the workbook
path keeps, whatever it is built with.
"""

from __future__ import annotations

import zipfile
from datetime import datetime, timedelta
from typing import IO

from bench.database import raw_connect
from bench.ledger_export_csv import copy_baseline
from bench.ledger_fill import LINES_PER_DAY, Filled
from bench.memory import MemoryWatch
from bench.report import Outcome, memory_outcome, rate, ratio_outcome, timed


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
    print(f"\n== XLSX export (for information): {rows:,} journal lines ==", flush=True)
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
    return [
        ratio_outcome(
            name="xlsx export (ledger_export_xlsx)",
            unit="rows/s",
            app_rate=rate(rows, app_seconds),
            baseline_label="raw COPY",
            baseline_rate=rate(rows, copy_seconds),
            target=None,
        ),
        memory_outcome(
            name="xlsx export memory (ledger_export_xlsx)",
            detail=(
                f"tracemalloc peak {traced.traced_peak_mb or 0.0:,.1f} MB,"
                f" RSS peak {max(watch.rss_peak_mb, traced.rss_peak_mb):,.1f} MB"
                f" ({watch.rss_scope})"
            ),
            peak_mb=max(watch.worst_mb, traced.worst_mb),
            limit_mb=None,
        ),
    ]
