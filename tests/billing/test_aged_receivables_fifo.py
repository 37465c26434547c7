"""Aged receivables allocate each customer's credits to their debits oldest first (FIFO):
the buckets show the age of what is actually still owed ("tuổi nợ" by the oldest unpaid
document), per patient code and per social-insurance office. Every figure below is
computed by hand at 2026-06-30."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from rest_framework.test import APIClient

from billing.models import Account, AccountType
from config.identity.models import Role
from tests.billing.test_statements import (
    BANK,
    DRAWER_1,
    FUND,
    RECEIVABLE,
    REVENUE,
    at,
    invoice,
    paid,
    post,
    read,
    workbook_of,
)

pytestmark = pytest.mark.django_db

AS_OF = "as_of=2026-06-30"


# P1, partial payments: A 100,000 (03-01), B 60,000 (05-15), C 30,000 (06-20); paid 40,000
# naming A and 20,000 naming C: the 60,000 pay A first -> A 40,000 (121 days), B 60,000 (46
# days), C 30,000 (10 days).
# P2, a payment larger than the oldest debit: D 50,000 (04-10), E 80,000 (06-01); paid
# 70,000 naming E: D is paid in full, 20,000 of E -> E 60,000 (29 days).
# P3, a refund: F 100,000 (02-01) paid in full (02-03); 30,000 refunded on 06-10 (a debit of
# its own, below) -> 30,000 owed, 20 days old, not 149.
# P4, credits exceeding debits: G 40,000 (06-01), paid 55,000 (06-02) -> a credit balance of
# 15,000, not aged.
# P5: paid exactly what was invoiced -> not listed. The payment of 07-01 comes after as_of.
# (invoice issued or paid, voucher, day, invoice number, patient, amount)
DOCUMENTS: list[tuple[Callable[[str, date, int, str, int], None], str, date, int, str, int]] = [
    (invoice, "A", date(2026, 3, 1), 1, "P1", 100_000),
    (invoice, "B", date(2026, 5, 15), 2, "P1", 60_000),
    (invoice, "C", date(2026, 6, 20), 3, "P1", 30_000),
    (invoice, "D", date(2026, 4, 10), 4, "P2", 50_000),
    (invoice, "E", date(2026, 6, 1), 5, "P2", 80_000),
    (invoice, "F", date(2026, 2, 1), 6, "P3", 100_000),
    (invoice, "G", date(2026, 6, 1), 7, "P4", 40_000),
    (invoice, "H", date(2026, 1, 2), 8, "P5", 10_000),
    (paid, "PA", date(2026, 4, 1), 1, "P1", 40_000),
    (paid, "PC", date(2026, 6, 25), 3, "P1", 20_000),
    (paid, "PE", date(2026, 6, 5), 5, "P2", 70_000),
    (paid, "PF", date(2026, 2, 3), 6, "P3", 100_000),
    (paid, "PG", date(2026, 6, 2), 7, "P4", 55_000),
    (paid, "PH", date(2026, 6, 29), 8, "P5", 10_000),
    (paid, "LATE", date(2026, 7, 1), 2, "P1", 60_000),
]


@pytest.fixture
def patients(chart: dict) -> None:
    for record, voucher, day, number, patient, amount in DOCUMENTS:
        record(voucher, day, number, patient, amount)
    post("RF", at(date(2026, 6, 10)), (RECEIVABLE, "invoice:6", "P3"), (BANK, "", ""), 30_000)


def _items(body: dict) -> dict[str, list[tuple[str, str, int, str, int]]]:
    return {
        row["counterparty"]: [
            (i["reference"], i["since"], i["age_days"], i["bucket"], i["balance"])
            for i in row["items"]
        ]
        for row in body["counterparties"]
    }


def test_credits_pay_each_patients_oldest_debits_first(
    staff_client: Callable[[str], APIClient], patients: None
) -> None:
    body = read(staff_client(Role.FINANCE), f"aged-receivables?kind=patient&{AS_OF}")

    assert _items(body) == {
        "P1": [
            ("invoice:1", "2026-03-01", 121, "over_90", 40_000),
            ("invoice:2", "2026-05-15", 46, "31_60", 60_000),
            ("invoice:3", "2026-06-20", 10, "0_30", 30_000),
        ],
        "P2": [("invoice:5", "2026-06-01", 29, "0_30", 60_000)],
        "P3": [("invoice:6", "2026-06-10", 20, "0_30", 30_000)],
        "P4": [],
    }
    rows = {row["counterparty"]: row for row in body["counterparties"]}
    assert (rows["P1"]["total"], rows["P1"]["credit_balance"]) == (130_000, 0)
    assert rows["P4"]["buckets"] == {"0_30": 0, "31_60": 0, "61_90": 0, "over_90": 0}
    assert (rows["P4"]["total"], rows["P4"]["credit_balance"]) == (0, 15_000)
    assert body["buckets"] == {"0_30": 120_000, "31_60": 60_000, "61_90": 0, "over_90": 40_000}
    assert (body["total"], body["credit_balance"]) == (220_000, 15_000)


def test_the_workbook_shows_the_credit_balance_apart_from_the_buckets(
    staff_client: Callable[[str], APIClient], patients: None
) -> None:
    response = staff_client(Role.FINANCE).get(
        f"/api/v1/ledger/aged-receivables?kind=patient&{AS_OF}&format=xlsx"
    )

    rows = list(workbook_of(response).active.values)
    subtotal = next(row for row in rows if row[0] == "Cộng P4")
    total = rows[-1]
    assert subtotal[4:] == (0, 0, 0, 0, 0, 15_000)
    assert total[0] == "Tổng cộng"
    assert total[4:] == (120_000, 60_000, 0, 40_000, 220_000, 15_000)


def test_the_insurance_fund_is_aged_per_social_insurance_office(
    staff_client: Callable[[str], APIClient], chart: dict
) -> None:
    # Office 79001: claims of 500,000 (03-15) and 300,000 (05-20), settled 600,000 on 06-01
    # -> 200,000 of the second claim (41 days). Office 79002: a claim of 100,000 (06-25).
    def claim(key: str, day: date, number: int, office: str, amount: int) -> None:
        ref = f"invoice:{number}"
        post(key, at(day), (FUND, ref, office), (REVENUE, "", ""), amount, ("HD", key))

    claim("K1", date(2026, 3, 15), 11, "79001", 500_000)
    claim("K2", date(2026, 5, 20), 12, "79001", 300_000)
    claim("K3", date(2026, 6, 25), 13, "79002", 100_000)
    post("S1", at(date(2026, 6, 1)), (BANK, "", ""), (FUND, "", "79001"), 600_000, ("BC", "S1"))

    body = read(staff_client(Role.FINANCE), f"aged-receivables?kind=insurance&{AS_OF}")

    assert _items(body) == {
        "79001": [("invoice:12", "2026-05-20", 41, "31_60", 200_000)],
        "79002": [("invoice:13", "2026-06-25", 5, "0_30", 100_000)],
    }
    assert body["buckets"] == {"0_30": 100_000, "31_60": 200_000, "61_90": 0, "over_90": 0}


def test_a_cash_refund_from_a_drawer_is_a_debit_aged_from_its_own_day(
    staff_client: Callable[[str], APIClient], chart: dict
) -> None:
    # Overpaid 50,000 on 01-10 (a credit balance), refunded 50,000 on 06-01 from drawer 1:
    # nothing owed, nothing in credit.
    Account.objects.create(code=DRAWER_1, name="Quầy 01", type=AccountType.ASSET)
    invoice("X", date(2026, 1, 5), 21, "P9", 100_000)
    paid("PX", date(2026, 1, 10), 21, "P9", 150_000)
    post("RX", at(date(2026, 6, 1)), (RECEIVABLE, "invoice:21", "P9"), (DRAWER_1, "", ""), 50_000)

    body = read(staff_client(Role.FINANCE), f"aged-receivables?kind=patient&{AS_OF}")
    before = read(staff_client(Role.FINANCE), "aged-receivables?kind=patient&as_of=2026-05-31")

    assert (body["total"], body["credit_balance"], body["counterparties"]) == (0, 0, [])
    assert (before["total"], before["credit_balance"]) == (0, 50_000)
