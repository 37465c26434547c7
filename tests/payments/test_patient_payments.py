"""A patient's recent payments at the desk (GET /patients/{id}/payments): a fully paid invoice
leaves the look-up's open invoices, and a refund a supervisor approves later is found and
paid out from here — each payment with its refunds and the ``actions`` the API computes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from billing.models import EncounterKind, Invoice
from config.identity.models import Role
from payments.models import Payment
from tests.assertions import assert_error
from tests.billing.builders import encounter_new, visit_invoice
from tests.payments.builders.desk import at_desk, paid_in_cash
from tests.payments.builders.payments import paid_by_transfer, vietqr_payment
from tests.payments.builders.refunds import pay_out, request_refund

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("approval_threshold")]


def payments_of(client: APIClient, patient_id: int, **params: Any) -> dict[str, Any]:
    response = client.get(f"/api/v1/patients/{patient_id}/payments", params)
    assert response.status_code == 200, response.content
    return response.json()


def test_a_refund_approved_after_the_invoice_was_paid_in_full_is_paid_out_from_the_list(
    staff_client,
):
    cashier, _session = at_desk(staff_client, count={"500000": 2})
    invoice = visit_invoice(800_000, benefit_level=None)
    payment = paid_in_cash(amount=800_000, invoice=invoice)
    refund = request_refund(cashier, payment, amount=600_000).json()  # waits for a supervisor
    lookup = cashier.post(
        "/api/v1/patients/lookup", {"patient_code": invoice.patient.code}, format="json"
    )
    assert lookup.json()["invoices"] == []  # paid in full: no longer an open invoice

    waiting = payments_of(cashier, invoice.patient_id)["results"]
    assert [(p["id"], p["invoice_number"], p["refundable_amount"]) for p in waiting] == [
        (payment.public_id, invoice.display_number, 200_000)
    ]
    assert [(r["id"], r["status"], r["actions"]) for r in waiting[0]["refunds"]] == [
        (refund["id"], "requested", [])
    ]
    approve = staff_client(Role.SUPERVISOR).post(f"/api/v1/refunds/{refund['id']}/approve")
    assert approve.status_code == 200

    (approved,) = payments_of(cashier, invoice.patient_id)["results"]
    assert approved["refunds"][0]["actions"] == ["pay_out_cash", "pay_out_bank_transfer"]
    assert pay_out(cashier, refund["id"], "bank_transfer").status_code == 200
    (paid,) = payments_of(cashier, invoice.patient_id)["results"]
    assert (paid["status"], paid["amount_refunded"], paid["refundable_amount"]) == (
        "partially_refunded",
        600_000,
        200_000,
    )
    assert [(r["status"], r["payout_method"], r["actions"]) for r in paid["refunds"]] == [
        ("succeeded", "bank_transfer", [])
    ]


def test_invoices_and_advances_taken_are_listed_newest_first_and_nothing_else(staff_client):
    cashier = staff_client(Role.CASHIER)
    invoice = visit_invoice(300_000, benefit_level=None)
    patient = invoice.patient
    first = paid_by_transfer(amount=100_000, invoice=invoice)
    stay = encounter_new(patient=patient, kind=EncounterKind.INPATIENT)
    advance = paid_by_transfer(amount=2_000_000, encounter=stay)
    vietqr_payment(amount=50_000, invoice=invoice)  # still waiting for the transfer
    paid_by_transfer(amount=90_000, invoice=visit_invoice(90_000, benefit_level=None))  # another

    listed = payments_of(cashier, patient.pk)

    assert [(p["id"], p["purpose"], p["invoice_number"]) for p in listed["results"]] == [
        (advance.public_id, "deposit", None),
        (first.public_id, "invoice", invoice.display_number),
    ]
    assert [p["actions"] for p in listed["results"]] == [["refund"], ["refund"]]
    assert listed["next"] is None


def test_the_list_is_cursor_paginated_and_since_keeps_the_recent_ones(staff_client):
    cashier = staff_client(Role.CASHIER)
    invoice = visit_invoice(300_000, benefit_level=None)
    made = [paid_by_transfer(amount=100_000, invoice=invoice) for _ in range(3)]
    Payment.objects.filter(pk=made[0].pk).update(succeeded_at=timezone.now() - timedelta(days=40))

    first = payments_of(cashier, invoice.patient_id, page_size=2)
    second = cashier.get(first["next"]).json()

    assert [p["id"] for p in first["results"] + second["results"]] == [
        p.public_id for p in reversed(made)
    ]
    assert second["next"] is None
    since = (timezone.now() - timedelta(days=30)).isoformat()
    recent = payments_of(cashier, invoice.patient_id, since=since)["results"]
    assert [p["id"] for p in recent] == [made[2].public_id, made[1].public_id]


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"since": "yesterday"}, "since"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "101"}, "page_size"),
        ({"cursor": "AAAA"}, "cursor"),
    ],
)
def test_bad_parameters_are_refused(staff_client, params, param):
    invoice: Invoice = visit_invoice(100_000, benefit_level=None)

    response = staff_client(Role.CASHIER).get(
        f"/api/v1/patients/{invoice.patient_id}/payments", params
    )

    assert_error(response, 400, "parameter_invalid", param)


def test_an_unknown_patient_is_not_found_and_finance_may_not_look(staff_client):
    assert_error(
        staff_client(Role.CASHIER).get("/api/v1/patients/999999999/payments"),
        404,
        "not_found",
        "id",
    )
    invoice = visit_invoice(100_000, benefit_level=None)
    assert_error(
        staff_client(Role.FINANCE).get(f"/api/v1/patients/{invoice.patient_id}/payments"),
        403,
        "permission_denied",
    )
