"""Revoking pay links: by a cashier (one link, or every link of an invoice), and on their own
when the invoice is paid or voided (billing's ``invoice_closed`` signal, in the same
transaction)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from billing.models import Invoice
from payments.models import PayLink, PayLinkRevokeReason


def pay_links_revoke(
    *, invoice: Invoice, reason: str, by: User | None = None, public_id: str | None = None
) -> int:
    """Revoke the invoice's links still active (or only ``public_id``); returns how many.
    A link already revoked keeps its first revocation."""
    links = PayLink.objects.filter(invoice=invoice, revoked_at__isnull=True)
    if public_id is not None:
        links = links.filter(public_id=public_id)
    # One UPDATE: atomic by itself (no savepoint inside the caller's transaction).
    return links.update(revoked_at=timezone.now(), revoked_by=by, revoked_reason=reason)


def revoke_links_of_closed_invoice(sender: Any, *, invoice: Invoice, reason: str, **_: Any) -> None:
    """``invoice_closed`` receiver: a paid or voided invoice's links are revoked."""
    pay_links_revoke(
        invoice=invoice,
        reason=(
            PayLinkRevokeReason.INVOICE_PAID
            if reason == "paid"
            else PayLinkRevokeReason.INVOICE_VOID
        ),
    )
