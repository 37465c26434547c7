"""What the cashier console reads besides the desk's own endpoints: a patient found by
identifier (audited, the identifier only in the body), the payments of an invoice and the
advances of an encounter, what waits for a supervisor, the notes a count is made of, and
signing out (the token revoked)."""

from __future__ import annotations

import pytest

from config.audit.models import AuditEvent
from config.identity.models import Role
from payments.models import DENOMINATIONS
from tests.assertions import assert_error
from tests.billing.builders import citizen_id_new, encounter_new, patient_with_coverage
from tests.payments.builders.desk import at_desk, close, desk_user, paid_in_cash, pay_cash, post
from tests.payments.builders.payments import payable_invoice
from tests.payments.builders.refunds import request_refund

pytestmark = pytest.mark.django_db

LOOKUP_URL = "/api/v1/patients/lookup"


def test_a_cashier_finds_a_patient_by_citizen_id_with_open_invoices_and_encounters(
    staff_client,
):
    citizen_id = citizen_id_new()
    patient = patient_with_coverage(full_name="Phạm Thị Thu Hà", citizen_id=citizen_id)
    inpatient = encounter_new(patient=patient, kind="inpatient")
    client = staff_client(Role.CASHIER)

    response = client.post(LOOKUP_URL, {"citizen_id": citizen_id}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["masked_name"] == "P. T. T. Hà"
    assert body["patient_code"] == patient.code
    assert body["invoices"] == []
    assert [e["id"] for e in body["encounters"]] == [inpatient.pk]
    assert body["encounters"][0] | {"opened_at": None} == {
        "id": inpatient.pk,
        "kind": "inpatient",
        "department": "Khoa Nội",
        "status": "open",
        "opened_at": None,
        "closed_at": None,
        "deposit_balance": 0,
        "refund_owed": 0,
    }
    event = AuditEvent.objects.get(action="patient.lookup")
    assert (event.category, event.target_id) == ("personal_data", str(patient.pk))
    assert event.detail == {"identifier_kind": "citizen_id", "found": True}
    assert citizen_id not in str(event.detail)


def test_a_desk_lookup_of_nobody_is_404_and_audited_as_not_found(staff_client):
    client = staff_client(Role.CASHIER)

    assert_error(
        client.post(LOOKUP_URL, {"patient_code": "BN-NOBODY"}, format="json"),
        404,
        "patient_not_found",
    )
    assert AuditEvent.objects.get(action="patient.lookup").detail == {
        "identifier_kind": "patient_code",
        "found": False,
    }


def test_only_cashiers_look_patients_up_at_the_desk(staff_client, kiosk):
    kiosk_client, _ = kiosk
    body = {"patient_code": "BN-NOBODY"}
    assert_error(
        staff_client(Role.FINANCE).post(LOOKUP_URL, body, format="json"), 403, "permission_denied"
    )
    assert_error(kiosk_client.post(LOOKUP_URL, body, format="json"), 403, "permission_denied")


def test_the_payments_of_an_invoice_list_what_each_took_and_refunded(staff_client):
    client, _session = at_desk(staff_client)
    invoice = payable_invoice(300_000)
    assert pay_cash(client, amount=100_000, tendered=100_000, invoice=invoice).status_code == 201
    assert pay_cash(client, amount=200_000, tendered=500_000, invoice=invoice).status_code == 201

    response = client.get(f"/api/v1/invoices/{invoice.public_id}/payments")

    assert response.status_code == 200
    assert [(p["amount"], p["change_given"], p["status"]) for p in response.json()] == [
        (100_000, 0, "succeeded"),
        (200_000, 300_000, "succeeded"),
    ]
    assert_error(client.get("/api/v1/invoices/999999/payments"), 404, "not_found", "id")


def test_the_advances_of_an_encounter_are_listed(staff_client):
    client, _session = at_desk(staff_client)
    encounter = encounter_new(kind="inpatient")
    advance = pay_cash(client, amount=2_000_000, tendered=2_000_000, encounter_id=encounter.pk)
    assert advance.status_code == 201, advance.content

    response = client.get(f"/api/v1/encounters/{encounter.pk}/payments")

    assert [p["id"] for p in response.json()] == [advance.json()["id"]]


def test_a_supervisor_sees_the_refunds_and_closes_waiting_for_approval(staff_client, settings):
    settings.REFUND_APPROVAL_THRESHOLD = 100_000
    cashier, session = at_desk(staff_client, count={"100000": 1})
    payment = paid_in_cash(amount=500_000, invoice=payable_invoice(500_000))
    refund = request_refund(cashier, payment, amount=300_000)
    assert refund.json()["status"] == "requested"
    assert close(cashier, session, {"500000": 1}).json()["status"] == "pending_approval"
    supervisor = staff_client(Role.SUPERVISOR)

    queue = supervisor.get("/api/v1/cashier/approvals").json()

    assert [r["id"] for r in queue["refunds"]] == [refund.json()["id"]]
    assert [s["id"] for s in queue["sessions"]] == [session.public_id]
    assert queue["sessions"][0]["variance"] == 400_000
    assert_error(cashier.get("/api/v1/cashier/approvals"), 403, "permission_denied")


def test_the_current_session_names_the_notes_a_count_is_made_of(staff_client):
    body = staff_client(Role.CASHIER).get("/api/v1/cashier/sessions/current").json()

    assert body["session"] is None
    assert body["denominations"] == list(DENOMINATIONS)


def test_signing_out_revokes_the_token_it_is_sent_with(staff_client):
    client = staff_client(Role.CASHIER)
    assert client.get("/api/v1/cashier/sessions/current").status_code == 200

    response = post(client, "/api/v1/auth/token/revoke", {})

    assert response.status_code == 204
    assert_error(client.get("/api/v1/cashier/sessions/current"), 401, "authentication_failed")
    assert desk_user()  # other users and their tokens are untouched
