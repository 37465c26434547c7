"""Cash transfers are two-sided: the cash is in transit (the CASH_TRANSFER role's account)
until the receiver counts it in, a shortage found by the receiver lands on the giver's close
(not on a colleague), a session cannot close or hand over with a transfer pending, the safe's
side is counted by a supervisor, and the Z-report shows each transfer and what is still in
transit."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from billing.chart import CASH_TRANSFER, MAIN_CASH
from config.identity.models import Role
from payments.models import CashierSession, CashTransfer, CashTransferStatus
from tests.assertions import assert_error, assert_trial_balance_balanced, balance
from tests.concurrency import run_at_once
from tests.payments.builders.desk import (
    SESSIONS_URL,
    at_desk,
    close,
    drawer,
    fresh,
    post,
    report,
)

TRANSFERS_URL = "/api/v1/cashier/transfers"


@pytest.fixture(autouse=True)
def threshold(settings) -> None:
    settings.CASHIER_VARIANCE_APPROVAL_THRESHOLD = 50_000


def send(client: APIClient, amount: int, *, source: Any = None, target: Any = None) -> Any:
    body: dict[str, Any] = {"amount": amount}
    if source is not None:
        body["from_session"] = source.public_id
    if target is not None:
        body["to_session"] = target.public_id
    response = post(client, TRANSFERS_URL, body)
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "pending"
    return response.json()


def confirm(client: APIClient, transfer: dict[str, Any], counted: int) -> Any:
    return post(client, f"{TRANSFERS_URL}/{transfer['id']}/confirm", {"counted": counted})


def cancel(client: APIClient, transfer: dict[str, Any]) -> Any:
    return post(client, f"{TRANSFERS_URL}/{transfer['id']}/cancel", {})


def in_transit(transfer: dict[str, Any]) -> int:
    pk = CashTransfer.objects.get(public_id=transfer["id"]).pk
    return balance(CASH_TRANSFER, f"cash_transfer:{pk}")


@pytest.fixture
def two_desks(staff_client) -> tuple[tuple[APIClient, CashierSession], ...]:
    """A giver whose drawer opened with 300,000 and a receiver with an empty drawer."""
    return at_desk(staff_client, count={"100000": 3}), at_desk(staff_client)


@pytest.mark.django_db
def test_cash_sent_to_another_drawer_is_in_transit_until_the_receiver_counts_it_in(two_desks):
    (giver, first), (receiver, second) = two_desks

    sent = send(giver, 120_000, source=first, target=second)

    assert (drawer(first), drawer(second), in_transit(sent)) == (180_000, 0, 120_000)
    for client, session in ((giver, first), (receiver, second)):
        refused = assert_error(close(client, session, {}), 409, "session_has_pending_transfers")
        assert refused["detail"] == {"transfers": [sent["id"]]}
        assert fresh(session).status == "open"
    assert_error(confirm(giver, sent, 120_000), 403, "not_transfer_receiver")

    counted = confirm(receiver, sent, 120_000)

    assert counted.status_code == 200, counted.content
    assert (counted.json()["status"], counted.json()["counted_amount"]) == ("confirmed", 120_000)
    assert (drawer(first), drawer(second), in_transit(sent)) == (180_000, 120_000, 0)
    assert close(giver, first, {"100000": 1, "50000": 1, "10000": 3}).json()["variance"] == 0
    assert close(receiver, second, {"100000": 1, "20000": 1}).json()["variance"] == 0
    assert_error(confirm(receiver, sent, 120_000), 409, "cash_transfer_state_conflict")
    assert_trial_balance_balanced()


@pytest.mark.django_db
def test_cash_kept_by_the_giver_shows_as_the_givers_shortage_not_the_receivers(two_desks):
    """The giver 'sends' 120,000 but keeps it: the receiver counts nothing in, so the giver,
    counting only what is left (180,000), is short 120,000 at their close."""
    (giver, first), (receiver, second) = two_desks
    sent = send(giver, 120_000, source=first, target=second)

    assert confirm(receiver, sent, 0).json()["counted_amount"] == 0

    giver_close = close(giver, first, {"100000": 1, "50000": 1, "10000": 3}).json()
    receiver_close = close(receiver, second, {}).json()
    assert (giver_close["expected_cash"], giver_close["variance"]) == (300_000, -120_000)
    assert giver_close["status"] == "pending_approval"  # a supervisor sees the shortage
    assert (receiver_close["expected_cash"], receiver_close["variance"]) == (0, 0)
    transfers = report(giver, fresh(first))["transfers"]
    assert transfers["items"] == [
        {
            "id": sent["id"],
            "direction": "out",
            "other_side": second.public_id,
            "status": "confirmed",
            "amount": 120_000,
            "counted": 0,
            "decided_by": str(fresh(second).cashier),
        }
    ]
    assert report(giver, fresh(first))["agrees"]
    assert_trial_balance_balanced()


@pytest.mark.django_db
def test_a_partial_count_puts_the_difference_back_on_the_giver(two_desks):
    (giver, first), (receiver, second) = two_desks
    sent = send(giver, 120_000, source=first, target=second)

    confirm(receiver, sent, 100_000)

    assert (drawer(first), drawer(second), in_transit(sent)) == (200_000, 100_000, 0)
    # The giver really handed over 120,000: 180,000 left, 20,000 short.
    assert close(giver, first, {"100000": 1, "50000": 1, "10000": 3}).json()["variance"] == -20_000
    assert close(receiver, second, {"100000": 1}).json()["variance"] == 0


@pytest.mark.django_db
def test_cash_to_the_safe_is_counted_in_by_a_supervisor_who_neither_sent_nor_gave_it(
    staff_client, two_desks
):
    (giver, first), _ = two_desks
    safe_before = balance(MAIN_CASH)
    sent = send(giver, 80_000, source=first)

    assert balance(MAIN_CASH) == safe_before
    assert_error(confirm(giver, sent, 80_000), 403, "not_transfer_receiver")
    assert_error(confirm(staff_client(Role.CASHIER), sent, 80_000), 403, "not_transfer_receiver")
    assert confirm(staff_client(Role.SUPERVISOR), sent, 80_000).status_code == 200
    assert balance(MAIN_CASH) - safe_before == 80_000
    assert drawer(first) == 220_000


@pytest.mark.django_db
def test_cash_from_the_safe_is_counted_in_by_the_receiving_cashier(staff_client):
    cashier, session = at_desk(staff_client)
    safe_before = balance(MAIN_CASH)
    sent = send(cashier, 500_000, target=session)

    assert (balance(MAIN_CASH) - safe_before, drawer(session)) == (-500_000, 0)
    assert confirm(cashier, sent, 500_000).status_code == 200
    assert drawer(session) == 500_000


@pytest.mark.django_db
def test_a_pending_transfer_canceled_by_its_giver_puts_the_cash_back(staff_client, two_desks):
    (giver, first), (receiver, second) = two_desks
    sent = send(giver, 120_000, source=first, target=second)

    assert_error(cancel(receiver, sent), 403, "not_your_session")
    canceled = cancel(giver, sent)

    assert canceled.json()["status"] == "canceled", canceled.content
    assert (drawer(first), drawer(second), in_transit(sent)) == (300_000, 0, 0)
    assert_error(confirm(receiver, sent, 120_000), 409, "cash_transfer_state_conflict")
    assert close(giver, first, {"100000": 3}).json()["variance"] == 0


@pytest.mark.django_db
def test_a_drawer_with_a_transfer_pending_cannot_be_handed_over(staff_client, two_desks):
    (giver, first), (_, second) = two_desks
    send(giver, 120_000, source=first, target=second)
    staff_client(Role.CASHIER)  # the next cashier, free to take the drawer
    name = User.objects.latest("pk").username

    response = post(
        giver,
        f"{SESSIONS_URL}/{first.public_id}/handover",
        {"to": name, "count": {"100000": 1, "50000": 1, "10000": 3}},
    )

    assert_error(response, 409, "session_has_pending_transfers")
    assert fresh(first).status == "open"


@pytest.mark.django_db
def test_the_day_report_shows_cash_still_in_transit(staff_client, two_desks):
    (giver, first), (_, second) = two_desks
    sent = send(giver, 120_000, source=first, target=second)
    finance = staff_client(Role.SUPERVISOR)
    day = timezone.localdate().isoformat()

    day_report = finance.get(f"/api/v1/cashier/terminals/{first.terminal.code}/report?date={day}")

    assert day_report.status_code == 200, day_report.content
    assert day_report.json()["in_transit"] == [
        {
            "id": sent["id"],
            "from": first.public_id,
            "to": second.public_id,
            "amount": 120_000,
            "created_by": str(fresh(first).cashier),
        }
    ]


@pytest.mark.django_db(transaction=True)
def test_a_confirmation_and_a_cancel_at_once_only_one_wins(two_desks):
    (giver, first), (receiver, second) = two_desks
    sent = send(giver, 120_000, source=first, target=second)

    outcomes = run_at_once(
        2, lambda i: confirm(receiver, sent, 120_000) if i == 0 else cancel(giver, sent)
    )

    assert Counter(o.status_code for o in outcomes) == {200: 1, 409: 1}, outcomes
    status = CashTransfer.objects.get(public_id=sent["id"]).status
    assert in_transit(sent) == 0
    expected = (180_000, 120_000) if status == CashTransferStatus.CONFIRMED else (300_000, 0)
    assert (drawer(first), drawer(second)) == expected
    assert_trial_balance_balanced()
