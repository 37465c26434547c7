"""Reactions to billing's signals (billing never imports notifications)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from billing.models import EInvoice, Invoice, Patient
from notifications.services.messages import invoice_pay_link_enqueue
from notifications.services.personal_data import messages_forget_recipient

# The payments topics notifications reacts to (subscribed in NotificationsConfig.ready).
TOPICS = {
    "payment.succeeded": "notifications.issue_payment_receipt",
    "refund.succeeded": "notifications.issue_refund_receipt",
}


def on_invoice_issued(sender: Any, *, invoice: Invoice, **_: Any) -> None:
    """Inside ``invoice_issue``'s transaction: the pay-link SMS joins the invoice's commit."""
    invoice_pay_link_enqueue(invoice=invoice)


def on_patient_anonymised(sender: Any, *, patient: Patient, **_: Any) -> None:
    """Inside ``patient_anonymise``'s transaction: the patient's messages lose their
    recipients, and those not yet sent never will be."""
    messages_forget_recipient(patient=patient)


def on_einvoice_issued(sender: Any, *, einvoice: EInvoice, **_: Any) -> None:
    """After the provider issued the invoice's e-invoice (or its tax authority's code came):
    the stored receipt PDFs are rendered again to name it, once that is committed."""
    from notifications.tasks import refresh_invoice_receipt_pdfs

    invoice_id = einvoice.invoice_id
    transaction.on_commit(lambda: refresh_invoice_receipt_pdfs.delay(invoice_id), robust=True)
