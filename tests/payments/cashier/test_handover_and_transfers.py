"""Handing an open drawer to the next cashier, and moving cash between drawers and the main
safe: every move is in the ledger, both sessions' expected cash follow, no drawer goes
negative, and both sessions reconcile."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from billing.chart import CASH_SHORTAGE, MAIN_CASH
from config.identity.models import Role
from payments.models import CashierSession, CashierSessionStatus, CashTransfer
from tests.assertions import assert_error, balance
from tests.payments.builders.desk import (
    SESSIONS_URL,
    at_desk,
    close,
    drawer,
    fresh,
    pay_cash,
    post,
    report,
)
from tests.payments.builders.payments import payable_invoice

pytestmark = pytest.mark.django_db

TRANSFERS_URL = "/api/v1/cashier/transfers"


@pytest.fixture(autouse=True)
def threshold(settings) -> None:
    settings.CASHIER_VARIANCE_APPROVAL_THRESHOLD = 50_000


def cashier_named(staff_client, role: str = Role.CASHIER) -> tuple[Any, str]:
    """A new staff client and its username (the user ``staff_client`` just made)."""
    client = staff_client(role)
    return client, User.objects.latest("pk").username


def hand_over(client, session, to: str, count: dict[str, int]):
    return post(client, f"{SESSIONS_URL}/{session.public_id}/handover", {"to": to, "count": count})


def accept(client, session, count: dict[str, int]):
    return post(client, f"{SESSIONS_URL}/{session.public_id}/handover/accept", {"count": count})


def test_handover_with_a_difference_both_sessions_reconcile(staff_client):
    giver, first = at_desk(staff_client, count={"100000": 2})  # 200,000
    assert pay_cash(giver, amount=130_000, tendered=150_000, invoice=payable_invoice(130_000))
    receiver, receiver_name = cashier_named(staff_client)
    # 330,000 expected; the giver counts 330,000, the receiver finds 320,000.
    handed = hand_over(giver, first, receiver_name, {"100000": 3, "20000": 1, "10000": 1})
    assert handed.status_code == 200, handed.content
    assert (handed.json()["status"], handed.json()["expected_cash"]) == ("handover_pending", None)
    assert_error(
        pay_cash(giver, amount=1_000, tendered=1_000, invoice=payable_invoice(1_000)),
        400,
        "cashier_session_required",
    )

    waiting = receiver.get(f"{SESSIONS_URL}/current").json()
    assert waiting["session"] is None
    assert [s["id"] for s in waiting["handovers_to_me"]] == [first.public_id]
    assert giver.get(f"{SESSIONS_URL}/current").json()["session"]["status"] == "handover_pending"

    accepted = accept(receiver, first, {"100000": 3, "20000": 1})

    assert accepted.status_code == 201, accepted.content
    body = accepted.json()
    given, taken = body["handed_over"], body["session"]
    assert (given["expected_cash"], given["counted_cash"], given["variance"]) == (
        330_000,
        320_000,
        -10_000,
    )
    assert given["status"] == "closed"
    assert (body["giver_counted_cash"], body["difference_from_giver"]) == (330_000, -10_000)
    assert (taken["opening_float"], taken["status"], taken["handed_over_from"]) == (
        320_000,
        "open",
        first.public_id,
    )
    second = CashierSession.objects.get(public_id=taken["id"])
    assert receiver.get(f"{SESSIONS_URL}/current").json()["session"]["id"] == second.public_id
    assert second.terminal_id == first.terminal_id
    assert balance(CASH_SHORTAGE) == 10_000  # the giver's variance
    assert drawer(first) == 0  # the giving session reconciles to zero
    assert drawer(second) == 320_000  # the receiver starts from the verified count
    assert report(giver, first)["agrees"]

    assert pay_cash(receiver, amount=80_000, tendered=100_000, invoice=payable_invoice(80_000))
    closed = close(receiver, second, {"200000": 2}).json()
    assert (closed["expected_cash"], closed["variance"]) == (400_000, 0)
    assert drawer(second) == 0
    assert report(receiver, second)["agrees"]


def test_handing_over_to_oneself_is_refused(staff_client):
    cashier, session = at_desk(staff_client)

    response = hand_over(cashier, session, fresh(session).cashier.username, {})

    assert_error(response, 400, "handover_to_self", "to")
    assert fresh(session).status == CashierSessionStatus.OPEN


def test_the_receiver_must_be_a_free_cashier(staff_client):
    cashier, session = at_desk(staff_client)
    _, finance_name = cashier_named(staff_client, Role.FINANCE)
    _, busy_session = at_desk(staff_client)
    busy_name = busy_session.cashier.username

    assert_error(
        hand_over(cashier, session, finance_name, {}), 400, "handover_receiver_invalid", "to"
    )
    assert_error(hand_over(cashier, session, busy_name, {}), 409, "cashier_has_open_session", "to")
    assert_error(hand_over(cashier, session, "nobody", {}), 404, "not_found", "to")
    assert fresh(session).status == CashierSessionStatus.OPEN


def test_only_the_named_receiver_verifies_a_handover(staff_client):
    giver, session = at_desk(staff_client, count={"50000": 1})
    receiver, receiver_name = cashier_named(staff_client)
    hand_over(giver, session, receiver_name, {"50000": 1})

    assert_error(
        accept(staff_client(Role.CASHIER), session, {"50000": 1}), 403, "not_handover_receiver"
    )
    assert_error(close(giver, session, {"50000": 1}), 409, "session_handover_pending")
    assert accept(receiver, session, {"50000": 1}).status_code == 201
    assert_error(accept(receiver, session, {"50000": 1}), 409, "session_not_handed_over")


def test_cash_moves_between_drawers_and_the_safe_and_both_sessions_follow(staff_client):
    first_client, first = at_desk(staff_client, count={"100000": 3})  # 300,000
    second_client, second = at_desk(staff_client)  # empty drawer
    safe_before = balance(MAIN_CASH)

    to_second = post(
        first_client,
        TRANSFERS_URL,
        {"from_session": first.public_id, "to_session": second.public_id, "amount": 120_000},
    )
    from_safe = post(
        second_client, TRANSFERS_URL, {"to_session": second.public_id, "amount": 500_000}
    )
    to_safe = post(first_client, TRANSFERS_URL, {"from_session": first.public_id, "amount": 80_000})

    for response in (to_second, from_safe, to_safe):
        assert response.status_code == 201, response.content
    # Each side counts in what it received (a supervisor for the safe).
    supervisor = staff_client(Role.SUPERVISOR)
    for client, sent in (
        (second_client, to_second),
        (second_client, from_safe),
        (supervisor, to_safe),
    ):
        counted = sent.json()["amount"]
        confirmed = post(
            client, f"{TRANSFERS_URL}/{sent.json()['id']}/confirm", {"counted": counted}
        )
        assert confirmed.json()["status"] == "confirmed", confirmed.content
    assert (drawer(first), drawer(second)) == (100_000, 620_000)
    assert balance(MAIN_CASH) - safe_before == -500_000 + 80_000
    first_closed = close(first_client, first, {"100000": 1}).json()
    second_closed = close(second_client, second, {"500000": 1, "100000": 1, "20000": 1}).json()
    assert (first_closed["expected_cash"], first_closed["variance"]) == (100_000, 0)
    assert (second_closed["expected_cash"], second_closed["variance"]) == (620_000, 0)
    first_report, second_report = report(first_client, first), report(second_client, second)
    assert {k: first_report["transfers"][k] for k in ("in", "out", "count")} == {
        "in": 0,
        "out": 200_000,
        "count": 2,
    }
    assert {k: second_report["transfers"][k] for k in ("in", "out", "count")} == {
        "in": 620_000,
        "out": 0,
        "count": 2,
    }
    assert first_report["agrees"]
    assert second_report["agrees"]


def test_no_drawer_goes_negative(staff_client):
    cashier, session = at_desk(staff_client, count={"50000": 1})

    response = post(cashier, TRANSFERS_URL, {"from_session": session.public_id, "amount": 50_001})

    error = assert_error(response, 402, "insufficient_drawer_cash", "amount")
    assert error["detail"] == {"available": 50_000}
    assert not CashTransfer.objects.exists()
    assert drawer(session) == 50_000


def test_transfers_to_closed_sessions_or_nowhere_are_refused(staff_client):
    cashier, session = at_desk(staff_client, count={"50000": 1})
    other_client, other = at_desk(staff_client)
    close(other_client, other, {})

    closed = post(
        cashier,
        TRANSFERS_URL,
        {"from_session": session.public_id, "to_session": other.public_id, "amount": 10_000},
    )
    nowhere = post(cashier, TRANSFERS_URL, {"amount": 10_000})
    itself = post(
        cashier,
        TRANSFERS_URL,
        {"from_session": session.public_id, "to_session": session.public_id, "amount": 1},
    )
    negative = post(cashier, TRANSFERS_URL, {"to_session": session.public_id, "amount": -5})

    assert_error(closed, 409, "cashier_session_closed")
    assert_error(nowhere, 400, "invalid_transfer", "to_session")
    assert_error(itself, 400, "invalid_transfer", "to_session")
    assert_error(negative, 400, "invalid_transfer", "amount")
    assert not CashTransfer.objects.exists()


def test_a_cashier_takes_cash_only_out_of_their_own_drawer(staff_client):
    _, session = at_desk(staff_client, count={"50000": 1})
    thief, own = at_desk(staff_client)

    to_the_safe = post(thief, TRANSFERS_URL, {"from_session": session.public_id, "amount": 1})
    to_mine = post(
        thief,
        TRANSFERS_URL,
        {"from_session": session.public_id, "to_session": own.public_id, "amount": 1},
    )
    into_theirs = post(thief, TRANSFERS_URL, {"to_session": session.public_id, "amount": 1})

    assert_error(to_the_safe, 403, "not_your_session")
    assert_error(to_mine, 403, "not_your_session")
    assert_error(into_theirs, 403, "not_your_session")
    assert not CashTransfer.objects.exists()
    assert drawer(session) == 50_000
