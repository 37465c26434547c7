"""Print-ready data of an advance (tạm ứng) taken at the desk. The receipt document and its
number are made by notifications from the ``payment.succeeded`` event; this is what the desk
prints at once."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone

from billing.identifiers import mask_name
from payments.models import CAPTURED_STATUSES, Payment, PaymentChannel, PaymentPurpose


def advance_receipt_data(*, payment: Payment) -> dict[str, Any] | None:
    """For a desk advance that succeeded: hospital, patient (masked name and code),
    encounter, amount, method, session, terminal, cashier and time; otherwise ``None``."""
    if (
        payment.purpose != PaymentPurpose.DEPOSIT
        or payment.channel != PaymentChannel.DESK
        or payment.status not in CAPTURED_STATUSES
        or payment.encounter is None
    ):
        return None
    encounter = payment.encounter
    session = payment.cashier_session
    return {
        "title": "Phiếu thu tạm ứng (advance receipt)",
        "hospital": settings.HOSPITAL_NAME,
        "patient_name": mask_name(encounter.patient.full_name),
        "patient_code": encounter.patient.code,
        "encounter": encounter.his_reference,
        "department": encounter.department,
        "amount": payment.amount,
        "currency": payment.currency,
        "method": payment.method,
        "tendered": payment.tendered,
        "change_given": payment.change_given,
        "payment_id": payment.public_id,
        "session": session.public_id if session else None,
        "terminal": session.terminal.code if session else None,
        "cashier": session.cashier.username if session else None,
        "received_at": timezone.localtime(payment.succeeded_at).isoformat()
        if payment.succeeded_at
        else None,
    }
