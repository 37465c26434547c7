"""The refund controls a dishonest insider cannot walk around: the approval threshold holds
for a payment's refunds in total (so splitting a refund does not avoid the supervisor), a
cashier's refunds of the day without approval are limited, and a refund is paid out at the
desk exactly once — each proven with requests truly at once against PostgreSQL."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from billing.chart import BANK
from billing.models import JournalEntry
from config.identity.models import Role
from config.identity.services import staff_create, token_issue
from payments.models import CashierSession, Refund, RefundStatus
from tests.assertions import assert_error, assert_trial_balance_balanced, balance
from tests.concurrency import run_at_once
from tests.payments.builders.desk import at_desk, drawer, paid_in_cash
from tests.payments.builders.payments import new_key, paid_by_transfer, payable_invoice
from tests.payments.builders.refunds import THRESHOLD, pay_out, request_refund

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("approval_threshold"),
]


@pytest.fixture(autouse=True)
def limits(settings) -> None:
    settings.REFUND_CASHIER_DAILY_LIMIT = 0  # off unless a test sets it


def one_cashier(count: int) -> list[APIClient]:
    """``count`` clients (one per thread) of one new cashier, with the same token."""
    username = f"cashier-{uuid.uuid4().hex[:10]}"
    _, password = staff_create(username=username, role=Role.CASHIER)
    _, key = token_issue(username=username, password=password)
    clients = [APIClient() for _ in range(count)]
    for client in clients:
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return clients


# ---- the threshold holds for the payment's refunds in total ---------------------------------


def test_a_refund_split_in_two_needs_approval_once_the_total_passes_the_threshold(staff_client):
    cashier = staff_client(Role.CASHIER)
    payment = paid_by_transfer(amount=1_000_000, invoice=payable_invoice(1_000_000))

    first = request_refund(cashier, payment, amount=THRESHOLD)
    second = request_refund(cashier, payment, amount=THRESHOLD)

    assert (first.json()["status"], second.json()["status"]) == ("pending_payout", "requested")
    # Once a supervisor approved it, the split refund is paid out like any other.
    approved = staff_client(Role.SUPERVISOR).post(f"/api/v1/refunds/{second.json()['id']}/approve")
    assert approved.json()["status"] == "pending_payout", approved.content


def test_every_refund_after_the_total_passed_the_threshold_needs_approval(staff_client):
    cashier = staff_client(Role.CASHIER)
    payment = paid_by_transfer(amount=1_000_000, invoice=payable_invoice(1_000_000))

    big = request_refund(cashier, payment, amount=600_000)
    small = request_refund(cashier, payment, amount=10_000)

    assert (big.json()["status"], small.json()["status"]) == ("requested", "requested")
    # A rejected or canceled refund holds nothing: it no longer counts toward the total.
    assert cashier.post(f"/api/v1/refunds/{big.json()['id']}/cancel").status_code == 200
    assert request_refund(cashier, payment, amount=10_000).json()["status"] == "pending_payout"


def test_two_refunds_at_once_each_below_the_threshold_together_above_it_wait_for_a_supervisor(
    staff_client,
):
    cashiers = [staff_client(Role.CASHIER) for _ in range(2)]
    payment = paid_by_transfer(amount=1_000_000, invoice=payable_invoice(1_000_000))

    outcomes = run_at_once(2, lambda i: request_refund(cashiers[i], payment, amount=300_000))

    assert [o.status_code for o in outcomes] == [201, 201], outcomes
    assert sorted(o.json()["status"] for o in outcomes) == ["pending_payout", "requested"]
    assert sorted(Refund.objects.filter(payment=payment).values_list("status", flat=True)) == [
        RefundStatus.PENDING_PAYOUT,
        RefundStatus.REQUESTED,
    ]


def test_two_desks_asking_at_once_for_the_refundable_amount_shown_refund_it_once(staff_client):
    cashiers = [staff_client(Role.CASHIER) for _ in range(2)]
    payment = paid_by_transfer(amount=400_000, invoice=payable_invoice(400_000))
    assert request_refund(cashiers[0], payment, amount=100_000).status_code == 201
    assert payment.invoice is not None
    path = f"/api/v1/invoices/{payment.invoice.public_id}/payments"
    shown = [client.get(path).json()[0]["refundable_amount"] for client in cashiers]
    assert shown == [300_000, 300_000]

    outcomes = run_at_once(2, lambda i: request_refund(cashiers[i], payment, amount=shown[i]))

    assert sorted(o.status_code for o in outcomes) == [201, 402], outcomes
    lost = next(o for o in outcomes if o.status_code == 402)
    assert assert_error(lost, 402, "refund_exceeds_captured", "amount")["detail"] == {
        "refundable": 0
    }
    after = cashiers[0].get(path).json()[0]
    assert (after["refundable_amount"], after["actions"]) == (0, [])
    assert sum(Refund.objects.filter(payment=payment).values_list("amount", flat=True)) == 400_000


# ---- a cashier's refunds of the day without approval -----------------------------------------


def test_a_cashiers_refunds_of_the_day_above_the_daily_limit_need_approval(staff_client, settings):
    settings.REFUND_CASHIER_DAILY_LIMIT = 600_000
    cashier, colleague = staff_client(Role.CASHIER), staff_client(Role.CASHIER)
    payments = [
        paid_by_transfer(amount=400_000, invoice=payable_invoice(400_000)) for _ in range(3)
    ]

    first = request_refund(cashier, payments[0], amount=400_000)
    second = request_refund(cashier, payments[1], amount=400_000)
    by_colleague = request_refund(colleague, payments[2], amount=400_000)

    assert [r.json()["status"] for r in (first, second, by_colleague)] == [
        "pending_payout",
        "requested",
        "pending_payout",
    ]
    # What a supervisor approved is not counted against the cashier's own allowance.
    supervisor = staff_client(Role.SUPERVISOR)
    assert supervisor.post(f"/api/v1/refunds/{second.json()['id']}/approve").status_code == 200
    third = paid_by_transfer(amount=200_000, invoice=payable_invoice(200_000))
    assert request_refund(cashier, third, amount=200_000).json()["status"] == "pending_payout"


def test_one_cashiers_refunds_of_two_payments_at_once_are_counted_together(staff_client, settings):
    settings.REFUND_CASHIER_DAILY_LIMIT = 600_000
    clients = one_cashier(2)
    payments = [
        paid_by_transfer(amount=400_000, invoice=payable_invoice(400_000)) for _ in range(2)
    ]

    outcomes = run_at_once(2, lambda i: request_refund(clients[i], payments[i], amount=400_000))

    assert [o.status_code for o in outcomes] == [201, 201], outcomes
    assert sorted(o.json()["status"] for o in outcomes) == ["pending_payout", "requested"]


# ---- exactly one payout ----------------------------------------------------------------------


@pytest.fixture
def refund_to_pay(staff_client: Callable[..., APIClient]) -> Refund:
    payment = paid_by_transfer(amount=400_000, invoice=payable_invoice(400_000))
    response = request_refund(staff_client(Role.CASHIER), payment, amount=300_000)
    assert response.json()["status"] == "pending_payout", response.content
    return Refund.objects.get(public_id=response.json()["id"])


@pytest.fixture
def cash_refund_to_pay(staff_client: Callable[..., APIClient]) -> Refund:
    """A cash payment's refund: the one kind a drawer pays out (a transfer's goes back by
    transfer, ``payout_method_not_allowed``)."""
    payment = paid_in_cash(amount=400_000, invoice=payable_invoice(400_000))
    response = request_refund(staff_client(Role.CASHIER), payment, amount=300_000)
    assert response.json()["status"] == "pending_payout", response.content
    return Refund.objects.get(public_id=response.json()["id"])


def refund_entries(refund: Refund) -> int:
    return JournalEntry.objects.filter(source_type="refund", source_id=refund.public_id).count()


def test_concurrent_cash_payouts_of_one_refund_let_exactly_one_win(
    staff_client, cash_refund_to_pay
):
    refund_to_pay = cash_refund_to_pay
    desks: list[tuple[APIClient, CashierSession]] = [
        at_desk(staff_client, count={"500000": 1}) for _ in range(4)
    ]

    outcomes = run_at_once(4, lambda i: pay_out(desks[i][0], refund_to_pay.public_id, "cash"))

    assert Counter(o.status_code for o in outcomes) == {200: 1, 409: 3}, outcomes
    winner = next(o for o in outcomes if o.status_code == 200).json()
    assert winner["status"] == "succeeded"
    for lost in (o for o in outcomes if o.status_code == 409):
        error = assert_error(lost, 409, "refund_already_paid_out")
        assert error["detail"]["payout_method"] == "cash"
    # The cash left one drawer, once.
    assert sorted(drawer(session) for _, session in desks) == [200_000, 500_000, 500_000, 500_000]
    assert winner["cashier_session"] in {session.public_id for _, session in desks}
    assert refund_entries(refund_to_pay) == 1
    assert_trial_balance_balanced()


def test_two_desks_paying_out_from_the_patients_list_at_once_pay_the_refund_once(
    staff_client, refund_to_pay
):
    cashiers = [staff_client(Role.CASHIER) for _ in range(2)]
    invoice = refund_to_pay.payment.invoice
    assert invoice is not None
    path = f"/api/v1/patients/{invoice.patient_id}/payments"
    offered = [client.get(path).json()["results"][0]["refunds"][0] for client in cashiers]
    assert [r["actions"] for r in offered] == [["pay_out_bank_transfer"]] * 2

    outcomes = run_at_once(
        2,
        lambda i: pay_out(
            cashiers[i], offered[i]["id"], offered[i]["actions"][0].removeprefix("pay_out_")
        ),
    )

    assert sorted(o.status_code for o in outcomes) == [200, 409], outcomes
    lost = next(o for o in outcomes if o.status_code == 409)
    assert_error(lost, 409, "refund_already_paid_out")
    (listed,) = cashiers[0].get(path).json()["results"][0]["refunds"]
    assert (listed["status"], listed["actions"]) == ("succeeded", [])
    assert refund_entries(refund_to_pay) == 1
    assert -balance(BANK) == 300_000


def test_a_payout_after_the_refund_was_paid_is_refused(staff_client, refund_to_pay):
    cashier = staff_client(Role.CASHIER)
    assert pay_out(cashier, refund_to_pay.public_id, "bank_transfer").status_code == 200

    again = pay_out(staff_client(Role.CASHIER), refund_to_pay.public_id, "bank_transfer")

    error = assert_error(again, 409, "refund_already_paid_out")
    assert error["detail"]["payout_method"] == "bank_transfer"
    assert refund_entries(refund_to_pay) == 1
    assert -balance(BANK) == 300_000


def test_the_same_payout_sent_twice_at_once_with_one_key_gets_the_winners_answer(
    staff_client, refund_to_pay, settings
):
    settings.IDEMPOTENCY_WAIT_SECONDS = 60  # a loaded machine: wait for the winner, never 409
    clients = one_cashier(2)
    key = new_key("payout")

    outcomes = run_at_once(
        2, lambda i: pay_out(clients[i], refund_to_pay.public_id, "bank_transfer", key=key)
    )

    assert [o.status_code for o in outcomes] == [200, 200], outcomes
    assert outcomes[0].json() == outcomes[1].json()
    assert [o.headers.get("Idempotent-Replayed") for o in outcomes].count("true") == 1
    assert refund_entries(refund_to_pay) == 1
