"""The finance API: journal entries, the trial balance and the ledger export."""

from __future__ import annotations

import csv
import io
import re
import secrets
import struct
import threading
import zipfile
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook
from openpyxl.utils.escape import unescape
from rest_framework.test import APIClient

from billing.chart import (
    DEPOSIT_LIABILITY,
    MAIN_CASH,
    PATIENT_RECEIVABLE,
    PHARMACY_REVENUE,
    PROVIDER_FEES,
    SERVICE_REVENUE,
    current_pack,
)
from billing.models import Account, JournalEntry
from billing.money import Money
from billing.selectors import ledger_export
from billing.selectors.ledger_export import COLUMNS
from billing.services.ledger import Posting, ledger_post
from tests.assertions import assert_error

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
ENTRIES_URL = "/api/v1/ledger/entries"
TRIAL_BALANCE_URL = "/api/v1/ledger/trial-balance"
EXPORT_URL = "/api/v1/ledger/export"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The names the deployment's chart pack gives its accounts.
ACCOUNT_NAME = {account.code: account.name for account in current_pack().accounts}


def hanoi(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    """A moment on the hospital's clock."""
    return datetime(year, month, day, hour, minute, second, us, tzinfo=HANOI)


@pytest.fixture
def post(chart: dict[str, Account]) -> Callable[..., JournalEntry]:
    """``post("inv-1", hanoi(2024, 5, 1, 9))``: one balanced entry, Dr patient receivable /
    Cr service revenue."""

    def make(
        key: str,
        posted_at: datetime,
        amount: int = 180_000,
        *,
        debit: str = PATIENT_RECEIVABLE,
        credit: str = SERVICE_REVENUE,
        memo: str = "",
        source_type: str = "manual",
        source_id: str = "",
        counterparty: str = "",
        voucher: tuple[str, str, str] = ("", "", ""),
    ) -> JournalEntry:
        voucher_type, voucher_number, recorded_by = voucher
        return ledger_post(
            posting_key=key,
            lines=[
                Posting.dr(debit, Money(amount, "VND"), "invoice:1", counterparty=counterparty),
                Posting.cr(credit, Money(amount, "VND")),
            ],
            source_type=source_type,
            source_id=source_id,
            memo=memo,
            posted_at=posted_at,
            voucher_type=voucher_type,
            voucher_number=voucher_number,
            recorded_by=recorded_by,
        )

    return make


def _entry_ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [entry["id"] for entry in response.json()["results"]]


# --- Entries -------------------------------------------------------------------------


def test_entries_show_their_lines_newest_first(
    finance_client: APIClient, post: Callable[..., JournalEntry]
) -> None:
    older = post("inv-1", hanoi(2024, 5, 1, 9), memo="Thu tiền khám bệnh", source_id="1")
    newer = post("dep-1", hanoi(2024, 5, 2, 9), 500_000, debit=MAIN_CASH, credit=DEPOSIT_LIABILITY)

    body = finance_client.get(ENTRIES_URL).json()

    assert [entry["id"] for entry in body["results"]] == [newer.pk, older.pk]
    first = body["results"][1]
    assert first["memo"] == "Thu tiền khám bệnh"
    assert (first["source_type"], first["source_id"], first["posting_key"]) == (
        "manual",
        "1",
        "inv-1",
    )
    assert first["reverses"] is None
    assert datetime.fromisoformat(first["posted_at"]) == hanoi(2024, 5, 1, 9)
    assert first["lines"] == [
        {
            "account_code": PATIENT_RECEIVABLE,
            "account_name": ACCOUNT_NAME[PATIENT_RECEIVABLE],
            "debit": 180_000,
            "credit": 0,
            "currency": "VND",
            "reference": "invoice:1",
            "counterparty": "",
        },
        {
            "account_code": SERVICE_REVENUE,
            "account_name": ACCOUNT_NAME[SERVICE_REVENUE],
            "debit": 0,
            "credit": 180_000,
            "currency": "VND",
            "reference": "",
            "counterparty": "",
        },
    ]
    assert (first["voucher_type"], first["voucher_number"], first["recorded_by"]) == ("", "", "")


def test_entries_filter_by_posting_time_from_inclusive_to_exclusive(
    finance_client: APIClient, post: Callable[..., JournalEntry]
) -> None:
    before = post("a", hanoi(2024, 4, 30, 23, 59, 59))
    at_start = post("b", hanoi(2024, 5, 1))
    inside = post("c", hanoi(2024, 5, 1, 12))
    post("d", hanoi(2024, 5, 2))  # at the exclusive end

    ids = _entry_ids(
        finance_client.get(
            ENTRIES_URL, {"posted_from": "2024-05-01T00:00:00+07:00", "posted_to": "2024-05-02"}
        )
    )
    only_from = _entry_ids(finance_client.get(ENTRIES_URL, {"posted_from": "2024-04-30T16:59:59Z"}))

    assert ids == [inside.pk, at_start.pk]
    assert before.pk in only_from


def test_entries_filter_by_account_code(
    finance_client: APIClient, post: Callable[..., JournalEntry]
) -> None:
    receivable = post("inv-1", hanoi(2024, 5, 1, 9))
    deposit = post("dep-1", hanoi(2024, 5, 1, 10), debit=MAIN_CASH, credit=DEPOSIT_LIABILITY)
    cash_sale = post("pharm-1", hanoi(2024, 5, 1, 11), debit=MAIN_CASH, credit=PHARMACY_REVENUE)

    assert _entry_ids(finance_client.get(ENTRIES_URL, {"account": MAIN_CASH})) == [
        cash_sale.pk,
        deposit.pk,
    ]
    assert _entry_ids(finance_client.get(ENTRIES_URL, {"account": PATIENT_RECEIVABLE})) == [
        receivable.pk
    ]
    assert _entry_ids(finance_client.get(ENTRIES_URL, {"account": PROVIDER_FEES})) == []
    assert _entry_ids(finance_client.get(ENTRIES_URL, {"account": "99999"})) == []


def test_entries_filter_by_source(
    finance_client: APIClient, post: Callable[..., JournalEntry]
) -> None:
    invoice_42 = post("inv-42", hanoi(2024, 5, 1, 9), source_type="invoice", source_id="42")
    post("inv-43", hanoi(2024, 5, 1, 9), source_type="invoice", source_id="43")
    payment_42 = post("pay-42", hanoi(2024, 5, 1, 9), source_type="payment", source_id="42")

    by_type = _entry_ids(finance_client.get(ENTRIES_URL, {"source_type": "invoice"}))
    by_both = finance_client.get(ENTRIES_URL, {"source_type": "invoice", "source_id": "42"})
    by_id = _entry_ids(finance_client.get(ENTRIES_URL, {"source_id": "42"}))

    assert len(by_type) == 2
    assert payment_42.pk not in by_type
    assert _entry_ids(by_both) == [invoice_42.pk]
    assert by_id == [payment_42.pk, invoice_42.pk]


def test_entries_filters_combine(
    finance_client: APIClient, post: Callable[..., JournalEntry]
) -> None:
    post("a", hanoi(2024, 5, 1, 9), debit=MAIN_CASH, credit=PHARMACY_REVENUE, source_type="payment")
    wanted = post(
        "b", hanoi(2024, 5, 2, 9), debit=MAIN_CASH, credit=PHARMACY_REVENUE, source_type="payment"
    )
    post("c", hanoi(2024, 5, 2, 10), source_type="payment")

    ids = _entry_ids(
        finance_client.get(
            ENTRIES_URL,
            {"posted_from": "2024-05-02", "account": MAIN_CASH, "source_type": "payment"},
        )
    )

    assert ids == [wanted.pk]


@pytest.mark.parametrize("page_size", [1, 7, 50])
def test_entries_cursor_pages_cover_every_entry_once(
    finance_client: APIClient, post: Callable[..., JournalEntry], page_size: int
) -> None:
    # Ties on posted_at and ids out of posting-time order: the cursor must not care.
    created = [
        post(f"e-{n}", hanoi(2024, 5, 1, 9) + timedelta(minutes=(n * 7) % 5)) for n in range(23)
    ]
    pages: list[list[int]] = []
    url: str | None = f"{ENTRIES_URL}?page_size={page_size}"

    while url is not None:
        body = finance_client.get(url).json()
        pages.append([entry["id"] for entry in body["results"]])
        url = body["next"]

    seen = [entry_id for page in pages for entry_id in page]
    assert seen == sorted((entry.pk for entry in created), reverse=True)
    assert all(len(page) == page_size for page in pages[:-1])


def test_entries_cursor_survives_entries_posted_while_paging(
    finance_client: APIClient, post: Callable[..., JournalEntry]
) -> None:
    created = [post(f"e-{n}", hanoi(2024, 5, 1, 9)) for n in range(5)]
    first = finance_client.get(ENTRIES_URL, {"page_size": 2}).json()
    post("late", hanoi(2024, 5, 1, 10))

    rest: list[int] = []
    url = first["next"]
    while url is not None:
        body = finance_client.get(url).json()
        rest += [entry["id"] for entry in body["results"]]
        url = body["next"]

    seen = [entry["id"] for entry in first["results"]] + rest
    assert seen == sorted((entry.pk for entry in created), reverse=True)


def test_entries_previous_link_leads_back(
    finance_client: APIClient, post: Callable[..., JournalEntry]
) -> None:
    for n in range(5):
        post(f"e-{n}", hanoi(2024, 5, 1, 9))
    first = finance_client.get(ENTRIES_URL, {"page_size": 2}).json()
    second = finance_client.get(first["next"]).json()

    back = finance_client.get(second["previous"]).json()

    assert first["previous"] is None
    assert back["results"] == first["results"]


def test_entries_page_size_above_the_maximum_is_refused_not_capped(
    finance_client: APIClient, post: Callable[..., JournalEntry]
) -> None:
    for n in range(3):
        post(f"e-{n}", hanoi(2024, 5, 1, 9))

    refused = finance_client.get(ENTRIES_URL, {"page_size": 100_000})
    assert_error(refused, 400, "parameter_invalid", param="page_size")

    body = finance_client.get(ENTRIES_URL, {"page_size": 3}).json()
    assert len(body["results"]) == 3


def test_entries_query_count_does_not_grow_with_the_page(
    finance_client: APIClient,
    post: Callable[..., JournalEntry],
    django_assert_max_num_queries: Any,
) -> None:
    for n in range(40):
        post(f"e-{n}", hanoi(2024, 5, 1, 9), debit=MAIN_CASH if n % 2 else PATIENT_RECEIVABLE)

    with django_assert_max_num_queries(8):
        response = finance_client.get(ENTRIES_URL, {"page_size": 40})

    assert len(response.json()["results"]) == 40


# --- Trial balance -------------------------------------------------------------------


def _balances(body: dict[str, Any]) -> dict[str, tuple[int, int, int, int]]:
    return {
        row["code"]: (
            row["debit_total"],
            row["credit_total"],
            row["debit_balance"],
            row["credit_balance"],
        )
        for row in body["accounts"]
    }


def test_trial_balance_totals_each_account_and_balances(
    finance_client: APIClient, post: Callable[..., JournalEntry]
) -> None:
    post("inv-1", hanoi(2024, 5, 1, 9), 180_000)
    post("pay-1", hanoi(2024, 5, 1, 10), 100_000, debit=MAIN_CASH, credit=PATIENT_RECEIVABLE)
    post("pharm-1", hanoi(2024, 5, 1, 11), 45_000, debit=MAIN_CASH, credit=PHARMACY_REVENUE)

    body = finance_client.get(TRIAL_BALANCE_URL).json()

    assert _balances(body) == {
        MAIN_CASH: (145_000, 0, 145_000, 0),
        PATIENT_RECEIVABLE: (180_000, 100_000, 80_000, 0),
        PHARMACY_REVENUE: (0, 45_000, 0, 45_000),
        SERVICE_REVENUE: (0, 180_000, 0, 180_000),
    }
    assert [row["code"] for row in body["accounts"]] == sorted(
        [MAIN_CASH, PATIENT_RECEIVABLE, PHARMACY_REVENUE, SERVICE_REVENUE]
    )
    assert body["accounts"][0] == {
        "code": MAIN_CASH,
        "name": ACCOUNT_NAME[MAIN_CASH],
        "type": "asset",
        "currency": "VND",
        "debit_total": 145_000,
        "credit_total": 0,
        "debit_balance": 145_000,
        "credit_balance": 0,
    }
    assert body["totals"] == {"VND": {"debit": 225_000, "credit": 225_000}}
    assert body["balanced"] is True


def test_trial_balance_as_of_includes_entries_posted_at_that_instant(
    finance_client: APIClient, post: Callable[..., JournalEntry]
) -> None:
    post("inv-1", hanoi(2024, 5, 1, 9), 180_000)
    post("pay-1", hanoi(2024, 5, 2, 9), 100_000, debit=MAIN_CASH, credit=PATIENT_RECEIVABLE)

    before = finance_client.get(TRIAL_BALANCE_URL, {"as_of": "2024-05-01T08:59:59+07:00"}).json()
    at_first = finance_client.get(TRIAL_BALANCE_URL, {"as_of": "2024-05-01T02:00:00Z"}).json()
    between = finance_client.get(TRIAL_BALANCE_URL, {"as_of": "2024-05-01T23:00:00"}).json()

    assert before["accounts"] == []
    assert before["totals"] == {}
    assert before["balanced"] is True
    assert _balances(at_first) == _balances(between)
    assert _balances(between) == {
        PATIENT_RECEIVABLE: (180_000, 0, 180_000, 0),
        SERVICE_REVENUE: (0, 180_000, 0, 180_000),
    }
    assert datetime.fromisoformat(between["as_of"]) == hanoi(2024, 5, 1, 23)


def test_trial_balance_defaults_to_now(
    finance_client: APIClient, post: Callable[..., JournalEntry]
) -> None:
    post("inv-1", hanoi(2024, 5, 1, 9))
    post(
        "future", datetime.now(HANOI) + timedelta(days=1), debit=MAIN_CASH, credit=PHARMACY_REVENUE
    )

    body = finance_client.get(TRIAL_BALANCE_URL).json()

    assert set(_balances(body)) == {PATIENT_RECEIVABLE, SERVICE_REVENUE}
    assert abs(datetime.fromisoformat(body["as_of"]) - datetime.now(HANOI)) < timedelta(minutes=1)


# --- Export --------------------------------------------------------------------------


def _download(response: Any) -> bytes:
    assert response.status_code == 200, response
    return b"".join(response.streaming_content)


def _csv_rows(response: Any) -> list[list[str]]:
    raw = _download(response)
    assert raw.startswith(b"\xef\xbb\xbf"), raw[:10]
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def _xlsx_rows(response: Any) -> list[list[str]]:
    """The cells as a spreadsheet shows them: ``_x000D_`` is the format's escape of a
    carriage return (ECMA-376 ST_Xstring), which Excel writes and reads back as CR (and
    XlsxWriter writes); openpyxl leaves it as is, so it is decoded here as Excel would."""
    workbook = load_workbook(io.BytesIO(_download(response)), read_only=True)
    return [
        ["" if cell is None else unescape(str(cell)) for cell in row]
        for sheet in workbook.worksheets
        for row in sheet.iter_rows(values_only=True)
    ]


def test_export_csv_has_a_bom_a_header_and_one_row_per_line(
    finance_client: APIClient, post: Callable[..., JournalEntry]
) -> None:
    memo = 'Thu viện phí: Nguyễn Văn Ánh, khoa Nội; "tái khám"\nlần 2'
    entry = post(
        "inv-1",
        hanoi(2024, 5, 1, 9, 30, 15),
        180_000,
        memo=memo,
        source_type="invoice",
        source_id="HD-0001",
        counterparty="BN000123",
        voucher=("HD", "C26TVP-0000001", "thungan.an"),
    )

    response = finance_client.get(EXPORT_URL, {"from": "2024-05-01", "to": "2024-05-01"})
    rows = _csv_rows(response)

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="ledger_2024-05-01_2024-05-01.csv"'
    )
    assert rows[0] == list(COLUMNS)
    assert rows[1:] == [
        [
            str(entry.pk),
            "2024-05-01",
            "2024-05-01T09:30:15",
            PATIENT_RECEIVABLE,
            ACCOUNT_NAME[PATIENT_RECEIVABLE],
            "180000",
            "0",
            "VND",
            memo,
            "invoice",
            "HD-0001",
            "invoice:1",
            "BN000123",
            "HD",
            "C26TVP-0000001",
            "thungan.an",
        ],
        [
            str(entry.pk),
            "2024-05-01",
            "2024-05-01T09:30:15",
            SERVICE_REVENUE,
            ACCOUNT_NAME[SERVICE_REVENUE],
            "0",
            "180000",
            "VND",
            memo,
            "invoice",
            "HD-0001",
            "",
            "",
            "HD",
            "C26TVP-0000001",
            "thungan.an",
        ],
    ]


def test_export_csv_lines_all_end_alike(
    finance_client: APIClient, post: Callable[..., JournalEntry]
) -> None:
    post("inv-1", hanoi(2024, 5, 1, 9))

    raw = _download(finance_client.get(EXPORT_URL, {"from": "2024-05-01"}))

    assert raw.count(b"\n") == 3
    assert b"\r" not in raw


@pytest.mark.parametrize(
    ("memo", "exported"),
    [
        ('=HYPERLINK("http://evil","bấm")', '\'=HYPERLINK("http://evil","bấm")'),
        ("+84 912 345 678", "'+84 912 345 678"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("Hoàn ứng = 50.000 ₫", "Hoàn ứng = 50.000 ₫"),
        ("", ""),
    ],
)
def test_export_defuses_text_a_spreadsheet_would_run(
    finance_client: APIClient, post: Callable[..., JournalEntry], memo: str, exported: str
) -> None:
    post("inv-1", hanoi(2024, 5, 1, 9), memo=memo, source_id="=cmd|' /C calc'!A0")
    params = {"from": "2024-05-01", "to": "2024-05-01"}

    csv_rows = _csv_rows(finance_client.get(EXPORT_URL, params))
    xlsx_rows = _xlsx_rows(finance_client.get(EXPORT_URL, {**params, "format": "xlsx"}))

    memo_at = COLUMNS.index("memo")
    source_id_at = COLUMNS.index("source_id")
    for rows in (csv_rows, xlsx_rows):
        assert [row[memo_at] for row in rows[1:]] == [exported, exported]
        assert [row[source_id_at] for row in rows[1:]] == ["'=cmd|' /C calc'!A0"] * 2


def test_export_days_are_local_and_both_inclusive(
    finance_client: APIClient, post: Callable[..., JournalEntry]
) -> None:
    post("before", hanoi(2024, 4, 30, 23, 59, 59))
    first = post("first", hanoi(2024, 5, 1, 0, 0, 0))  # 2024-04-30 17:00 UTC
    last = post("last", hanoi(2024, 5, 2, 23, 59, 59, 999_999))
    post("after", hanoi(2024, 5, 3))

    rows = _csv_rows(finance_client.get(EXPORT_URL, {"from": "2024-05-01", "to": "2024-05-02"}))

    assert [int(row[0]) for row in rows[1:]] == [first.pk, first.pk, last.pk, last.pk]
    assert [row[1] for row in rows[1::2]] == ["2024-05-01", "2024-05-02"]


def test_export_from_alone_runs_to_today_and_to_alone_from_the_beginning(
    finance_client: APIClient, post: Callable[..., JournalEntry]
) -> None:
    old = post("old", hanoi(2019, 1, 1, 9))
    today = post("today", datetime.now(HANOI) - timedelta(seconds=1))

    since_2020 = _csv_rows(finance_client.get(EXPORT_URL, {"from": "2020-01-01"}))
    until_2019 = _csv_rows(finance_client.get(EXPORT_URL, {"to": "2019-12-31"}))
    everything = _csv_rows(finance_client.get(EXPORT_URL))

    assert {int(row[0]) for row in since_2020[1:]} == {today.pk}
    assert {int(row[0]) for row in until_2019[1:]} == {old.pk}
    assert {int(row[0]) for row in everything[1:]} == {old.pk, today.pk}


def test_export_of_an_empty_range_is_just_the_header(finance_client: APIClient) -> None:
    params = {"from": "2024-05-01", "to": "2024-05-01"}

    assert _csv_rows(finance_client.get(EXPORT_URL, params)) == [list(COLUMNS)]
    assert _xlsx_rows(finance_client.get(EXPORT_URL, {**params, "format": "xlsx"})) == [
        list(COLUMNS)
    ]


def test_export_refuses_to_before_from(finance_client: APIClient) -> None:
    response = finance_client.get(EXPORT_URL, {"from": "2024-05-02", "to": "2024-05-01"})

    error = assert_error(response, 400, "parameter_invalid", param="to")
    assert error["message"] == "to: 'to' is before 'from'."


def test_export_xlsx_holds_the_same_rows_as_the_csv(
    finance_client: APIClient, post: Callable[..., JournalEntry]
) -> None:
    post("inv-1", hanoi(2024, 5, 1, 9), memo="Khám tổng quát — bác sĩ Lê Thị Hồng", source_id="1")
    post("dep-1", hanoi(2024, 5, 1, 10), 2_000_000, debit=MAIN_CASH, credit=DEPOSIT_LIABILITY)
    post("pharm-1", hanoi(2024, 5, 2, 0, 0, 1), 45_000, debit=MAIN_CASH, credit=PHARMACY_REVENUE)
    params = {"from": "2024-05-01", "to": "2024-05-02"}

    csv_rows = _csv_rows(finance_client.get(EXPORT_URL, params))
    response = finance_client.get(EXPORT_URL, {**params, "format": "xlsx"})
    xlsx_rows = _xlsx_rows(response)

    assert response["Content-Type"] == XLSX
    assert response["Content-Disposition"] == (
        'attachment; filename="ledger_2024-05-01_2024-05-02.xlsx"'
    )
    assert len(csv_rows) == 7
    assert xlsx_rows == csv_rows


def test_export_xlsx_keeps_amounts_as_numbers(
    finance_client: APIClient, post: Callable[..., JournalEntry]
) -> None:
    post("inv-1", hanoi(2024, 5, 1, 9), 180_000)

    response = finance_client.get(EXPORT_URL, {"from": "2024-05-01", "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(_download(response))).active
    debit = sheet.cell(row=2, column=COLUMNS.index("debit") + 1).value

    assert debit == 180_000
    assert isinstance(debit, int)


TRICKY_MEMOS = [
    'Bệnh nhân "Ánh", khoa Nội; tái khám\nlần 2\r\nghi chú',
    "tab\there, backslash \\ and <b>&amp;</b> > x",
    "=1+1",
    "control\x01\x08\x0b\x0c\x1f characters",
    "",
    "   ",
    "😷 khẩu trang ₫",
]


@pytest.fixture
def tricky_entries(post: Callable[..., JournalEntry]) -> list[JournalEntry]:
    return [
        post(f"tricky-{n}", hanoi(2024, 5, 1, 9, n), memo=memo, source_id=f'ID,{n};"{n}"')
        for n, memo in enumerate(TRICKY_MEMOS)
    ]


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_export_renders_the_same_rows_on_any_database(
    finance_client: APIClient,
    tricky_entries: list[JournalEntry],
    monkeypatch: pytest.MonkeyPatch,
    export_format: str,
) -> None:
    params = {"from": "2024-05-01", "to": "2024-05-01", "format": export_format}
    read = _csv_rows if export_format == "csv" else _xlsx_rows
    by_postgresql = read(finance_client.get(EXPORT_URL, params))
    monkeypatch.setattr(connection, "vendor", "sqlite")  # Python renders the rows instead

    elsewhere = read(finance_client.get(EXPORT_URL, params))

    assert len(by_postgresql) == 1 + 2 * len(TRICKY_MEMOS)
    assert elsewhere == by_postgresql


def test_export_keeps_every_character_a_spreadsheet_can_hold(
    finance_client: APIClient, tricky_entries: list[JournalEntry]
) -> None:
    params = {"from": "2024-05-01", "to": "2024-05-01"}

    csv_memos = [row[8] for row in _csv_rows(finance_client.get(EXPORT_URL, params))[1::2]]
    xlsx_response = finance_client.get(EXPORT_URL, {**params, "format": "xlsx"})
    xlsx_memos = [row[8] for row in _xlsx_rows(xlsx_response)[1::2]]

    assert csv_memos == ["'=1+1" if memo == "=1+1" else memo for memo in TRICKY_MEMOS]
    # XML cannot hold control characters at all; the workbook drops them.
    assert xlsx_memos[3] == "control characters"
    assert xlsx_memos[:3] + xlsx_memos[4:] == csv_memos[:3] + csv_memos[4:]


@pytest.mark.parametrize("vendor", ["postgresql", "sqlite"])
def test_export_xlsx_cells_are_the_csvs_cells_typed_across_written_pieces(
    finance_client: APIClient,
    post: Callable[..., JournalEntry],
    tricky_entries: list[JournalEntry],
    monkeypatch: pytest.MonkeyPatch,
    vendor: str,
) -> None:
    # Pieces of one byte: on PostgreSQL each sheet row the database renders is written
    # into the sheet's part on its own.
    monkeypatch.setattr(ledger_export, "_XLSX_PIECE_BYTES", 1)
    post(
        "dep-1",
        hanoi(2024, 5, 1, 10),
        2_000_000,
        debit=MAIN_CASH,
        credit=DEPOSIT_LIABILITY,
        memo="+ tạm ứng",
        source_id="@ref",
        counterparty="-BN9",
        voucher=("PT", "=PT-0001", "thungan.an"),
    )
    params = {"from": "2024-05-01", "to": "2024-05-01"}
    csv_rows = _csv_rows(finance_client.get(EXPORT_URL, params))
    monkeypatch.setattr(connection, "vendor", vendor)

    response = finance_client.get(EXPORT_URL, {**params, "format": "xlsx"})
    workbook = load_workbook(io.BytesIO(_download(response)), read_only=True)
    cells = [
        list(row) for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True)
    ]

    numbers = {COLUMNS.index(name) for name in ("entry_id", "debit", "credit")}
    no_control = dict.fromkeys([*range(0x01, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
    expected = [list(COLUMNS)] + [
        [
            int(value) if at in numbers else (value.translate(no_control) or None)
            for at, value in enumerate(row)
        ]
        for row in csv_rows[1:]
    ]
    # _x000D_ is the format's escape of CR, which Excel reads back as CR (see _xlsx_rows).
    read = [[unescape(cell) if isinstance(cell, str) else cell for cell in row] for row in cells]
    assert len(read) == 1 + 2 * (len(tricky_entries) + 1)
    assert read == expected
    assert all(isinstance(row[at], int) for row in read[1:] for at in numbers)


@pytest.mark.parametrize("vendor", ["postgresql", "sqlite"])
@pytest.mark.parametrize(("entries", "sheet_sizes"), [(1, [2]), (3, [3, 3]), (4, [3, 3, 2])])
def test_export_xlsx_starts_a_new_sheet_at_the_row_limit(
    finance_client: APIClient,
    post: Callable[..., JournalEntry],
    monkeypatch: pytest.MonkeyPatch,
    vendor: str,
    entries: int,
    sheet_sizes: list[int],
) -> None:
    monkeypatch.setattr(ledger_export, "XLSX_MAX_ROWS_PER_SHEET", 3)
    monkeypatch.setattr(connection, "vendor", vendor)
    created = [post(f"e-{n}", hanoi(2024, 5, 1, 9, n)) for n in range(entries)]

    response = finance_client.get(EXPORT_URL, {"from": "2024-05-01", "format": "xlsx"})
    workbook = load_workbook(io.BytesIO(_download(response)))

    assert workbook.sheetnames == [f"ledger-{n}" for n in range(1, len(sheet_sizes) + 1)]
    sheets = [list(sheet.iter_rows(values_only=True)) for sheet in workbook.worksheets]
    assert [len(rows) - 1 for rows in sheets] == sheet_sizes
    assert all(rows[0] == COLUMNS for rows in sheets)
    entry_ids = [row[0] for rows in sheets for row in rows[1:]]
    assert entry_ids == [entry.pk for entry in created for _ in range(2)]


# --- The XLSX's sheets rendered by PostgreSQL ------------------------------------------

# Every character the database's sheet rows escape, keep or drop, in each column a user
# fills (cut to the column's length).
SPECIAL_TEXTS = [
    "tab\there\nnewline\r\nCRLF, a lone CR\r and a backslash \\ \\n \\\\t",
    "&amp; <b>bold</b> \"quoted\" 'single' > < &",
    "Nguyễn Văn Ánh — khoa Hồi sức tích cực, tạm ứng 5.000.000 ₫",
    "=SUM(A1:A9)",
    "+84 912 345 678",
    "@cmd",
    "\t=1+1",
    "\r=1",
    "_x0041_ _X00fF_ _x00zz_ _x0041_x0042_ __x0041__",
    "non-characters \ufffe and \uffff",
    " leading space",
    "trailing tab\t",
    "\xa0no-break space first",
    "ideographic space last\u3000",
    "\u2028",
    "\x01\x1f",  # control characters alone: dropped, the cell left out
    "   ",
    "😷 khẩu trang",
    "dropping makes one: _x\x0100\x0241_",
]
# Numbers as XlsxWriter writes them (f"{float(n):.16G}"): exact up to 2**53, then the
# double's digits, then 16 significant digits and an exponent.
LARGE_AMOUNTS = [9_007_199_254_740_993, 9_999_999_999_999_999, 12_345_678_901_234_567]


@pytest.fixture
def special_entries(post: Callable[..., JournalEntry]) -> list[JournalEntry]:
    entries = [
        post(
            f"special-{n}",
            hanoi(2024, 5, 1, 9, n),
            memo=text,
            source_id=text[:64],
            counterparty=text[:40],
            voucher=("PT", text[:40], text[:150]),
        )
        for n, text in enumerate(SPECIAL_TEXTS)
    ]
    entries += [
        post(f"large-{n}", hanoi(2024, 5, 1, 10, n), amount)
        for n, amount in enumerate(LARGE_AMOUNTS)
    ]
    return entries


def _xlsxwriters_own(start: datetime, end: datetime) -> bytes:
    """The workbook XlsxWriter writes cell by cell from the ORM's rows (the embedded path)."""
    output = io.BytesIO()
    ledger_export.ledger_workbook(ledger_export._xlsx_rows_in_python(start, end), output)
    return output.getvalue()


def _parts(workbook: bytes) -> list[tuple[str, tuple[int, ...], int, int, bytes]]:
    """Each part of a sound zip, in order: name, date, attributes, compression, content."""
    with zipfile.ZipFile(io.BytesIO(workbook)) as package:
        assert package.testzip() is None
        return [
            (info.filename, info.date_time, info.external_attr, info.compress_type, content)
            for info in package.infolist()
            for content in [package.read(info)]
        ]


def _assert_same_workbook(ours: bytes, theirs: bytes) -> None:
    ours_parts, their_parts = _parts(ours), _parts(theirs)
    assert [part[:4] for part in ours_parts] == [part[:4] for part in their_parts]
    for (name, *_, ours_xml), (_, *_, their_xml) in zip(ours_parts, their_parts, strict=True):
        if name != "docProps/core.xml":  # its creation time
            assert ours_xml == their_xml, name


@pytest.mark.parametrize(("rows_per_sheet", "sheets"), [(1_048_575, 1), (3, 15)])
def test_export_xlsx_on_postgresql_is_xlsxwriters_own_workbook_byte_for_byte(
    special_entries: list[JournalEntry],
    monkeypatch: pytest.MonkeyPatch,
    rows_per_sheet: int,
    sheets: int,
) -> None:
    # 15 sheets at 3 rows: parts sheet1 … sheet15, the last with 2 rows.
    monkeypatch.setattr(ledger_export, "XLSX_MAX_ROWS_PER_SHEET", rows_per_sheet)
    start, end = ledger_export.export_window(date(2024, 5, 1), date(2024, 5, 1))

    with ledger_export.ledger_export_xlsx(start=start, end=end) as output:
        ours = output.read()

    _assert_same_workbook(ours, _xlsxwriters_own(start, end))
    workbook = load_workbook(io.BytesIO(ours), read_only=True)
    assert workbook.sheetnames == [f"ledger-{n}" for n in range(1, sheets + 1)]
    rows = [row for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True)]
    assert len(rows) == sheets + 2 * len(special_entries)
    memos = [unescape(row[8] or "") for row in rows if row[0] != "entry_id"][::2]
    expected = [
        ("'" if text.startswith(("=", "+", "-", "@", "\t", "\r")) else "")
        + text.translate(dict.fromkeys([*range(0x01, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)]))
        for text in SPECIAL_TEXTS
    ]
    # Two look-alikes sharing an underscore: XlsxWriter escapes the first only, so the
    # second reads back as its character (in Excel as in openpyxl). Its file, ours too.
    lookalikes = SPECIAL_TEXTS.index("_x0041_ _X00fF_ _x00zz_ _x0041_x0042_ __x0041__")
    expected[lookalikes] = "_x0041_ _X00fF_ _x00zz_ _x0041B __x0041__"
    assert memos[: len(SPECIAL_TEXTS)] == expected
    debits = [row[5] for row in rows if row[0] != "entry_id"][::2]
    # Excel's numbers are doubles, written with 16 significant digits.
    assert [float(debit) for debit in debits[len(SPECIAL_TEXTS) :]] == [
        float(f"{amount:.16G}") for amount in LARGE_AMOUNTS
    ]


def test_export_xlsx_of_an_empty_window_is_xlsxwriters_header_only_workbook(
    chart: dict[str, Account],
) -> None:
    start, end = ledger_export.export_window(date(2024, 5, 1), date(2024, 5, 1))

    with ledger_export.ledger_export_xlsx(start=start, end=end) as output:
        ours = output.read()

    _assert_same_workbook(ours, _xlsxwriters_own(start, end))
    workbook = load_workbook(io.BytesIO(ours), read_only=True)
    assert [list(sheet.iter_rows(values_only=True)) for sheet in workbook.worksheets] == [[COLUMNS]]


def test_numbers_are_rendered_as_xlsxwriter_writes_them(chart: dict[str, Account]) -> None:
    values = [0, 1, -1, 180_000, 2**53 - 1, 2**53, 2**53 + 1, -(2**53) - 3, 10**16 - 1]
    values += [10**16, 10**16 + 1, 12_300_000_000_000_000, -(10**17), 2**63 - 1, -(2**63)]
    cell = ledger_export._xlsx_number_sql(ledger_export.sql.SQL("n"))
    statement = ledger_export.sql.SQL(
        "SELECT {} FROM unnest(%s::bigint[]) WITH ORDINALITY AS v(n, at) ORDER BY at"
    ).format(cell)

    with connection.cursor() as cursor:
        cursor.execute(statement.as_string(cursor.cursor), [values])
        rendered = [text for (text,) in cursor.fetchall()]

    assert rendered == [f"{value:.16G}" for value in values]


def test_the_whitespace_that_asks_for_xml_space_preserve_is_pythons_as_xlsxwriter_sees_it() -> None:
    # XlsxWriter looks for \s at either end after dropping and escaping control characters:
    # what is left of Python's \s then is what the database looks for.
    escaped_or_dropped = set(ledger_export._XML_ILLEGAL) | {"\r"}
    whitespace = {
        character
        for character in map(chr, range(0x110000))
        if re.match(r"\s", character) and character not in escaped_or_dropped
    }

    assert set(ledger_export._XLSX_WHITESPACE) == whitespace


def _local_extra(workbook: bytes, name: str) -> bytes:
    """The extra field of ``name``'s local file header (ZIP64's: id 1, then the sizes)."""
    with zipfile.ZipFile(io.BytesIO(workbook)) as package:
        offset = package.getinfo(name).header_offset
    name_length, extra_length = struct.unpack("<HH", workbook[offset + 26 : offset + 30])
    return workbook[offset + 30 + name_length :][:extra_length]


def test_a_sheet_that_passes_zipfiles_limit_is_written_again_with_zip64_extensions(
    special_entries: list[JournalEntry], monkeypatch: pytest.MonkeyPatch
) -> None:
    start, end = ledger_export.export_window(date(2024, 5, 1), date(2024, 5, 1))
    with ledger_export.ledger_export_xlsx(start=start, end=end) as output:
        plain = output.read()
    sheet_xml = next(part[-1] for part in _parts(plain) if part[0] == "xl/worksheets/sheet1.xml")
    # Below the limit: no ZIP64 extensions, as in XlsxWriter's own files.
    assert _local_extra(plain, "xl/worksheets/sheet1.xml") == b""

    # zipfile's limit (2 GiB) brought below this sheet's size: the first writing's sheet
    # passes it, the workbook is written again with ZIP64 extensions on that sheet.
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", len(sheet_xml) // 2)
    with ledger_export.ledger_export_xlsx(start=start, end=end) as output:
        ours = output.read()

    extra = _local_extra(ours, "xl/worksheets/sheet1.xml")
    assert struct.unpack("<HH", extra[:4]) == (1, 16)  # ZIP64, both sizes
    assert struct.unpack("<QQ", extra[4:20])[0] == len(sheet_xml)
    _assert_same_workbook(ours, plain)
    rows = list(load_workbook(io.BytesIO(ours), read_only=True).active.iter_rows())
    assert len(rows) == 1 + 2 * len(special_entries)
    # Nothing of the abandoned writing is left in the file: one copy of each part.
    with zipfile.ZipFile(io.BytesIO(ours)) as package:
        names = package.namelist()
    assert len(names) == len(set(names)) == len(_parts(plain))


class _DiskFull(io.BytesIO):
    def write(self, data: Any) -> int:
        if self.tell() > 5_000:
            raise OSError(28, "No space left on device")
        return super().write(data)


def test_a_workbook_that_cannot_be_written_stops_the_reading_and_leaves_the_connection_usable(
    post: Callable[..., JournalEntry], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small pieces, each waiting in the queue: the reading thread is mid-COPY, blocked on a
    # full queue, when the writing fails.
    monkeypatch.setattr(ledger_export, "_XLSX_PIECE_BYTES", 1)
    for n in range(60):
        post(f"e-{n}", hanoi(2024, 5, 1, 9, n), memo=secrets.token_hex(200))  # deflates little
    start, end = ledger_export.export_window(date(2024, 5, 1), date(2024, 5, 1))

    with pytest.raises(OSError, match="No space left"):
        ledger_export._xlsx_by_postgresql(start, end, _DiskFull())

    assert not [thread for thread in threading.enumerate() if thread.name == "xlsx-rows"]
    assert JournalEntry.objects.filter(posting_key__startswith="e-").count() == 60
    with ledger_export.ledger_export_xlsx(start=start, end=end) as output:
        rows = list(load_workbook(output, read_only=True).active.iter_rows(values_only=True))
    assert len(rows) == 1 + 120


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_xlsx_counts_and_reads_its_lines_in_one_snapshot(
    finance_client: APIClient, post: Callable[..., JournalEntry]
) -> None:
    # As in production: no test transaction around the request, so the export opens its own
    # REPEATABLE READ transaction, its first statement.
    post("inv-1", hanoi(2024, 5, 1, 9), memo="Khám tổng quát")

    with CaptureQueriesContext(connection) as queries:
        response = finance_client.get(
            EXPORT_URL, {"from": "2024-05-01", "to": "2024-05-01", "format": "xlsx"}
        )
        rows = _xlsx_rows(response)

    assert "REPEATABLE READ" in next(
        query["sql"] for query in queries.captured_queries if "TRANSACTION" in query["sql"]
    )
    assert [row[8] for row in rows[1:]] == ["Khám tổng quát"] * 2
    assert not connection.in_atomic_block
    assert connection.get_autocommit()
