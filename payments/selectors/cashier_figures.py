"""A session's cash, read two independent ways: from the session's own records (payments,
refunds, payouts, transfers) and from the ledger (the drawer account's lines that carry the
session's reference). The blind close uses the records; the Z-report shows both and a test
checks they agree."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from billing.models import JournalLine
from payments.models import (
    CAPTURED_STATUSES,
    CashierSession,
    CashTransfer,
    CashTransferStatus,
    Payment,
    PaymentMethod,
    PayoutMethod,
    Refund,
    RefundOwedPayout,
    RefundStatus,
)

# Entries that settle a counted session (variance, cash to the safe, handover): left out of
# "what the drawer should hold".
CLOSING_SOURCE = "cashier_close"


def _sum(queryset: QuerySet, field: str = "amount") -> int:
    return int(queryset.aggregate(total=Coalesce(Sum(field), 0))["total"])


@dataclass(frozen=True, slots=True)
class CashFigures:
    opening_float: int
    cash_taken: int  # cash payments (what stayed in the drawer: tendered less change)
    cash_tendered: int
    change_given: int
    cash_refunds: int
    refund_owed_paid: int
    transfers_in: int  # counted in by this drawer
    # Sent from this drawer: in transit in full, confirmed for what the receiver counted (a
    # difference is back on this drawer's books, so its count shows it)
    transfers_out: int

    @property
    def expected(self) -> int:
        """float + cash in - change - cash refunds - cash paid out +/- transfers."""
        return (
            self.opening_float
            + self.cash_tendered
            - self.change_given
            - self.cash_refunds
            - self.refund_owed_paid
            + self.transfers_in
            - self.transfers_out
        )


def captured_payments(session: CashierSession) -> QuerySet[Payment]:
    return Payment.objects.filter(cashier_session=session, status__in=CAPTURED_STATUSES)


def session_cash_figures(*, session: CashierSession) -> CashFigures:
    """The drawer's cash by the session's records. Read it under the session's row lock
    (every cash movement of the session takes that lock) for a figure nothing changes."""
    cash = captured_payments(session).filter(method=PaymentMethod.CASH)
    return CashFigures(
        opening_float=session.opening_float,
        cash_taken=_sum(cash),
        cash_tendered=_sum(cash, "tendered"),
        change_given=_sum(cash, "change_given"),
        cash_refunds=_sum(
            Refund.objects.filter(
                cashier_session=session,
                status=RefundStatus.SUCCEEDED,
                payout_method=PayoutMethod.CASH,
            )
        ),
        refund_owed_paid=_sum(
            RefundOwedPayout.objects.filter(cashier_session=session, method=PayoutMethod.CASH)
        ),
        transfers_in=_sum(_transfers(to_session=session, confirmed=True), "counted_amount"),
        transfers_out=_sum(_transfers(from_session=session, confirmed=False))
        + _sum(_transfers(from_session=session, confirmed=True), "counted_amount"),
    )


def _transfers(*, confirmed: bool, **side: CashierSession) -> QuerySet[CashTransfer]:
    status = CashTransferStatus.CONFIRMED if confirmed else CashTransferStatus.PENDING
    return CashTransfer.objects.filter(status=status, **side)


def transfer_ids_pending(*, session: CashierSession) -> list[str]:
    """The session's transfers still in transit, out or in (public ids)."""
    pending = CashTransfer.objects.filter(
        Q(from_session=session) | Q(to_session=session), status=CashTransferStatus.PENDING
    )
    return list(pending.order_by("pk").values_list("public_id", flat=True))


def session_expected_cash(*, session: CashierSession) -> int:
    return session_cash_figures(session=session).expected


def _drawer_lines(session: CashierSession) -> QuerySet[JournalLine]:
    return JournalLine.objects.filter(
        account_id=session.terminal.cash_account_id, reference=session.ledger_reference
    )


def ledger_drawer_expected(*, session: CashierSession) -> int:
    """The drawer's cash for the session by the ledger, before the count settled it."""
    lines = _drawer_lines(session).exclude(
        Q(entry__source_type=CLOSING_SOURCE) & Q(entry__source_id=session.public_id)
    )
    totals = lines.aggregate(d=Coalesce(Sum("debit"), 0), c=Coalesce(Sum("credit"), 0))
    return int(totals["d"] - totals["c"])


def ledger_drawer_balance(*, session: CashierSession) -> int:
    """Everything on the session's drawer sub-ledger: 0 once the session is settled."""
    totals = _drawer_lines(session).aggregate(
        d=Coalesce(Sum("debit"), 0), c=Coalesce(Sum("credit"), 0)
    )
    return int(totals["d"] - totals["c"])
