"""The safe's cash deposit: a supervisor records it, the cash moves from the main safe to
cash in transit until the bank statement shows its code and amount; never more than the
safe holds, also when two deposits race."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from billing.chart import BANK, CASH_IN_TRANSIT, MAIN_CASH, OWNER_EQUITY
from billing.money import Money
from billing.services.ledger import Posting, ledger_post
from config.identity.models import Role
from payments.errors import InsufficientDrawerCash
from payments.models import CashDeposit, ReconItem, ReconKind, ReconStatus
from payments.services.cash_deposits import cash_deposit_record
from payments.services.matching import reconciliation_match
from tests.assertions import assert_error, balance
from tests.concurrency import run_at_once
from tests.payments.builders.desk import desk_user
from tests.payments.test_matching import ddmmyyyy, statement

pytestmark = pytest.mark.usefixtures("bank_feeds_configured")
URL = "/api/v1/cashier/safe/deposits"


def safe_holds(amount: int) -> None:
    money = Money(amount, "VND")
    ledger_post(
        posting_key=f"test-safe-opening:{amount}",
        lines=[Posting.dr(MAIN_CASH, money), Posting.cr(OWNER_EQUITY, money)],
        source_type="manual",
        memo="the safe's opening cash",
    )


def deposit(client: APIClient, amount: int, key: str = "dep-1") -> object:
    return client.post(URL, {"amount": amount}, format="json", headers={"Idempotency-Key": key})


@pytest.mark.django_db
def test_a_deposit_moves_the_safes_cash_in_transit_until_the_statement_shows_it(
    staff_client: Callable[..., APIClient],
) -> None:
    safe_holds(8_000_000)
    response = deposit(staff_client(Role.SUPERVISOR), 5_000_000)
    assert response.status_code == 201, response.json()  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["code"].startswith("ND")
    assert balance(MAIN_CASH) == 3_000_000
    assert balance(CASH_IN_TRANSIT) == 5_000_000
    item = ReconItem.objects.get(kind=ReconKind.CASH_DEPOSIT)
    assert (item.status, item.match_code) == (ReconStatus.EXPECTED, body["code"])
    today = timezone.localdate()
    statement(f'{ddmmyyyy(today)},FT77,,"5,000,000",NOP TIEN MAT {body["code"]} QUY CHINH')
    reconciliation_match(today=today)
    item.refresh_from_db()
    assert item.status == ReconStatus.MATCHED
    assert balance(CASH_IN_TRANSIT) == 0
    assert balance(BANK) == 5_000_000


@pytest.mark.django_db
def test_a_deposit_is_recorded_once_per_key(staff_client: Callable[..., APIClient]) -> None:
    safe_holds(8_000_000)
    supervisor = staff_client(Role.SUPERVISOR)
    first = deposit(supervisor, 1_000_000, "same")
    again = deposit(supervisor, 1_000_000, "same")
    assert again.json() == first.json()  # type: ignore[attr-defined]
    assert CashDeposit.objects.count() == 1


@pytest.mark.django_db
def test_more_than_the_safe_holds_is_refused_and_nothing_is_written(
    staff_client: Callable[..., APIClient],
) -> None:
    safe_holds(1_000_000)
    response = deposit(staff_client(Role.SUPERVISOR), 1_000_001)
    assert_error(response, 402, "insufficient_drawer_cash")
    assert_error(
        deposit(staff_client(Role.SUPERVISOR), 0, "k0"), 400, "invalid_cash_deposit", "amount"
    )
    assert not CashDeposit.objects.exists()
    assert balance(CASH_IN_TRANSIT) == 0


@pytest.mark.django_db
def test_cashiers_do_not_carry_the_safe_to_the_bank(staff_client: Callable[..., APIClient]) -> None:
    assert_error(deposit(staff_client(Role.CASHIER), 1_000), 403, "permission_denied")


@pytest.mark.django_db(transaction=True)
def test_two_deposits_racing_for_the_same_cash_cannot_both_take_it() -> None:
    safe_holds(1_000_000)
    custodian = desk_user(Role.SUPERVISOR)
    outcomes = run_at_once(
        2,
        lambda i: cash_deposit_record(amount=700_000, by=custodian, idempotency_key=f"race-{i}"),
    )
    refused = [o for o in outcomes if isinstance(o, InsufficientDrawerCash)]
    assert len(refused) == 1
    assert CashDeposit.objects.count() == 1
    assert balance(MAIN_CASH) == 300_000
