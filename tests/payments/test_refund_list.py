"""The list of a payment's refunds (GET /payments/{id}/refunds): every status, and what the
caller may do with each (``actions``), computed by the API so the desk shows a payout button
only where a payout is accepted."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from config.identity.models import Role
from tests.assertions import assert_error
from tests.billing.builders import visit_invoice
from tests.payments.builders.desk import at_desk, paid_in_cash
from tests.payments.builders.refunds import pay_out, request_refund

pytestmark = pytest.mark.django_db

THRESHOLD = 500_000


@pytest.fixture(autouse=True)
def approval_threshold(settings) -> None:
    settings.REFUND_APPROVAL_THRESHOLD = THRESHOLD


def refunds_of(client: APIClient, payment_id: str) -> list[dict]:
    response = client.get(f"/api/v1/payments/{payment_id}/refunds")
    assert response.status_code == 200, response.content
    return response.json()


def test_a_refund_a_supervisor_approves_later_becomes_payable_out_in_the_list(staff_client):
    cashier, _session = at_desk(staff_client, count={"500000": 2})
    supervisor = staff_client(Role.SUPERVISOR)
    payment = paid_in_cash(amount=800_000, invoice=visit_invoice(800_000, benefit_level=None))
    small = request_refund(cashier, payment, amount=100_000).json()  # under the threshold
    big = request_refund(cashier, payment, amount=600_000).json()  # waits for a supervisor

    listed = refunds_of(cashier, payment.public_id)
    assert [(r["id"], r["status"], r["actions"]) for r in listed] == [
        (small["id"], "pending_payout", ["pay_out_cash", "pay_out_bank_transfer"]),
        (big["id"], "requested", []),
    ]
    assert supervisor.post(f"/api/v1/refunds/{big['id']}/approve").status_code == 200
    assert refunds_of(cashier, payment.public_id)[1]["actions"] == [
        "pay_out_cash",
        "pay_out_bank_transfer",
    ]

    assert pay_out(cashier, big["id"], "cash").status_code == 200
    after = refunds_of(cashier, payment.public_id)
    assert [(r["status"], r["payout_method"], r["actions"]) for r in after] == [
        ("pending_payout", "", ["pay_out_cash", "pay_out_bank_transfer"]),
        ("succeeded", "cash", []),
    ]


def test_rejected_and_canceled_refunds_are_listed_without_actions(staff_client):
    cashier, _session = at_desk(staff_client, count={"500000": 2})
    supervisor = staff_client(Role.SUPERVISOR)
    payment = paid_in_cash(amount=900_000, invoice=visit_invoice(900_000, benefit_level=None))
    rejected = request_refund(cashier, payment, amount=600_000).json()
    assert supervisor.post(f"/api/v1/refunds/{rejected['id']}/reject").status_code == 200
    canceled = request_refund(cashier, payment, amount=50_000).json()
    assert cashier.post(f"/api/v1/refunds/{canceled['id']}/cancel").status_code == 200

    listed = refunds_of(supervisor, payment.public_id)
    assert [(r["amount"], r["status"], r["actions"]) for r in listed] == [
        (600_000, "rejected", []),
        (50_000, "canceled", []),
    ]
    assert listed[0]["decided_by"].startswith("supervisor-")


def test_another_cashiers_payment_lists_its_refunds_and_its_payout_is_offered(staff_client):
    first, _ = at_desk(staff_client, count={"500000": 2})
    payment = paid_in_cash(amount=200_000, invoice=visit_invoice(200_000, benefit_level=None))
    refund = request_refund(first, payment, amount=200_000).json()
    other, _ = at_desk(staff_client, count={"500000": 1})

    listed = refunds_of(other, payment.public_id)

    assert [(r["id"], r["actions"]) for r in listed] == [
        (refund["id"], ["pay_out_cash", "pay_out_bank_transfer"])
    ]
    assert pay_out(other, refund["id"], "cash").status_code == 200


def test_a_supervisor_sees_the_list_a_finance_user_does_not_and_an_unknown_id_is_404(
    staff_client: Callable[..., APIClient],
):
    cashier, _ = at_desk(staff_client, count={"500000": 2})
    payment = paid_in_cash(amount=200_000, invoice=visit_invoice(200_000, benefit_level=None))
    request_refund(cashier, payment, amount=20_000)

    assert [r["amount"] for r in refunds_of(staff_client(Role.SUPERVISOR), payment.public_id)] == [
        20_000
    ]
    assert_error(
        staff_client(Role.FINANCE).get(f"/api/v1/payments/{payment.public_id}/refunds"),
        403,
        "permission_denied",
    )
    assert_error(cashier.get("/api/v1/payments/pay_nope/refunds"), 404, "not_found", "id")
    assert (
        refunds_of(
            cashier,
            paid_in_cash(
                amount=10_000, invoice=visit_invoice(10_000, benefit_level=None)
            ).public_id,
        )
        == []
    )
