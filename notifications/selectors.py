"""Reading receipts: who may see which, and the non-personal view the public gets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from billing.selectors.einvoices import receipt_einvoice
from billing.selectors.period_close import (
    EXAMPLES,
    WARN,
    PeriodFinding,
    PeriodWindow,
    finding_examples,
)
from config.errors import NotFound
from config.identity.models import Device, DeviceKind
from config.identity.selectors import staff_roles
from notifications.models import SENT_STATUSES, Message, MessageStatus, Receipt, ReceiptKind
from payments.models import CAPTURED_STATUSES, Payment, Refund, RefundStatus
from payments.paylinks import PayLinkPrincipal


def receipt_visible(*, user: Any, public_id: str) -> Receipt:
    """The receipt with this public id (``rcp_…``) if the caller may read it: any staff
    role, the kiosk that took the payment, or the holder of the pay link of the invoice it
    pays. Anything else (an integer key included) is 404, as if it did not exist."""
    receipt = (
        Receipt.objects.select_related("payment", "refund").filter(public_id=public_id).first()
    )
    if receipt is None:
        raise NotFound("No such receipt.", param="id")
    if isinstance(user, PayLinkPrincipal):
        visible = receipt.payment.invoice_id == user.invoice_id
    elif isinstance(user, Device):
        visible = user.kind == DeviceKind.KIOSK and receipt.device_id == user.pk
    else:
        visible = bool(staff_roles(user))
    if not visible:
        raise NotFound("No such receipt.", param="id")
    return receipt


def receipt_by_code(*, code: str) -> Receipt:
    receipt = Receipt.objects.filter(verification_code=code.upper()).first()
    if receipt is None:
        raise NotFound("No receipt has this verification code.", param="code")
    return receipt


def receipt_public_fields(receipt: Receipt) -> dict[str, Any]:
    """What anyone holding the code may see: the document's identity, the seller and the
    amount. Never the buyer, the ID number or the services (medical information)."""
    content = receipt.content
    return {
        "valid": True,
        "kind": receipt.kind,
        "title": content["title"],
        "form": receipt.form,
        "symbol": receipt.symbol,
        "number": f"{receipt.number:08d}",
        "issued_on": content["issued_on"],
        "seller": content["seller"],
        "amount": receipt.amount,
        "currency": receipt.currency,
        "amount_in_words": content["amount_in_words"],
        "payment_method": content["payment"]["method"],
        "reverses": content["reverses"],
        "reversed_by": [r.display_number for r in receipt.reversals.order_by("id")],
        "einvoice": receipt_einvoice_public(receipt),
    }


def receipt_einvoice_public(receipt: Receipt) -> dict[str, str] | None:
    """Where the e-invoice covering a payment receipt's services is looked up, once it is
    issued: the holder of the receipt is the buyer it was issued to."""
    if receipt.kind != ReceiptKind.PAYMENT:
        return None
    found = receipt_einvoice(invoice_id=receipt.payment.invoice_id)
    if found is None:
        return None
    keys = ("form", "symbol", "number", "tax_authority_code", "lookup_code", "lookup_url")
    return {key: found[key] for key in keys}


def public_content(receipt: Receipt) -> dict[str, Any]:
    """The receipt's content with every personal field blanked (for the public PDF)."""
    content = dict(receipt.content)
    content["buyer"] = {"name": "", "citizen_id_masked": "", "patient_code": ""}
    content["invoice"] = {"number": "", "lines": []}
    return content


@dataclass(frozen=True)
class MessageVolume:
    """Messages of one channel created on one local day (Asia/Ho_Chi_Minh)."""

    day: date
    channel: str
    messages: int
    sent: int  # accepted by the provider (delivered and read included)
    delivered: int  # reported on the phone (read included)
    read: int
    failed: int
    fell_back: int  # failed on this channel and replaced by a message on another
    fallbacks: int  # sent on this channel in place of a failed Zalo message


def message_volume(*, since: date, until: date) -> list[MessageVolume]:
    """Messages per day and channel, ``since`` to ``until`` (both included, local days):
    what the admin shows for cost and volume, and what metrics count."""
    local = timezone.get_default_timezone()
    rows = (
        Message.objects.annotate(day=TruncDate("created_at", tzinfo=local))
        .filter(day__gte=since, day__lte=until)
        .values("day", "channel")
        .annotate(
            messages=Count("id"),
            sent=Count("id", filter=Q(status__in=SENT_STATUSES)),
            delivered=Count(
                "id", filter=Q(status__in=[MessageStatus.DELIVERED, MessageStatus.READ])
            ),
            read=Count("id", filter=Q(status=MessageStatus.READ)),
            failed=Count("id", filter=Q(status=MessageStatus.FAILED)),
            fell_back=Count("id", filter=Q(fallback__isnull=False)),
            fallbacks=Count("id", filter=Q(fallback_of__isnull=False)),
        )
        .order_by("day", "channel")
    )
    return [MessageVolume(**row) for row in rows]


def _sweep_window() -> tuple[Any, Any]:
    now = timezone.now()
    return (
        now - timedelta(hours=settings.RECEIPT_SWEEP_MAX_AGE_HOURS),
        now - timedelta(minutes=settings.RECEIPT_SWEEP_AFTER_MINUTES),
    )


def payments_missing_receipt(*, limit: int = 200) -> list[int]:
    """Captured payments that succeeded between ``RECEIPT_SWEEP_MAX_AGE_HOURS`` and
    ``RECEIPT_SWEEP_AFTER_MINUTES`` ago and still have no receipt: their event's task was
    lost (a broker that died with its queue)."""
    since, until = _sweep_window()
    receipt = Receipt.objects.filter(payment=OuterRef("pk"), refund__isnull=True)
    missing = Payment.objects.filter(
        status__in=CAPTURED_STATUSES, succeeded_at__gte=since, succeeded_at__lte=until
    ).filter(~Exists(receipt))
    return list(missing.order_by("succeeded_at", "pk").values_list("pk", flat=True)[:limit])


def refunds_missing_receipt(*, limit: int = 200) -> list[int]:
    """Refunds that succeeded in the same window and have no refund receipt."""
    since, until = _sweep_window()
    receipt = Receipt.objects.filter(refund=OuterRef("pk"))
    missing = Refund.objects.filter(
        status=RefundStatus.SUCCEEDED, completed_at__gte=since, completed_at__lte=until
    ).filter(~Exists(receipt))
    return list(missing.order_by("completed_at", "pk").values_list("pk", flat=True)[:limit])


def receipts_not_issued(window: PeriodWindow) -> list[PeriodFinding]:
    """The close's check ``receipts_not_issued`` (warn): payments captured and refunds paid
    before the month's end that have no receipt (biên lai) yet. Registered with billing's
    period checks in ``NotificationsConfig.ready``."""
    payments = Payment.objects.filter(
        status__in=CAPTURED_STATUSES, succeeded_at__lt=window.ends_at
    ).filter(~Exists(Receipt.objects.filter(payment=OuterRef("pk"), refund__isnull=True)))
    refunds = Refund.objects.filter(
        status=RefundStatus.SUCCEEDED, completed_at__lt=window.ends_at
    ).filter(~Exists(Receipt.objects.filter(refund=OuterRef("pk"))))
    payment_count, refund_count = payments.count(), refunds.count()
    if not payment_count and not refund_count:
        return []
    examples = [
        *finding_examples(payments, "succeeded_at", "pk", field="public_id"),
        *finding_examples(refunds, "completed_at", "pk", field="public_id"),
    ]
    return [
        PeriodFinding(
            code="receipts_not_issued",
            severity=WARN,
            message="Payments or refunds of the month have no receipt issued yet.",
            count=payment_count + refund_count,
            examples=examples[:EXAMPLES],
            detail={"payments": payment_count, "refunds": refund_count},
        )
    ]
