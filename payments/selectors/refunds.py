"""Reading refunds: one by its id, how much of a payment refunds already hold and how much a new
refund may still take, what a cashier refunded today on their own, and the card refunds an
outage left approved."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.contrib.auth.models import User
from django.db.models import QuerySet, Sum
from django.utils import timezone

from billing.selectors.invoices import deposit_balance
from config.errors import NotFound
from payments.models import (
    Payment,
    PaymentMethod,
    PaymentPurpose,
    PaymentStatus,
    PayoutMethod,
    Provider,
    Refund,
    RefundStatus,
)

# A refund holds its amount from its request until it fails, is rejected or canceled.
HOLDING_STATUSES = (
    RefundStatus.REQUESTED,
    RefundStatus.APPROVED,
    RefundStatus.PENDING_PAYOUT,
    RefundStatus.SUCCEEDED,
)


def refund_get(*, public_id: str) -> Refund:
    refund = Refund.objects.select_related("payment").filter(public_id=public_id).first()
    if refund is None:
        raise NotFound("No such refund.", param="id")
    return refund


def refund_payout_methods(*, refund: Refund) -> list[str]:
    """How a refund waiting for its payout may be paid out: cash only for a cash payment (the
    money goes back the way it came: a transfer or card payment is not turned into cash at a
    drawer), a bank transfer for any. None once it is not ``pending_payout``. The payout
    service refuses any other method; the API shows these as the refund's ``actions``."""
    if refund.status != RefundStatus.PENDING_PAYOUT:
        return []
    methods = [PayoutMethod.BANK_TRANSFER.value]
    if refund.payment.method == PaymentMethod.CASH:
        methods.insert(0, PayoutMethod.CASH.value)
    return methods


def refund_held_amount(*, payment: Payment) -> int:
    """What the payment's refunds hold (read it under the payment's row lock, as a new
    refund request does, so two requests cannot both take the rest)."""
    held = Refund.objects.filter(payment=payment, status__in=HOLDING_STATUSES).aggregate(
        total=Sum("amount")
    )
    return int(held["total"] or 0)


# A refund may be asked of these payments only (not before capture, not once all is back).
REFUNDABLE_STATUSES = (PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED)


def payment_refundable_amount(*, payment: Payment) -> int:
    """What a new refund of ``payment`` may still take: 0 unless it is ``succeeded`` or
    ``partially_refunded``; else its amount less what its refunds hold (paid out, and those
    requested, approved or waiting for their payout), and for an advance no more than is
    still held for its encounter (discharge applied the rest to invoices).

    The one place this limit is computed: the refund service checks every request against
    it under the payment's row lock (and, for an advance, the encounter's), and the API
    shows it as a payment's ``refundable_amount``, the desk's default refund."""
    if payment.status not in REFUNDABLE_STATUSES:
        return 0
    refundable = payment.amount - refund_held_amount(payment=payment)
    if payment.purpose == PaymentPurpose.DEPOSIT:
        assert payment.encounter is not None  # an advance is paid on an encounter
        refundable = min(refundable, deposit_balance(encounter=payment.encounter))
    return max(refundable, 0)


def refunds_unapproved_today(*, requester: User) -> int:
    """What ``requester`` asked to refund since local midnight and no supervisor approved
    (went through under the thresholds), still holding its amount."""
    midnight = timezone.make_aware(datetime.combine(timezone.localdate(), time.min))
    total = Refund.objects.filter(
        requested_by=requester,
        created_at__gte=midnight,
        decided_by__isnull=True,
        status__in=(RefundStatus.APPROVED, RefundStatus.PENDING_PAYOUT, RefundStatus.SUCCEEDED),
    ).aggregate(total=Sum("amount"))
    return int(total["total"] or 0)


def refunds_stuck_approved(*, older_than_minutes: int = 5, limit: int = 100) -> QuerySet[Refund]:
    """Card refunds still ``approved`` (Stripe could not be reached) after
    ``older_than_minutes``, oldest first."""
    cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
    stuck = Refund.objects.select_related("payment").filter(
        status=RefundStatus.APPROVED, payment__provider=Provider.STRIPE, created_at__lt=cutoff
    )
    return stuck.order_by("created_at")[:limit]


def refunds_awaiting_approval() -> QuerySet[Refund]:
    """Refunds waiting for a supervisor's decision, oldest first."""
    return (
        Refund.objects.select_related("payment", "requested_by", "decided_by", "cashier_session")
        .filter(status=RefundStatus.REQUESTED)
        .order_by("created_at", "id")
    )


def refunds_listed() -> QuerySet[Refund]:
    """Refunds as the desk lists them, oldest first, with what their rows show."""
    return Refund.objects.select_related(
        "payment", "requested_by", "decided_by", "cashier_session"
    ).order_by("created_at", "id")


def refunds_of_payment(*, payment: Payment) -> QuerySet[Refund]:
    """A payment's refunds in every status, oldest first."""
    return refunds_listed().filter(payment=payment)
