"""The ledger export at volume: 100,000 journal lines in bounded memory, and a download
abandoned half-way leaves the database connection fit for the next request."""

from __future__ import annotations

import tempfile
import tracemalloc
import zipfile
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.db.models import Model
from rest_framework.test import APIClient

from billing.chart import PATIENT_RECEIVABLE, SERVICE_REVENUE
from billing.models import Account, JournalEntry, JournalLine
from billing.selectors.ledger_export import COLUMNS

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
EXPORT_URL = "/api/v1/ledger/export"
DAY = {"from": "2024-05-01", "to": "2024-05-01"}
ENTRIES = 50_000
LINES = 2 * ENTRIES
MB = 1024 * 1024


def _text_columns_left_to_default(model: type[Model], filled: set[str]) -> list[str]:
    """Columns the statements below do not fill: given '' (blank text), so that a text
    column added to the ledger later does not break this fixture."""
    return [
        field.column
        for field in model._meta.concrete_fields
        if field.column not in filled and not field.null and not field.primary_key
    ]


def bulk_post(entries: int, *, first: datetime, prefix: str = "bulk") -> None:
    """``entries`` balanced two-line entries (Dr patient receivable / Cr service revenue),
    one second apart, in two
    SQL statements of one transaction — the database guards insist that lines are added
    in the transaction that created their entry, and check the balance at commit."""
    entry_columns = {"posted_at", "memo", "source_type", "source_id", "posting_key"}
    entry_extra = _text_columns_left_to_default(JournalEntry, entry_columns | {"created_at"})
    line_extra = _text_columns_left_to_default(
        JournalLine, {"entry_id", "account_id", "debit", "credit"}
    )
    entry_extra_names = "".join(f", {column}" for column in entry_extra)
    line_extra_names = "".join(f", {column}" for column in line_extra)
    entry_blanks = ", ''" * len(entry_extra)
    line_blanks = ", ''" * len(line_extra)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO billing_journalentry"
            " (posted_at, memo, source_type, source_id, posting_key, created_at"
            f"{entry_extra_names})"
            " SELECT %(first)s::timestamptz + g * interval '1 second',"
            "  'Thu viện phí khám bệnh, lần ' || g, %(prefix)s::text, g::text,"
            f"  %(prefix)s::text || ':' || g, now(){entry_blanks}"
            " FROM generate_series(0, %(entries)s - 1) AS g",
            {"first": first, "prefix": prefix, "entries": entries},
        )
        cursor.execute(
            "INSERT INTO billing_journalline"
            f" (entry_id, account_id, debit, credit{line_extra_names})"
            " SELECT e.id, a.id, side.debit * (1000 + e.id %% 997),"
            f"  side.credit * (1000 + e.id %% 997){line_blanks}"
            " FROM billing_journalentry e"
            " CROSS JOIN (VALUES (%(receivable)s, 1, 0), (%(revenue)s, 0, 1))"
            " AS side(code, debit, credit)"
            " JOIN billing_account a ON a.code = side.code"
            " WHERE e.source_type = %(prefix)s::text"
            " ORDER BY e.id, side.debit DESC",
            {"prefix": prefix, "receivable": PATIENT_RECEIVABLE, "revenue": SERVICE_REVENUE},
        )


@pytest.fixture
def hundred_thousand_lines(chart: dict[str, Account]) -> None:
    bulk_post(ENTRIES, first=datetime(2024, 5, 1, 6, tzinfo=HANOI))
    assert JournalLine.objects.count() == LINES


def _traced_peak(run: Iterator[None]) -> int:
    """Peak Python memory (bytes) allocated while ``run`` runs."""
    tracemalloc.start()
    try:
        for _ in run:
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_csv_export_of_100k_lines_streams_in_bounded_memory(
    finance_client: APIClient, hundred_thousand_lines: None
) -> None:
    peak, counted = traced_stream(finance_client, EXPORT_URL, DAY, b"\n")

    assert counted["newlines"] == 1 + LINES  # the header, then one row per line
    assert peak < 20 * MB, f"peak {peak / MB:.1f} MB"
    assert counted["largest_piece"] < 1 * MB
    assert counted["pieces"] < LINES / 100  # written in pieces, not row by row


def traced_stream(
    client: APIClient, url: str, params: dict[str, str], marker: bytes
) -> tuple[int, dict[str, int]]:
    """GETs a streamed ``url``, keeping no piece, and returns the peak Python memory with
    counts: ``newlines`` (occurrences of ``marker``), ``pieces`` and ``largest_piece``."""
    counted = {"newlines": 0, "pieces": 0, "largest_piece": 0}

    def download() -> Iterator[None]:
        response: Any = client.get(url, params)
        assert response.status_code == 200
        for piece in response.streaming_content:  # kept nowhere
            counted["newlines"] += piece.count(marker)
            counted["pieces"] += 1
            counted["largest_piece"] = max(counted["largest_piece"], len(piece))
            yield

    return _traced_peak(download()), counted


def traced_download(client: APIClient, url: str, params: dict[str, str]) -> tuple[int, IO[bytes]]:
    """GETs ``url`` into a temporary file (rewound, for the caller to read and close) and
    returns the peak Python memory of building and downloading it."""
    download = tempfile.TemporaryFile()  # noqa: SIM115 - the caller closes it

    def build_and_download() -> Iterator[None]:
        response: Any = client.get(url, params)
        assert response.status_code == 200
        for piece in response.streaming_content:
            download.write(piece)
            yield

    peak = _traced_peak(build_and_download())
    download.seek(0)
    return peak, download


SHEET_ROW = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}row"


def _read_sheets(workbook: IO[bytes]) -> tuple[list[int], list[list[str]]]:
    """Parses every sheet's XML as a stream (well-formed or it raises): the number of rows
    in each sheet, and the texts of the first two rows."""
    counts: list[int] = []
    first_rows: list[list[str]] = []
    with zipfile.ZipFile(workbook) as package:
        names = sorted(n for n in package.namelist() if n.startswith("xl/worksheets/"))
        for name in names:
            rows = 0
            with package.open(name) as part:
                for _, element in ElementTree.iterparse(part):  # noqa: S314 - ours
                    if element.tag == SHEET_ROW:
                        rows += 1
                        if len(first_rows) < 2:
                            first_rows.append(["".join(cell.itertext()) for cell in element])
                        element.clear()
            counts.append(rows)
    return counts, first_rows


XLSX_ENTRIES = 6_000  # openpyxl under tracemalloc is slow: fewer lines, the same bound


@pytest.fixture
def twelve_thousand_lines(chart: dict[str, Account]) -> None:
    bulk_post(XLSX_ENTRIES, first=datetime(2024, 5, 1, 6, tzinfo=HANOI))


@pytest.mark.slow
def test_xlsx_export_is_built_in_bounded_memory(
    finance_client: APIClient, twelve_thousand_lines: None
) -> None:
    # A first request imports the URLconf's API modules (openpyxl's among them, ~4 MB of
    # allocations): not the export's memory, so it is made before the tracing starts.
    finance_client.get(EXPORT_URL, {"from": "2000-01-01", "to": "2000-01-01", "format": "xlsx"})
    peak, download = traced_download(finance_client, EXPORT_URL, {**DAY, "format": "xlsx"})
    with download:
        rows_per_sheet, (header, first_line) = _read_sheets(download)

    assert rows_per_sheet == [1 + 2 * XLSX_ENTRIES]
    assert peak < 20 * MB, f"peak {peak / MB:.1f} MB"  # a temporary file holds the workbook
    assert header == list(COLUMNS)
    assert first_line[COLUMNS.index("account_code")] == PATIENT_RECEIVABLE
    assert first_line[COLUMNS.index("memo")] == "Thu viện phí khám bệnh, lần 0"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_abandoned_csv_download_leaves_the_connection_usable(
    finance_client: APIClient, chart: dict[str, Account]
) -> None:
    bulk_post(2_000, first=datetime(2024, 5, 1, 6, tzinfo=HANOI))  # committed
    response: Any = finance_client.get(EXPORT_URL, DAY)
    pieces = iter(response.streaming_content)
    next(pieces)  # the header
    next(pieces)  # the first rows; then the client goes away

    response.close()

    assert JournalLine.objects.count() == 4_000
    again: Any = finance_client.get(EXPORT_URL, DAY)
    assert b"".join(again.streaming_content).count(b"\n") == 1 + 4_000
