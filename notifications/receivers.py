"""Reactions to billing's signals (billing never imports notifications)."""

from __future__ import annotations

from typing import Any

from billing.models import Invoice
from notifications.services.messages import invoice_pay_link_enqueue


def on_invoice_issued(sender: Any, *, invoice: Invoice, **_: Any) -> None:
    """Inside ``invoice_issue``'s transaction: the pay-link SMS joins the invoice's commit."""
    invoice_pay_link_enqueue(invoice=invoice)
