"""The list of a payment's refunds (GET /payments/{id}/refunds): every status, and what the
caller may do with each (``actions``), computed by the API so the desk shows a payout button
only where a payout is accepted; and on the desk's payment lists what a new refund may still
take (``refundable_amount``, computed where the refund service checks its limit, so the
desk's default refund is one the API accepts) and whether the caller may ask for one."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from billing.models import EncounterKind
from billing.services.deposits import encounter_discharge
from config.identity.models import Role
from payments.models import Payment
from tests.assertions import assert_error
from tests.billing.builders import (
    charges_post,
    encounter_new,
    patient_with_coverage,
    price_item,
    visit_invoice,
)
from tests.payments.builders.desk import at_desk, paid_in_cash
from tests.payments.builders.payments import paid_by_transfer
from tests.payments.builders.refunds import pay_out, request_refund

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("approval_threshold")]


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
    # Neither holds anything: all of the payment is refundable again.
    assert listed_payment(cashier, payment)["refundable_amount"] == 900_000


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


def listed_payment(client: APIClient, payment: Payment) -> dict:
    assert payment.invoice is not None
    response = client.get(f"/api/v1/invoices/{payment.invoice.public_id}/payments")
    assert response.status_code == 200, response.content
    (item,) = (p for p in response.json() if p["id"] == payment.public_id)
    return item


def refundable(client: APIClient, payment: Payment) -> tuple[int, list[str]]:
    item = listed_payment(client, payment)
    return item["refundable_amount"], item["actions"]


def test_refunds_waiting_for_approval_or_payout_are_not_refundable_again(staff_client):
    cashier, _session = at_desk(staff_client, count={"500000": 2})
    payment = paid_in_cash(amount=900_000, invoice=visit_invoice(900_000, benefit_level=None))
    assert refundable(cashier, payment) == (900_000, ["refund"])

    waiting = request_refund(cashier, payment, amount=600_000).json()  # for a supervisor
    assert waiting["status"] == "requested"
    to_pay = request_refund(cashier, payment, amount=100_000).json()
    assert to_pay["status"] == "requested"  # the payment's refunds together pass the threshold

    item = listed_payment(cashier, payment)
    assert (item["amount_refunded"], item["refundable_amount"]) == (0, 200_000)
    # The default the desk shows is accepted; one unit more is refused with the same figure.
    too_much = request_refund(cashier, payment, amount=200_001)
    assert assert_error(too_much, 402, "refund_exceeds_captured", "amount")["detail"] == {
        "refundable": 200_000
    }
    assert request_refund(cashier, payment).json()["amount"] == 200_000  # all refundable
    assert refundable(cashier, payment) == (0, [])


def test_a_paid_out_refund_keeps_holding_its_amount(staff_client):
    cashier, _session = at_desk(staff_client, count={"500000": 2})
    payment = paid_in_cash(amount=800_000, invoice=visit_invoice(800_000, benefit_level=None))
    paid = request_refund(cashier, payment, amount=300_000).json()
    assert pay_out(cashier, paid["id"], "cash").status_code == 200

    item = listed_payment(staff_client(Role.SUPERVISOR), payment)

    assert (item["status"], item["amount_refunded"], item["refundable_amount"]) == (
        "partially_refunded",
        300_000,
        500_000,
    )
    assert item["actions"] == ["refund"]  # a supervisor holds the cashier role too


def test_a_payment_not_taken_or_all_refunded_has_nothing_refundable(staff_client):
    cashier, _session = at_desk(staff_client, count={"500000": 1})
    payment = paid_in_cash(amount=100_000, invoice=visit_invoice(100_000, benefit_level=None))
    refund = request_refund(cashier, payment).json()
    assert pay_out(cashier, refund["id"], "cash").status_code == 200

    item = listed_payment(cashier, payment)

    assert (item["status"], item["refundable_amount"], item["actions"]) == ("refunded", 0, [])


def test_an_advance_is_refundable_only_while_it_is_held_for_its_encounter(staff_client):
    cashier = staff_client(Role.CASHIER)
    encounter = encounter_new(
        patient=patient_with_coverage(benefit_level=None), kind=EncounterKind.INPATIENT
    )
    payment = paid_by_transfer(amount=1_000_000, encounter=encounter)
    path = f"/api/v1/encounters/{encounter.pk}/payments"
    assert cashier.get(path).json()[0]["refundable_amount"] == 1_000_000
    charges_post(encounter, (price_item(price=700_000), 1))
    # Discharge applies 700,000 to the invoice and moves the rest to refunds owed (paid back
    # at the desk as a leftover, not as a refund of the advance).
    assert encounter_discharge(encounter=encounter, by="test").refund_owed == 300_000

    (item,) = cashier.get(path).json()

    assert (item["status"], item["refundable_amount"], item["actions"]) == ("succeeded", 0, [])
    refused = request_refund(cashier, payment, amount=1, reason="deposit_refund")
    error = assert_error(refused, 402, "refund_exceeds_captured", "amount")
    assert error["detail"] == {"refundable": 0}
