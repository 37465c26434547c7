"""Money given back at the desk: cash refunds out of the session's drawer (never more than
it holds), canceling a refund still waiting, and the advance left over at discharge paid
back in cash or by bank transfer, once."""

from __future__ import annotations

import pytest

from billing.chart import BANK, REFUND_OWED
from billing.selectors.invoices import refund_owed
from config.identity.models import Role
from payments.models import RefundOwedPayout, RefundStatus
from tests.assertions import assert_error, balance
from tests.payments.builders.desk import (
    at_desk,
    discharged_with_leftover,
    drawer,
    paid_in_cash,
    post,
    report,
)
from tests.payments.builders.desk import close as close_session
from tests.payments.builders.payments import paid_by_transfer, payable_invoice
from tests.payments.builders.refunds import pay_out, request_refund

pytestmark = pytest.mark.django_db

OWED_URL = "/api/v1/cashier/refunds-owed"


@pytest.fixture(autouse=True)
def thresholds(settings) -> None:
    settings.REFUND_APPROVAL_THRESHOLD = 500_000
    settings.CASHIER_VARIANCE_APPROVAL_THRESHOLD = 50_000


def test_a_cash_refund_above_what_the_drawer_holds_is_refused(staff_client):
    cashier, session = at_desk(staff_client, count={"50000": 1})
    payment = paid_in_cash(amount=200_000, invoice=payable_invoice(200_000))  # another desk
    refund = request_refund(cashier, payment, amount=80_000).json()

    response = pay_out(cashier, refund["id"], "cash")

    error = assert_error(response, 402, "insufficient_drawer_cash")
    assert error["detail"] == {"available": 50_000, "amount": 80_000}
    assert drawer(session) == 50_000
    assert payment.refunds.get().status == RefundStatus.PENDING_PAYOUT


def test_a_cash_payout_needs_an_open_session(staff_client):
    cashier = staff_client(Role.CASHIER)
    payment = paid_in_cash(amount=200_000, invoice=payable_invoice(200_000))
    refund = request_refund(cashier, payment, amount=80_000).json()

    assert_error(pay_out(cashier, refund["id"], "cash"), 400, "cashier_session_required", "paid_by")
    bank = pay_out(cashier, refund["id"], "bank_transfer")  # a transfer needs no drawer
    assert bank.status_code == 200, bank.content
    assert (bank.json()["payout_method"], bank.json()["cashier_session"]) == (
        "bank_transfer",
        None,
    )


def test_a_refund_waiting_for_approval_or_payout_can_be_canceled(staff_client):
    cashier, _ = at_desk(staff_client, count={"500000": 2})
    payment = paid_by_transfer(amount=1_000_000, invoice=payable_invoice(1_000_000))
    to_pay = request_refund(cashier, payment, amount=200_000).json()  # pending payout
    waiting = request_refund(cashier, payment, amount=800_000).json()  # needs approval
    assert (waiting["status"], to_pay["status"]) == ("requested", "pending_payout")

    assert_error(
        staff_client(Role.CASHIER).post(f"/api/v1/refunds/{waiting['id']}/cancel"),
        403,
        "refund_cancel_not_allowed",
    )
    canceled = cashier.post(f"/api/v1/refunds/{waiting['id']}/cancel")
    by_supervisor = staff_client(Role.SUPERVISOR).post(f"/api/v1/refunds/{to_pay['id']}/cancel")

    assert canceled.json()["status"] == by_supervisor.json()["status"] == "canceled"
    assert_error(
        cashier.post(f"/api/v1/refunds/{waiting['id']}/cancel"), 409, "refund_state_conflict"
    )
    assert_error(pay_out(cashier, to_pay["id"], "cash"), 409, "refund_state_conflict")
    # The canceled amounts are free again: all of the payment can be refunded.
    again = request_refund(cashier, payment, amount=1_000_000)
    assert again.status_code == 201, again.content


def test_a_succeeded_refund_cannot_be_canceled(staff_client):
    cashier, _ = at_desk(staff_client, count={"500000": 1})
    payment = paid_in_cash(amount=200_000, invoice=payable_invoice(200_000))
    refund = request_refund(cashier, payment, amount=50_000).json()
    assert pay_out(cashier, refund["id"], "cash").status_code == 200

    assert_error(
        cashier.post(f"/api/v1/refunds/{refund['id']}/cancel"), 409, "refund_state_conflict"
    )


def test_the_discharge_leftover_is_paid_back_in_cash_from_the_drawer_once(staff_client):
    cashier, session = at_desk(staff_client)
    encounter = discharged_with_leftover(session, advance=2_000_000, charges=1_500_000)
    assert drawer(session) == 2_000_000
    body = {"encounter_id": encounter.pk, "paid_by": "cash"}

    first = post(cashier, OWED_URL, body, idem="owed-1")
    again = post(cashier, OWED_URL, body, idem="owed-1")

    assert first.status_code == 201, first.content
    assert (first.json()["amount"], first.json()["cashier_session"]) == (500_000, session.public_id)
    assert again.json() == first.json()
    assert RefundOwedPayout.objects.count() == 1
    assert refund_owed(encounter=encounter) == 0
    assert balance(REFUND_OWED, encounter.ledger_reference) == 0
    assert drawer(session) == 1_500_000
    assert_error(post(cashier, OWED_URL, body), 409, "nothing_owed")
    closed = close_session(cashier, session, {"500000": 3}).json()
    assert (closed["expected_cash"], closed["variance"]) == (1_500_000, 0)
    z = report(cashier, session)
    assert z["deposits_taken"] == {"count": 1, "amount": 2_000_000}
    assert z["deposits_refunded"] == {"count": 1, "amount": 500_000}
    assert z["refunds_owed_paid"]["cash"] == {"count": 1, "amount": 500_000}
    assert z["agrees"]


def test_the_discharge_leftover_can_be_paid_back_by_bank_transfer_in_parts(staff_client):
    cashier, session = at_desk(staff_client)
    encounter = discharged_with_leftover(session, advance=1_000_000, charges=400_000)

    too_much = post(
        cashier,
        OWED_URL,
        {"encounter_id": encounter.pk, "paid_by": "bank_transfer", "amount": 600_001},
    )
    part = post(
        cashier,
        OWED_URL,
        {
            "encounter_id": encounter.pk,
            "paid_by": "bank_transfer",
            "amount": 100_000,
            "bank_reference": "FT2611ABC",
        },
    )
    rest = post(cashier, OWED_URL, {"encounter_id": encounter.pk, "paid_by": "bank_transfer"})

    error = assert_error(too_much, 402, "amount_exceeds_refund_owed", "amount")
    assert error["detail"] == {"owed": 600_000}
    assert (part.json()["amount"], part.json()["bank_reference"]) == (100_000, "FT2611ABC")
    assert (rest.json()["amount"], rest.json()["method"]) == (500_000, "bank_transfer")
    assert refund_owed(encounter=encounter) == 0
    assert -balance(BANK) == 600_000
    assert drawer(session) == 1_000_000  # a transfer leaves the drawer alone


def test_a_cash_leftover_payout_above_the_drawer_is_refused(staff_client):
    cashier, session = at_desk(staff_client)
    encounter = discharged_with_leftover(session, advance=1_000_000, charges=100_000)
    post(
        cashier, "/api/v1/cashier/transfers", {"from_session": session.public_id, "amount": 950_000}
    )

    response = post(cashier, OWED_URL, {"encounter_id": encounter.pk, "paid_by": "cash"})

    assert_error(response, 402, "insufficient_drawer_cash")
    assert refund_owed(encounter=encounter) == 900_000
    assert not RefundOwedPayout.objects.exists()
