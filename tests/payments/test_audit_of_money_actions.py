"""The audit trail records the money, approval and personal-data operations over the API
once each — who, terminal, target, address, request id, outcome — refusals included,
replays not twice; and the day's chain stays intact."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from config.audit.models import ActorKind, AuditCategory, AuditEvent, AuditOutcome
from config.audit.selectors import audit_chain_verify
from config.identity.models import DeviceKind, Role
from payments.models import CashierSession
from tests.payments.builders.desk import at_desk, pay_cash
from tests.payments.builders.payments import new_key, paid_by_transfer, payable_invoice
from tests.payments.builders.refunds import request_refund

pytestmark = pytest.mark.django_db


def _rows(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def test_a_cash_payment_is_recorded_once_with_cashier_terminal_and_amount(
    staff_client: Callable[..., APIClient],
) -> None:
    cashier, session = at_desk(staff_client, count={"500000": 2})
    invoice = payable_invoice(120_000)
    key = new_key("cash")

    first = cashier.post(
        "/api/v1/payments",
        {"invoice_id": invoice.pk, "amount": 120_000, "tendered": 200_000, "method": "cash"},
        format="json",
        headers={"Idempotency-Key": key, "X-Request-ID": "req-cash-1"},
    )
    replay = cashier.post(
        "/api/v1/payments",
        {"invoice_id": invoice.pk, "amount": 120_000, "tendered": 200_000, "method": "cash"},
        format="json",
        headers={"Idempotency-Key": key},
    )

    assert first.status_code == 201, first.content
    assert replay["Idempotent-Replayed"] == "true"
    (row,) = _rows("payment.create")
    assert row.category == AuditCategory.MONEY
    assert row.outcome == AuditOutcome.SUCCESS
    assert row.actor_kind == ActorKind.STAFF
    assert row.actor_label.startswith("cashier-")
    assert row.target_id == first.json()["id"]
    assert row.detail["answer_amount"] == 120_000
    assert row.request_id == "req-cash-1"
    assert row.client_address == "127.0.0.1"
    opened = _rows("cashier_session.open")
    assert [r.target_id for r in opened] == [session.public_id]
    assert opened[0].terminal == CashierSession.objects.get(pk=session.pk).terminal.code


def test_a_refused_payment_is_recorded_as_refused_with_its_error_code(
    staff_client: Callable[..., APIClient],
) -> None:
    cashier, _ = at_desk(staff_client)

    refused = pay_cash(cashier, amount=120_000, tendered=100_000, invoice=payable_invoice(120_000))

    assert refused.status_code == 400
    (row,) = _rows("payment.create")
    assert row.outcome == AuditOutcome.REFUSED
    assert row.detail["error_code"] == refused.json()["error"]["code"]


def test_refund_approvals_are_recorded_and_a_self_approval_as_refused(
    staff_client: Callable[..., APIClient], settings
) -> None:
    settings.REFUND_APPROVAL_THRESHOLD = 500_000
    payment = paid_by_transfer(amount=1_000_000, invoice=payable_invoice(1_000_000))
    requester = staff_client(Role.SUPERVISOR)
    approver = staff_client(Role.SUPERVISOR)
    refund = request_refund(requester, payment, amount=600_000).json()

    own = requester.post(f"/api/v1/refunds/{refund['id']}/approve")
    approved = approver.post(f"/api/v1/refunds/{refund['id']}/approve")

    assert (own.status_code, approved.status_code) == (403, 200)
    rows = _rows("refund.approve")
    assert [(r.outcome, r.category) for r in rows] == [
        (AuditOutcome.REFUSED, AuditCategory.APPROVAL),
        (AuditOutcome.SUCCESS, AuditCategory.APPROVAL),
    ]
    assert rows[0].detail["error_code"] == "approval_by_requester"
    assert {r.target_id for r in rows} == {refund["id"]}
    assert rows[0].actor_label != rows[1].actor_label
    assert [r.outcome for r in _rows("refund.request")] == [AuditOutcome.SUCCESS]


def test_a_kiosk_lookup_is_a_personal_data_read_by_the_device(
    device_client: Callable[..., tuple[APIClient, object]],
) -> None:
    kiosk, device = device_client(DeviceKind.KIOSK)
    invoice = payable_invoice(50_000)

    kiosk.post(
        "/api/v1/kiosk/lookup", {"patient_code": invoice.encounter.patient.code}, format="json"
    )
    kiosk.post("/api/v1/kiosk/lookup", {"patient_code": "NO-SUCH"}, format="json")

    rows = _rows("patient.lookup")
    assert [(r.outcome, r.actor_kind, r.actor_label) for r in rows] == [
        (AuditOutcome.SUCCESS, ActorKind.DEVICE, device.name),  # type: ignore[attr-defined]
        (AuditOutcome.REFUSED, ActorKind.DEVICE, device.name),  # type: ignore[attr-defined]
    ]
    assert rows[0].category == AuditCategory.PERSONAL_DATA
    assert invoice.encounter.patient.code not in str([r.detail for r in rows])
    assert all(verdict.intact for verdict in audit_chain_verify())
