"""Bank statements: every bank's sample read, the API import (whole file or nothing, another
account refused), lines stored once across overlapping files and the bank feeds, and the
watched folder."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from config.identity.models import Role
from payments.models import BankStatement, StatementLine
from payments.providers.statements import FORMATS, parse_statement
from payments.services.statement_inbox import statement_inbox_import
from tests.assertions import assert_error
from tests.payments.builders.webhooks import (
    HOSPITAL_ACCOUNT,
    casso_record,
    post_casso,
    post_sepay,
    sepay_body,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("bank_feeds_configured")]

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "statements"
SAMPLE_FILES = {
    "vietcombank": "vietcombank.xlsx",
    "bidv": "bidv.csv",
    "vietinbank": "vietinbank.csv",
    "techcombank": "techcombank.xlsx",
    "mb": "mb.csv",
}
URL = "/api/v1/reconciliation/statements"


def sample(bank: str) -> bytes:
    return (SAMPLES / SAMPLE_FILES[bank]).read_bytes()


def upload(client: APIClient, bank: str, content: bytes, name: str = "statement.csv") -> Any:
    return client.post(
        URL, {"bank": bank, "file": io.BytesIO(content) | _named(name)}, format="multipart"
    )


class _named:
    """``io.BytesIO(...) | _named("x.csv")``: a file object with a name, for the test client."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __ror__(self, stream: io.BytesIO) -> io.BytesIO:
        stream.name = self.name
        return stream


def csv_statement(rows: list[str], account: str = HOSPITAL_ACCOUNT) -> bytes:
    header = [
        "SAO KÊ TÀI KHOẢN",
        f"Số tài khoản:,{account}",
        "STT,Ngày giao dịch,Số tham chiếu,Số tiền ghi nợ,Số tiền ghi có,Số dư,Mô tả",
    ]
    return "\n".join(header + rows).encode()


@pytest.fixture
def finance(staff_client: Callable[..., APIClient]) -> APIClient:
    return staff_client(Role.FINANCE)


# --- parsers -------------------------------------------------------------------------------


@pytest.mark.parametrize("bank", sorted(FORMATS))
def test_every_banks_sample_reads_its_account_and_lines(bank: str) -> None:
    parsed = parse_statement(bank=bank, content=sample(bank), file_name=SAMPLE_FILES[bank])
    assert parsed.account_number == HOSPITAL_ACCOUNT
    assert len(parsed.lines) == 3
    first = parsed.lines[0]
    assert (first.booked_on, first.direction, first.amount, first.currency) == (
        date(2026, 12, 1),
        "in",
        250_000,
        "VND",
    )
    assert "VP7K2Q9" in first.description
    assert [line.direction for line in parsed.lines][-1] == "out"
    assert all(line.reference for line in parsed.lines)


def test_amounts_are_read_in_the_vietnamese_and_english_groupings() -> None:
    content = csv_statement(
        [
            '1,01/12/2026,R1,,"1.234.567",,a',
            '2,01/12/2026,R2,,"1,234,567",,b',
            '3,01/12/2026,R3,,"1,234,567.00",,c',
            "4,2026-12-01,R4,,1234567,,d",
        ]
    )
    parsed = parse_statement(bank="vietcombank", content=content, file_name="s.csv")
    assert [line.amount for line in parsed.lines] == [1_234_567] * 4


# --- the API -------------------------------------------------------------------------------


def test_finance_imports_a_statement_and_its_lines_are_stored(finance: APIClient) -> None:
    response = upload(finance, "vietcombank", sample("vietcombank"), "vcb.xlsx")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["lines_total"], body["lines_new"], body["account_number"]) == (
        3,
        3,
        HOSPITAL_ACCOUNT,
    )
    assert (body["period_from"], body["period_to"]) == ("2026-12-01", "2026-12-03")
    codes = set(StatementLine.objects.values_list("match_code", flat=True))
    assert codes == {"VP7K2Q9", "STRIPE", ""}


def test_the_same_file_imported_twice_adds_nothing(finance: APIClient) -> None:
    upload(finance, "bidv", sample("bidv"))
    again = upload(finance, "bidv", sample("bidv"))
    assert again.status_code == 201
    assert again.json()["lines_new"] == 0
    assert StatementLine.objects.count() == 3
    assert BankStatement.objects.count() == 2


def test_overlapping_files_store_only_the_new_lines(finance: APIClient) -> None:
    monday = csv_statement(['1,01/12/2026,FT1,,"100,000",,a', '2,02/12/2026,FT2,,"200,000",,b'])
    tuesday = csv_statement(['1,02/12/2026,FT2,,"200,000",,b', '2,03/12/2026,FT3,,"300,000",,c'])
    assert upload(finance, "vietcombank", monday).json()["lines_new"] == 2
    assert upload(finance, "vietcombank", tuesday).json()["lines_new"] == 1
    assert sorted(StatementLine.objects.values_list("amount", flat=True)) == [
        100_000,
        200_000,
        300_000,
    ]


def test_identical_lines_without_a_reference_in_one_file_stay_two_lines(
    finance: APIClient,
) -> None:
    content = csv_statement(
        ['1,01/12/2026,,,"50,000",,NOP TIEN', '2,01/12/2026,,,"50,000",,NOP TIEN']
    )
    assert upload(finance, "vietcombank", content).json()["lines_new"] == 2
    assert upload(finance, "vietcombank", content).json()["lines_new"] == 0


def test_a_malformed_row_refuses_the_whole_file_naming_row_and_column(
    finance: APIClient,
) -> None:
    content = csv_statement(['1,01/12/2026,FT1,,"100,000",,a', '2,02/12/2026,FT2,,"12abc",,b'])
    response = upload(finance, "vietcombank", content)
    assert_error(response, 400, "statement_invalid", "file")
    detail = response.json()["error"]["detail"]
    assert detail == {"row": 5, "column": "Số tiền ghi có"}
    assert not StatementLine.objects.exists()
    assert not BankStatement.objects.exists()


@pytest.mark.parametrize(
    ("row", "column"),
    [
        ('1,31/02/2026,FT1,,"100,000",,a', "Ngày giao dịch"),
        ('1,01/12/2026,FT1,"5,000","100,000",,a', "Số tiền ghi có"),
        ("1,01/12/2026,FT1,,,,a", "Số tiền ghi có"),
        ('1,01/12/2026,FT1,,"100,50",,a', "Số tiền ghi có"),
        ('1,01/12/2026,FT1,,"-100",,a', "Số tiền ghi có"),
    ],
)
def test_bad_dates_and_amounts_are_refused(finance: APIClient, row: str, column: str) -> None:
    response = upload(finance, "vietcombank", csv_statement([row]))
    assert_error(response, 400, "statement_invalid", "file")
    assert response.json()["error"]["detail"]["column"] == column


def test_a_file_without_the_banks_header_is_refused(finance: APIClient) -> None:
    response = upload(finance, "techcombank", sample("bidv"))
    assert_error(response, 400, "statement_invalid", "file")


def test_a_file_that_is_not_a_spreadsheet_is_refused(finance: APIClient) -> None:
    response = upload(finance, "mb", b"PK\x03\x04 not really a zip", "s.xlsx")
    assert_error(response, 400, "statement_invalid", "file")


def test_a_statement_of_another_account_is_refused(finance: APIClient) -> None:
    response = upload(finance, "vietcombank", csv_statement(['1,01/12/2026,FT1,,"1",,a'], "999"))
    assert_error(response, 400, "statement_wrong_account", "file")
    assert not BankStatement.objects.exists()


def test_the_account_the_caller_names_must_be_the_files(finance: APIClient) -> None:
    response = finance.post(
        URL,
        {
            "bank": "bidv",
            "account_number": "0011009999999",
            "file": io.BytesIO(sample("bidv")) | _named("b.csv"),
        },
        format="multipart",
    )
    assert_error(response, 400, "statement_wrong_account", "file")


def test_a_line_in_another_currency_is_kept_as_it_is(finance: APIClient) -> None:
    content = (
        "Số tài khoản: 0011001234567\n"
        "Ngày giao dịch,Số tham chiếu,Ghi nợ,Ghi có,Loại tiền,Mô tả giao dịch\n"
        '01/12/2026,FT9,,"12.50",USD,wire\n'
    ).encode()
    assert upload(finance, "bidv", content).status_code == 201
    line = StatementLine.objects.get()
    assert (line.currency, line.amount) == ("USD", 1250)


def test_an_unknown_bank_is_a_parameter_error(finance: APIClient) -> None:
    response = upload(finance, "acb", sample("bidv"))
    assert_error(response, 400, "parameter_invalid", "bank")


def test_cashiers_cannot_import_statements(staff_client: Callable[..., APIClient]) -> None:
    response = upload(staff_client(Role.CASHIER), "bidv", sample("bidv"))
    assert_error(response, 403, "permission_denied")


# --- feeds and files: one line -------------------------------------------------------------


def test_a_feed_report_and_the_statement_file_are_one_line(finance: APIClient) -> None:
    body = sepay_body(amount=250_000, content="chuyen tien VP7K2Q9")
    body["referenceCode"] = "FT26335001"
    body["transactionDate"] = "2026-12-01 09:15:02"
    assert post_sepay(Client(), body).status_code == 200
    assert StatementLine.objects.count() == 1
    assert upload(finance, "bidv", sample("bidv")).json()["lines_new"] == 2
    line = StatementLine.objects.get(bank_reference="FT26335001")
    assert line.feed_reports == {"sepay": str(body["id"])}


def test_casso_and_sepay_reporting_one_transfer_without_a_reference_book_it_once() -> None:
    memo = "NGUYEN VAN A chuyen tien VP7K2Q9"
    at = "2026-12-01 09:15:02"
    record = casso_record(amount=90_000, description=memo)
    record["reference"] = ""
    record["transactionDateTime"] = at
    assert post_casso(Client(), {"error": 0, "data": record}).status_code == 200
    body = sepay_body(amount=90_000, content=memo)
    body["referenceCode"] = None
    body["transactionDate"] = at
    assert post_sepay(Client(), body).status_code == 200
    line = StatementLine.objects.get()
    assert set(line.feed_reports) == {"casso", "sepay"}


def test_two_identical_transfers_from_one_feed_stay_two_lines() -> None:
    memo = "UNG HO QUY BENH NHAN"
    for _ in range(2):
        body = sepay_body(amount=40_000, content=memo)
        body["referenceCode"] = None
        body["transactionDate"] = "2026-12-01 10:00:00"
        assert post_sepay(Client(), body).status_code == 200
    assert StatementLine.objects.count() == 2


# --- the watched folder --------------------------------------------------------------------


def test_the_watched_folder_imports_files_and_sets_aside_the_refused(tmp_path: Path) -> None:
    (tmp_path / "mb").mkdir()
    (tmp_path / "vietinbank").mkdir()
    (tmp_path / "mb" / "mb-2026-12.csv").write_bytes(sample("mb"))
    (tmp_path / "vietinbank" / "broken.csv").write_bytes(b"nothing a bank would send")
    assert statement_inbox_import(inbox=str(tmp_path)) == 1
    assert (tmp_path / "done" / "mb-2026-12.csv").exists()
    assert (tmp_path / "rejected" / "broken.csv").exists()
    assert "statement_invalid" in (tmp_path / "rejected" / "broken.csv.error.txt").read_text()
    assert not list((tmp_path / "mb").iterdir())
    statement = BankStatement.objects.get()
    assert (statement.via, statement.lines_new) == ("folder", 3)
    assert statement_inbox_import(inbox=str(tmp_path)) == 0


def test_a_file_repeating_a_referenced_line_stores_it_once(finance: APIClient) -> None:
    same = ',01/12/2026,FT1,,"100,000",,a'
    response = upload(finance, "vietcombank", csv_statement([f"1{same}", f"2{same}"]))
    assert (response.json()["lines_total"], response.json()["lines_new"]) == (2, 1)
    assert StatementLine.objects.count() == 1
