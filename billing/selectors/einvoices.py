"""Reading e-invoices: an invoice's e-invoice with where to look it up, and the ones that
need a person (refused, stuck, waiting for a replacement)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from billing.einvoicing.providers import PROVIDER_NAMES
from billing.models import EInvoice, EInvoiceKind, EInvoiceStatus
from config.compiled import CompiledQuery

_LIVE = (EInvoiceStatus.PENDING, EInvoiceStatus.SENDING, EInvoiceStatus.ISSUED)


# Compiled once per connection: every payment receipt's PDF looks its e-invoice up.
_OWN_EINVOICE = CompiledQuery(
    lambda invoice_id: (
        EInvoice.objects.filter(invoice_id=invoice_id)
        .exclude(kind=EInvoiceKind.ADJUSTMENT)
        .select_related("original")[:1]
    ),
    invoice_id=int,
)


def einvoice_of_invoice(*, invoice_id: int) -> EInvoice | None:
    """The invoice's own e-invoice (its original, or the replacement of a voided one)."""
    return _OWN_EINVOICE.first(invoice_id=invoice_id)


def einvoice_form(einvoice: EInvoice) -> str:
    """The form number (mẫu số) the template code starts with: ``2`` of ``2/001``."""
    return einvoice.template_code.partition("/")[0]


def einvoice_lookup(einvoice: EInvoice) -> dict[str, Any]:
    """What a buyer needs to find the e-invoice, and its state."""
    issued = einvoice.status == EInvoiceStatus.ISSUED
    refused = einvoice.status == EInvoiceStatus.REFUSED
    return {
        "id": einvoice.public_id,
        "kind": einvoice.kind,
        "state": einvoice.status,
        "provider": einvoice.provider,
        "form": einvoice_form(einvoice) if issued else "",
        "template_code": einvoice.template_code,
        "symbol": einvoice.symbol,
        "number": einvoice.number,
        "tax_authority_code": einvoice.tax_authority_code,
        "lookup_code": einvoice.lookup_code,
        "lookup_url": settings.EINVOICE_LOOKUP_URL if issued else "",
        "issued_at": einvoice.issued_at,
        "attempts": einvoice.attempts,
        "error_code": einvoice.error_code if refused else "",
        "error_message": einvoice.last_error if refused else "",
        "replaces": _number(einvoice.original) if einvoice.original else "",
    }


def _number(einvoice: EInvoice) -> str:
    return f"{einvoice.symbol}-{einvoice.number}" if einvoice.number else ""


def invoice_einvoice(*, invoice_id: int) -> dict[str, Any] | None:
    """An invoice's e-invoice with its corrections (adjustments), or ``None``."""
    own = einvoice_of_invoice(invoice_id=invoice_id)
    if own is None:
        return None
    view = einvoice_lookup(own)
    view["corrections"] = [
        einvoice_lookup(correction) for correction in own.corrections.order_by("id")
    ]
    return view


def issued_einvoice(*, invoice_id: int) -> dict[str, Any] | None:
    """An invoice's issued e-invoice as a buyer looks it up — the provider's name, and the
    issued corrections (adjustments) that changed it — or ``None`` before it is issued."""
    own = einvoice_of_invoice(invoice_id=invoice_id)
    if own is None or own.status != EInvoiceStatus.ISSUED:
        return None
    view = einvoice_lookup(own)
    view["provider_name"] = PROVIDER_NAMES.get(own.provider, own.provider)
    view["corrections"] = [
        einvoice_lookup(correction)
        for correction in own.corrections.filter(status=EInvoiceStatus.ISSUED).order_by("id")
    ]
    return view


def receipt_einvoice(*, invoice_id: int | None) -> dict[str, Any] | None:
    """The lookup data a receipt of this invoice prints, once its e-invoice is issued."""
    if invoice_id is None:
        return None
    own = einvoice_of_invoice(invoice_id=invoice_id)
    if own is None or own.status != EInvoiceStatus.ISSUED:
        return None
    return einvoice_lookup(own)


def einvoices_needing_attention(*, stuck_after_minutes: int = 30) -> QuerySet[EInvoice]:
    """Refused by the provider; waiting or being sent for longer than
    ``stuck_after_minutes``; or issued for an invoice since voided and not corrected yet
    (waiting for the visit's next invoice to replace it)."""
    stale = timezone.now() - timedelta(minutes=stuck_after_minutes)
    corrected = EInvoice.objects.filter(original=OuterRef("pk"), status__in=_LIVE)
    return (
        EInvoice.objects.annotate(corrected=Exists(corrected))
        .filter(
            Q(status=EInvoiceStatus.REFUSED)
            | Q(status__in=[EInvoiceStatus.PENDING, EInvoiceStatus.SENDING], created_at__lt=stale)
            | Q(
                status=EInvoiceStatus.ISSUED,
                invoice__voided_at__isnull=False,
                corrected=False,
            )
            & ~Q(kind=EInvoiceKind.ADJUSTMENT)
        )
        .select_related("invoice")
        .order_by("id")
    )
