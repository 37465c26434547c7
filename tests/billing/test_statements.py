"""The statements finance asks for, with hand-computed figures: the account detail ledger
(sổ chi tiết) with opening balance, running balance and closing; aged receivables of the
patients and of the insurance fund in 0-30 / 31-60 / 61-90 / > 90 day buckets; the daily
cash book (sổ quỹ tiền mặt) of the safe and each drawer; JSON and XLSX."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from rest_framework.test import APIClient

from billing.api.statements import DetailLineOutputSerializer, flat_representation
from billing.chart import AccountRole, account_for
from billing.models import Account, AccountType
from billing.money import Money
from billing.selectors.ledger import StatementLine
from billing.selectors.statements import bucket_of
from billing.selectors.statements_xlsx import CASH_HEADER, DETAIL_HEADER
from billing.services.ledger import Posting, ledger_post
from config.identity.models import Role
from tests.assertions import assert_error

pytestmark = pytest.mark.django_db

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RECEIVABLE = account_for(AccountRole.PATIENT_RECEIVABLE)
FUND = account_for(AccountRole.INSURANCE_RECEIVABLE)
REVENUE = account_for(AccountRole.SERVICE_REVENUE)
BANK = account_for(AccountRole.BANK)
SAFE = account_for(AccountRole.MAIN_SAFE)
EQUITY = account_for(AccountRole.OWNER_EQUITY)
DRAWER_1 = account_for(AccountRole.DRAWER, drawer=1)
DRAWER_2 = account_for(AccountRole.DRAWER, drawer=2)


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=HANOI)


def post(
    key: str,
    when: datetime,
    debit: tuple[str, str, str],
    credit: tuple[str, str, str],
    amount: int,
    voucher: tuple[str, str] = ("", ""),
) -> None:
    """``debit``/``credit``: (account, reference, counterparty)."""
    money = Money(amount, "VND")
    ledger_post(
        posting_key=key,
        lines=[
            Posting.dr(debit[0], money, debit[1], counterparty=debit[2]),
            Posting.cr(credit[0], money, credit[1], counterparty=credit[2]),
        ],
        source_type="manual",
        memo=key,
        posted_at=when,
        voucher_type=voucher[0],
        voucher_number=voucher[1],
    )


def invoice(key: str, day: date, number: int, patient: str, amount: int) -> None:
    ref = f"invoice:{number}"
    post(key, at(day), (RECEIVABLE, ref, patient), (REVENUE, "", ""), amount, ("HD", key))


def paid(key: str, day: date, number: int, patient: str, amount: int) -> None:
    ref = f"invoice:{number}"
    post(key, at(day), (BANK, "", ""), (RECEIVABLE, ref, patient), amount, ("BC", key))


@pytest.fixture
def receivables(chart: dict[str, Account]) -> None:
    """Patients at 2026-03-31: BN001 owes 200,000 of invoice 1 (2026-01-05, 85 days) and
    50,000 of invoice 2 (2026-03-20, 11 days); BN002's payment of 40,000 naming invoice 4
    pays the older invoice 3 first (FIFO): 40,000 of invoice 3 (2025-12-01, 120 days) and
    40,000 of invoice 4 (2026-02-15, 44 days) are owed; BN003 70,000 of invoice 5
    (2026-02-14, 45 days); invoice 6 comes after. The fund owes 500,000 of invoice 1
    (2026-03-01, 30 days)."""
    invoice("HD1", date(2026, 1, 5), 1, "BN001", 300_000)
    paid("PAY1", date(2026, 2, 1), 1, "BN001", 100_000)
    invoice("HD2", date(2026, 3, 20), 2, "BN001", 50_000)
    invoice("HD3", date(2025, 12, 1), 3, "BN002", 80_000)
    invoice("HD4", date(2026, 2, 15), 4, "BN002", 40_000)
    paid("PAY4", date(2026, 2, 20), 4, "BN002", 40_000)
    invoice("HD5", date(2026, 2, 14), 5, "BN003", 70_000)
    invoice("HD6", date(2026, 4, 2), 6, "BN003", 10_000)
    post(
        "FUND1",
        at(date(2026, 3, 1)),
        (FUND, "invoice:1", "BHXH"),
        (REVENUE, "", ""),
        500_000,
        ("HD", "HD1"),
    )


@pytest.mark.parametrize(
    ("age", "bucket"),
    [(0, "0_30"), (30, "0_30"), (31, "31_60"), (60, "31_60"), (61, "61_90"), (90, "61_90"),
     (91, "over_90")],
)  # fmt: skip
def test_the_buckets_include_their_last_day(age: int, bucket: str):
    assert bucket_of(age) == bucket


def read(client: APIClient, path: str) -> dict:
    """``GET /api/v1/ledger/<path>``: a 200's JSON body."""
    return body_of(client.get(f"/api/v1/ledger/{path}"))


def body_of(response: Any) -> dict:
    """A 200's JSON body, streamed (the account detail, the cash book) or not."""
    assert response.status_code == 200
    if response.streaming:
        assert response["Content-Type"] == "application/json"
        return json.loads(b"".join(response.streaming_content))
    return response.json()


def workbook_of(response: Any) -> Any:
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    return load_workbook(io.BytesIO(b"".join(response.streaming_content)))


def test_aged_receivables_of_the_patients_per_invoice_and_bucket(
    staff_client: Callable[[str], APIClient], receivables: None
):
    body = read(staff_client(Role.FINANCE), "aged-receivables?kind=patient&as_of=2026-03-31")

    assert body["account"]["code"] == RECEIVABLE
    assert body["buckets"] == {
        "0_30": 50_000,
        "31_60": 110_000,
        "61_90": 200_000,
        "over_90": 40_000,
    }
    assert (body["total"], body["credit_balance"]) == (400_000, 0)
    owed = {
        row["counterparty"]: (row["buckets"], row["total"], row["items"])
        for row in body["counterparties"]
    }
    assert list(owed) == ["BN001", "BN002", "BN003"]
    assert owed["BN001"][:2] == (
        {"0_30": 50_000, "31_60": 0, "61_90": 200_000, "over_90": 0},
        250_000,
    )
    assert owed["BN001"][2] == [
        {
            "reference": "invoice:1",
            "since": "2026-01-05",
            "age_days": 85,
            "bucket": "61_90",
            "balance": 200_000,
        },
        {
            "reference": "invoice:2",
            "since": "2026-03-20",
            "age_days": 11,
            "bucket": "0_30",
            "balance": 50_000,
        },
    ]
    assert [
        (i["reference"], i["age_days"], i["bucket"], i["balance"]) for i in owed["BN002"][2]
    ] == [("invoice:3", 120, "over_90", 40_000), ("invoice:4", 44, "31_60", 40_000)]
    assert owed["BN003"][1] == 70_000


def test_aged_receivables_of_the_insurance_fund_and_of_one_patient(
    staff_client: Callable[[str], APIClient], receivables: None
):
    finance = staff_client(Role.FINANCE)

    fund = finance.get("/api/v1/ledger/aged-receivables?kind=insurance&as_of=2026-03-31").json()
    one = finance.get(
        "/api/v1/ledger/aged-receivables?kind=patient&as_of=2026-03-31&counterparty=BN002"
    ).json()

    assert fund["account"]["code"] == FUND
    assert fund["buckets"] == {"0_30": 500_000, "31_60": 0, "61_90": 0, "over_90": 0}
    assert [(c["counterparty"], c["total"]) for c in fund["counterparties"]] == [("BHXH", 500_000)]
    assert one["total"] == 80_000
    assert [c["counterparty"] for c in one["counterparties"]] == ["BN002"]


def test_a_streamed_statement_line_is_written_as_its_serializer_writes_it() -> None:
    line = StatementLine(
        entry_id=7,
        posted_at=datetime(2026, 3, 1, 2, 30, 15, 250_000, tzinfo=UTC),
        memo="Thu viện phí",
        source_type="payment",
        source_id="pay_1",
        debit=120_000,
        credit=0,
        balance=-5_000,
        voucher_type="PT",
        voucher_number="PT0001",
        reference="invoice:1",
        counterparty="BN0001",
        contra_accounts=[REVENUE, SAFE],
    )

    written = flat_representation(DetailLineOutputSerializer())(line)

    assert written == DetailLineOutputSerializer(line).data
    assert written["posted_at"] == "2026-03-01T09:30:15.250000+07:00"  # the hospital's zone
    assert list(written) == list(DetailLineOutputSerializer().fields)


def test_the_account_detail_ledger_has_opening_running_and_closing_balances(
    staff_client: Callable[[str], APIClient], receivables: None
):
    body = read(
        staff_client(Role.FINANCE),
        "account-detail?role=patient_receivable&from=2026-02-01&to=2026-02-28",
    )

    assert (body["account"]["code"], body["date_from"], body["date_to"]) == (
        RECEIVABLE,
        "2026-02-01",
        "2026-02-28",
    )
    assert body["opening_balance"] == 380_000  # invoices 3 and 1
    assert [
        (line["voucher_type"], line["voucher_number"], line["debit"], line["credit"],
         line["balance"])
        for line in body["lines"]
    ] == [
        ("BC", "PAY1", 0, 100_000, 280_000),
        ("HD", "HD5", 70_000, 0, 350_000),
        ("HD", "HD4", 40_000, 0, 390_000),
        ("BC", "PAY4", 0, 40_000, 350_000),
    ]  # fmt: skip
    first = body["lines"][0]
    assert (first["contra_accounts"], first["counterparty"], first["reference"]) == (
        [BANK],
        "BN001",
        "invoice:1",
    )
    assert (body["total_debit"], body["total_credit"], body["closing_balance"]) == (
        110_000,
        140_000,
        350_000,
    )


def test_one_patients_detail_ledger_and_its_xlsx(
    staff_client: Callable[[str], APIClient], receivables: None
):
    finance = staff_client(Role.FINANCE)
    query = f"account={RECEIVABLE}&from=2026-02-01&to=2026-03-31&counterparty=BN001"

    body = body_of(finance.get(f"/api/v1/ledger/account-detail?{query}"))
    response = finance.get(f"/api/v1/ledger/account-detail?{query}&format=xlsx")

    assert body["opening_balance"] == 300_000
    assert [line["balance"] for line in body["lines"]] == [200_000, 250_000]
    assert body["closing_balance"] == 250_000
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert f"so-chi-tiet_{RECEIVABLE}_2026-02-01_2026-03-31.xlsx" in response["Content-Disposition"]
    rows = list(workbook_of(response).active.values)
    assert rows[0][0] == "SỔ CHI TIẾT TÀI KHOẢN"
    assert rows[3] == ("Đối tượng", "BN001") + (None,) * 8
    header = rows.index(DETAIL_HEADER)
    opening, first, second, totals, closing = rows[header + 1 :]
    assert (opening[3], opening[9]) == ("Số dư đầu kỳ", 300_000)
    assert (first[0].date(), first[1], first[2], first[4], first[8], first[9]) == (
        date(2026, 2, 1),
        "BC",
        "PAY1",
        BANK,
        100_000,
        200_000,
    )
    assert (second[2], second[7], second[9]) == ("HD2", 50_000, 250_000)
    assert (totals[3], totals[7], totals[8]) == ("Cộng phát sinh", 50_000, 100_000)
    assert (closing[3], closing[9]) == ("Số dư cuối kỳ", 250_000)


@pytest.fixture
def cash_day(chart: dict[str, Account]) -> None:
    """The safe opens March with 5,000,000. On 2026-03-10 drawer 1 takes a float of
    1,000,000 from the safe, a cash payment of 180,000 and pays a refund of 30,000; the next
    day it takes 999 more. Drawer 2 exists and never held cash."""
    for number, code in ((1, DRAWER_1), (2, DRAWER_2)):
        Account.objects.create(code=code, name=f"Quầy {number:02d}", type=AccountType.ASSET)
    day = date(2026, 3, 10)
    post("open", at(date(2026, 3, 1)), (SAFE, "", ""), (EQUITY, "", ""), 5_000_000)
    post("float", at(day, 8), (DRAWER_1, "", ""), (SAFE, "", ""), 1_000_000, ("PC", "FLOAT1"))
    receivable = (RECEIVABLE, "invoice:9", "BN009")
    post("cash", at(day, 9), (DRAWER_1, "", ""), receivable, 180_000, ("PT", "pay_1"))
    post("refund", at(day, 10), receivable, (DRAWER_1, "", ""), 30_000, ("PC", "rf_1"))
    post("next", at(date(2026, 3, 11)), (DRAWER_1, "", ""), receivable, 999, ("PT", "pay_2"))


def test_the_cash_book_of_a_day_for_the_safe_and_each_drawer(
    staff_client: Callable[[str], APIClient], cash_day: None
):
    response = staff_client(Role.FINANCE).get(
        "/api/v1/ledger/cash-book?from=2026-03-10&to=2026-03-10"
    )

    books = body_of(response)["books"]
    summary = [
        (b["kind"], b["drawer"], b["account"]["code"], b["opening_balance"], b["receipts"],
         b["payments"], b["closing_balance"])
        for b in books
    ]  # fmt: skip
    assert summary == [
        ("safe", None, SAFE, 5_000_000, 0, 1_000_000, 4_000_000),
        ("drawer", 1, DRAWER_1, 0, 1_180_000, 30_000, 1_150_000),
    ]
    drawer = books[1]["lines"]
    assert [(line["voucher_type"], line["voucher_number"], line["balance"]) for line in drawer] == [
        ("PC", "FLOAT1", 1_000_000),
        ("PT", "pay_1", 1_180_000),
        ("PC", "rf_1", 1_150_000),
    ]
    assert drawer[1]["contra_accounts"] == [RECEIVABLE]


def test_the_cash_book_of_one_drawer_as_xlsx(
    staff_client: Callable[[str], APIClient], cash_day: None
):
    response = staff_client(Role.FINANCE).get(
        f"/api/v1/ledger/cash-book?from=2026-03-10&to=2026-03-11&account={DRAWER_1}&format=xlsx"
    )

    assert response.status_code == 200
    workbook = workbook_of(response)
    assert workbook.sheetnames == ["Quầy 01"]
    rows = list(workbook.active.values)
    header = rows.index(CASH_HEADER)
    body = [(r[1], r[2], r[3], r[5], r[6], r[7]) for r in rows[header + 1 :]]
    assert body == [
        (None, None, "Tồn đầu kỳ", None, None, 0),
        ("FLOAT1", None, "float", 1_000_000, None, 1_000_000),
        ("pay_1", None, "cash", 180_000, None, 1_180_000),
        (None, "rf_1", "refund", None, 30_000, 1_150_000),
        ("pay_2", None, "next", 999, None, 1_150_999),
        (None, None, "Cộng phát sinh", 1_180_999, 30_000, None),
        (None, None, "Tồn cuối kỳ", None, None, 1_150_999),
    ]


@pytest.mark.parametrize(
    ("query", "code", "param"),
    [
        ("account-detail?from=2026-03-01", "parameter_invalid", "account"),
        ("account-detail?account=1311&role=bank", "parameter_invalid", "account"),
        ("account-detail?account=999999", "parameter_invalid", "account"),
        ("account-detail?role=drawer", "parameter_invalid", "role"),
        ("account-detail?role=bank&from=2026-03-02&to=2026-03-01", "parameter_invalid", "to"),
        ("cash-book?account=5311", "parameter_invalid", "account"),
        ("cash-book?format=pdf", "parameter_invalid", "format"),
        ("aged-receivables", "parameter_missing", "kind"),
        ("aged-receivables?kind=patient&as_of=9999-12-31", "parameter_invalid", "as_of"),
    ],
)
def test_bad_statement_parameters_are_a_clear_400(
    staff_client: Callable[[str], APIClient],
    chart: dict[str, Account],
    query: str,
    code: str,
    param: str,
):
    response = staff_client(Role.FINANCE).get(f"/api/v1/ledger/{query}")

    assert_error(response, 400, code, param)


def test_a_cashier_reads_no_statement(staff_client: Callable[[str], APIClient]):
    cashier = staff_client(Role.CASHIER)

    for path in ("account-detail?role=bank", "cash-book", "aged-receivables?kind=patient"):
        assert_error(cashier.get(f"/api/v1/ledger/{path}"), 403, "permission_denied")
