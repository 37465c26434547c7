"""The statements stream in constant memory for any range (issue 13, item 5): the account
detail's JSON is written line by line from a chunked cursor, its XLSX row by row to a file
(openpyxl's write-only mode, as the ledger export); Python's peak memory (tracemalloc) is the
same for N lines as for 4N."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from billing.chart import PATIENT_RECEIVABLE
from billing.models import Account
from tests.billing.test_finance_export_volume import (
    HANOI,
    MB,
    bulk_post,
    traced_download,
    traced_stream,
)

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

URL = "/api/v1/ledger/account-detail"
N = 3_000
# The first N entries' day and the next 3N entries' day, read as one range.
FIRST = datetime(2024, 5, 1, 6, tzinfo=HANOI)
LATER = FIRST + timedelta(days=400)
RANGE = {"account": PATIENT_RECEIVABLE, "from": "2024-05-01", "to": "2025-06-30"}


def _grown(measure: object) -> tuple[int, int]:
    """Peak memory of ``measure()`` over N receivable lines, then over 4N."""
    assert callable(measure)
    bulk_post(N, first=FIRST, prefix="small")
    small = measure()
    bulk_post(3 * N, first=LATER, prefix="large")
    return small, measure()


def test_the_json_statement_streams_in_the_same_memory_for_4n_lines(
    finance_client: APIClient, chart: dict[str, Account]
) -> None:
    counted: list[dict[str, int]] = []

    def measure() -> int:
        peak, seen = traced_stream(finance_client, URL, RANGE, b'"entry_id"')
        counted.append(seen)
        return peak

    small, large = _grown(measure)

    assert [seen["newlines"] for seen in counted] == [N, 4 * N]  # one object per line
    assert max(seen["largest_piece"] for seen in counted) < 1 * MB
    assert large < small * 1.25 + 256 * 1024, f"{small / MB:.2f} MB -> {large / MB:.2f} MB"


def test_the_xlsx_statement_is_built_in_the_same_memory_for_4n_lines(
    finance_client: APIClient, chart: dict[str, Account]
) -> None:
    def measure() -> int:
        peak, download = traced_download(finance_client, URL, {**RANGE, "format": "xlsx"})
        download.close()
        return peak

    small, large = _grown(measure)

    assert large < small * 1.25 + 256 * 1024, f"{small / MB:.2f} MB -> {large / MB:.2f} MB"


def test_a_statement_of_years_answers(finance_client: APIClient, chart: dict[str, Account]) -> None:
    bulk_post(10, first=FIRST)
    response: Any = finance_client.get(URL, {**RANGE, "from": "2020-01-01", "to": "2026-12-31"})

    body = json.loads(b"".join(response.streaming_content))
    assert (response.status_code, len(body["lines"]), body["opening_balance"]) == (200, 10, 0)
    assert body["closing_balance"] == body["lines"][-1]["balance"] == body["total_debit"]
