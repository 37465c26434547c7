"""payments' checks of a month's close (registered with billing's
:func:`~billing.selectors.period_close.period_check_register` in ``PaymentsConfig.ready``).

* ``cashier_sessions_open`` (block): a drawer opened before the month's end is not counted
  and closed (open, handed over and not yet accepted, or a variance waiting for a
  supervisor): its cash, its over/short are not final.
* ``cash_transfers_pending`` (block): cash sent between drawers and the safe before the
  month's end that nobody has counted in yet (it sits in the transfer account).
* ``reconciliation_items_open`` (warn): reconciliation items expected on or before the
  month's last day still expected, missing, unexpected or found with another amount.
* ``statement_lines_unmatched`` (warn): bank statement lines booked on or before the
  month's last day that the matcher has not looked at yet.
* ``card_captures_unsettled`` (warn): card captures made before the month's end that no
  settled Stripe payout has taken yet (their money is still in Stripe clearing).
* ``vietqr_captures_unmatched`` (warn): VietQR captures made before the month's end that the
  bank statement has not shown yet (still in VietQR clearing: their item is not matched,
  matched by hand or written off).
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Sum

from billing.selectors.period_close import (
    BLOCK,
    WARN,
    PeriodFinding,
    PeriodWindow,
    count_by,
    finding_for,
)
from payments.models import (
    OPEN_RECON_STATUSES,
    SETTLED_RECON_STATUSES,
    CashierSession,
    CashierSessionStatus,
    CashTransfer,
    CashTransferStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
    PayoutStatus,
    Provider,
    ReconItem,
    StatementLine,
    StripeBalanceLine,
)


def cashier_sessions_open(window: PeriodWindow) -> list[PeriodFinding]:
    sessions = CashierSession.objects.filter(opened_at__lt=window.ends_at).exclude(
        status=CashierSessionStatus.CLOSED
    )
    return finding_for(
        sessions,
        code="cashier_sessions_open",
        severity=BLOCK,
        message="Cashier sessions opened before the end of the month are not closed.",
        order=("opened_at", "pk"),
        example_field="public_id",
        summed=False,
        detail=lambda rows: {"by_status": count_by(rows, "status")},
    )


def cash_transfers_pending(window: PeriodWindow) -> list[PeriodFinding]:
    transfers = CashTransfer.objects.filter(
        created_at__lt=window.ends_at, status=CashTransferStatus.PENDING
    )
    return finding_for(
        transfers,
        code="cash_transfers_pending",
        severity=BLOCK,
        message="Cash sent between desks or the safe before the end of the month is not "
        "counted in yet.",
        order=("created_at", "pk"),
        example_field="public_id",
    )


def reconciliation_open(window: PeriodWindow) -> list[PeriodFinding]:
    last_day = (window.ends_at - timedelta(microseconds=1)).date()
    items = ReconItem.objects.filter(status__in=OPEN_RECON_STATUSES, expected_on__lte=last_day)
    lines = StatementLine.objects.filter(booked_on__lte=last_day, recon_item__isnull=True)
    return [
        *finding_for(
            items,
            code="reconciliation_items_open",
            severity=WARN,
            message="Reconciliation items of the month (or before) are not matched, matched "
            "by hand or written off.",
            order=("expected_on", "pk"),
            detail=lambda rows: {
                "by_status": count_by(rows, "status"),
                "by_kind": count_by(rows, "kind"),
            },
        ),
        *finding_for(
            lines,
            code="statement_lines_unmatched",
            severity=WARN,
            message="Bank statement lines booked in the month (or before) have not been "
            "through the matcher yet.",
            order=("booked_on", "pk"),
            summed=False,
            detail=lambda rows: {
                "amount_by_direction": dict(
                    rows.values_list("direction").annotate(total=Sum("amount")).order_by()
                )
            },
        ),
    ]


CAPTURED = (PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED)


def captures_in_clearing(window: PeriodWindow) -> list[PeriodFinding]:
    captured = Payment.objects.filter(succeeded_at__lt=window.ends_at, status__in=CAPTURED)
    card = captured.filter(provider=Provider.STRIPE).exclude(
        pk__in=StripeBalanceLine.objects.filter(
            payout__status=PayoutStatus.SETTLED, payment__isnull=False
        ).values("payment_id")
    )
    vietqr = captured.filter(method=PaymentMethod.VIETQR).exclude(
        public_id__in=ReconItem.objects.filter(
            source_type="payment", status__in=SETTLED_RECON_STATUSES
        ).values("source_id")
    )
    rails = (
        (
            card,
            "card_captures_unsettled",
            "Card captures of the month (or before) are still in Stripe clearing: no settled "
            "Stripe payout has taken them yet.",
        ),
        (
            vietqr,
            "vietqr_captures_unmatched",
            "VietQR captures of the month (or before) are still in VietQR clearing: the bank "
            "statement has not shown them yet.",
        ),
    )
    findings: list[PeriodFinding] = []
    for captures, code, message in rails:
        findings += finding_for(
            captures,
            code=code,
            severity=WARN,
            message=message,
            order=("succeeded_at", "pk"),
            example_field="public_id",
        )
    return findings


CHECKS = (
    cashier_sessions_open,
    cash_transfers_pending,
    reconciliation_open,
    captures_in_clearing,
)
