"""A refund's e-invoice: the adjusting e-invoice (hóa đơn điều chỉnh giảm) that lowers the
invoice's e-invoice when money paid for its services goes back to the patient.

Run by the Celery task ``payments.adjust_einvoice_for_refund``, a subscriber of the outbox
event ``refund.succeeded`` (written in the refund's own transaction): so only after the
refund committed, again after a crash, and harmlessly twice (billing's
``einvoice_on_refund`` makes one adjustment per refund). Billing decides the amount from
what the patient still paid; this module only says which refunds change a sale.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from billing.einvoicing.providers import provider_enabled
from billing.models import EInvoice
from billing.money import format_vnd
from billing.services.einvoices import einvoice_on_refund
from payments.models import PaymentPurpose, Refund, RefundReason, RefundStatus

# Money given back that never paid for a service: the sale, and so its e-invoice, stand.
NOT_A_SALE_CHANGE = frozenset(
    {RefundReason.DUPLICATE, RefundReason.OVERPAYMENT, RefundReason.DEPOSIT_REFUND}
)
# Why, in the e-invoice's words (Viettel's additionalReferenceDesc).
REASONS_VI = {
    RefundReason.SERVICE_NOT_PERFORMED: "dịch vụ không thực hiện",
    RefundReason.INSURANCE_ADJUSTMENT: "điều chỉnh mức hưởng BHYT",
    RefundReason.REQUESTED_BY_PATIENT: "người bệnh yêu cầu",
    RefundReason.OTHER: "lý do khác",
}


def refund_einvoice_adjust(*, refund_id: int) -> EInvoice | None:
    """The adjusting e-invoice for a succeeded refund of an invoice's payment, or None when
    the refund changes no sale (a duplicate payment, an overpayment, an advance) or there is
    nothing to adjust (see ``einvoice_on_refund``). Idempotent."""
    refund = Refund.objects.select_related("payment__invoice").get(pk=refund_id)
    payment = refund.payment
    if (
        refund.status != RefundStatus.SUCCEEDED
        or payment.purpose != PaymentPurpose.INVOICE
        or payment.invoice is None
        or refund.reason in NOT_A_SALE_CHANGE
    ):
        return None
    why = REASONS_VI.get(RefundReason(refund.reason), "lý do khác")
    return einvoice_on_refund(
        invoice=payment.invoice,
        refund_id=refund.pk,
        refund_key=refund.public_id,
        amount=refund.amount,
        reason=f"Hoàn trả {format_vnd(refund.amount)} ({refund.public_id}): {why}",
    )


def refunds_einvoice_sweep(*, limit: int = 200) -> int:
    """Beat: refunds of invoice payments that succeeded between ``RECEIPT_SWEEP_MAX_AGE_HOURS``
    and ``RECEIPT_SWEEP_AFTER_MINUTES`` ago, change a sale and have no adjustment (their
    event's task was lost, or found nothing to adjust): through the same idempotent service.
    Returns how many adjustments it made."""
    if not provider_enabled():
        return 0
    now = timezone.now()
    since = now - timedelta(hours=settings.RECEIPT_SWEEP_MAX_AGE_HOURS)
    until = now - timedelta(minutes=settings.RECEIPT_SWEEP_AFTER_MINUTES)
    adjusted = EInvoice.objects.filter(refund_key=OuterRef("public_id"))
    waiting = (
        Refund.objects.filter(
            status=RefundStatus.SUCCEEDED,
            completed_at__gte=since,
            completed_at__lte=until,
            payment__purpose=PaymentPurpose.INVOICE,
        )
        .exclude(reason__in=NOT_A_SALE_CHANGE)
        .filter(~Exists(adjusted))
        .order_by("completed_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(refund_einvoice_adjust(refund_id=pk) is not None for pk in list(waiting))
