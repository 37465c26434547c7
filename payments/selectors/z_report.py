"""The Z-report of a session and of a terminal's day, every figure read from the session's
records and again from the ledger; ``agrees`` says whether the two readings match.

Net takings are payments taken less refunds given back (refunds of payments, and advances
left over at discharge paid back): a refund lowers them by exactly its amount (never with the wrong
sign)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing.chart import AccountRole, account_for
from billing.models import JournalEntry, JournalLine
from payments.models import (
    COUNTED_SESSION_STATUSES,
    CashierSession,
    CashTransfer,
    CashTransferStatus,
    Payment,
    PaymentMethod,
    PaymentPurpose,
    Refund,
    RefundOwedPayout,
    RefundStatus,
    Terminal,
)
from payments.selectors.cashier_figures import (
    CLOSING_SOURCE,
    CashFigures,
    captured_payments,
    ledger_drawer_balance,
    ledger_drawer_expected,
    session_cash_figures,
)

METHODS = (PaymentMethod.CASH, PaymentMethod.CARD_PRESENT, PaymentMethod.VIETQR)


def _by_method(rows: list[tuple[str, int]]) -> dict[str, dict[str, int]]:
    totals = {method.value: {"count": 0, "amount": 0} for method in METHODS}
    for method, amount in rows:
        bucket = totals.setdefault(method, {"count": 0, "amount": 0})
        bucket["count"] += 1
        bucket["amount"] += amount
    return totals


def _entry_debits(keys: dict[str, str]) -> dict[str, int]:
    """Debit total of each entry whose posting key is in ``keys`` (key → label), by label."""
    rows = (
        JournalEntry.objects.filter(posting_key__in=list(keys))
        .values("posting_key")
        .annotate(total=Coalesce(Sum("lines__debit"), 0))
    )
    out: dict[str, int] = defaultdict(int)
    for row in rows:
        out[keys[row["posting_key"]]] += int(row["total"])
    return dict(out)


def _capture_key(payment: Any) -> str:
    if payment.purpose == PaymentPurpose.DEPOSIT:
        return f"deposit:payment:{payment.public_id}"
    return payment.captured_posting_key


def _ledger_over_short(session: CashierSession) -> int:
    """Counted less expected by the ledger: what the close credited to the cash overage
    account less what it debited to the cash shortage account."""
    totals = JournalLine.objects.filter(
        account__code__in=[
            account_for(AccountRole.CASH_OVERAGE),
            account_for(AccountRole.CASH_SHORTAGE),
        ],
        entry__source_type=CLOSING_SOURCE,
        entry__source_id=session.public_id,
    ).aggregate(d=Coalesce(Sum("debit"), 0), c=Coalesce(Sum("credit"), 0))
    return int(totals["c"] - totals["d"])


def _user(user: Any) -> str | None:
    return user.username if user is not None else None


@dataclass(frozen=True, slots=True)
class _Records:
    """What a session's report is read from: its own records, once."""

    session: CashierSession
    payments: list[Payment]
    refunds: list[Refund]
    owed: list[RefundOwedPayout]
    figures: CashFigures
    counted: bool

    @classmethod
    def of(cls, session: CashierSession) -> _Records:
        session = CashierSession.objects.select_related(
            "terminal__cash_account", "cashier", "approved_by", "counted_by", "handover_receiver"
        ).get(pk=session.pk)
        return cls(
            session=session,
            payments=list(captured_payments(session)),
            refunds=list(
                Refund.objects.filter(cashier_session=session, status=RefundStatus.SUCCEEDED)
                .select_related("payment")
                .order_by("pk")
            ),
            owed=list(RefundOwedPayout.objects.filter(cashier_session=session).order_by("pk")),
            figures=session_cash_figures(session=session),
            counted=session.status in COUNTED_SESSION_STATUSES,
        )

    @property
    def refunds_total(self) -> int:
        return sum(r.amount for r in self.refunds) + sum(o.amount for o in self.owed)


def _session_section(session: CashierSession) -> dict[str, Any]:
    """Who, where, when: the session's identity and its people."""
    return {
        "id": session.public_id,
        "terminal": session.terminal.code,
        "terminal_name": session.terminal.name,
        "cashier": session.cashier.username,
        "status": session.status,
        "opened_at": timezone.localtime(session.opened_at).isoformat(),
        "closed_at": (
            timezone.localtime(session.closed_at).isoformat() if session.closed_at else None
        ),
        "counted_by": _user(session.counted_by),
        "approved_by": _user(session.approved_by),
        "handed_over_from": (
            session.handed_over_from.public_id if session.handed_over_from else None
        ),
        "handed_over_to": _user(session.handover_receiver),
    }


def _takings_section(records: _Records) -> dict[str, Any]:
    """Payments taken, by method; cash tendered and change given; advances taken."""
    deposits = [p for p in records.payments if p.purpose == PaymentPurpose.DEPOSIT]
    return {
        "payments_by_method": _by_method([(p.method, p.amount) for p in records.payments]),
        "cash_tendered": records.figures.cash_tendered,
        "change_given": records.figures.change_given,
        "deposits_taken": {"count": len(deposits), "amount": sum(p.amount for p in deposits)},
    }


def _refunds_section(records: _Records) -> dict[str, Any]:
    """Money given back: refunds by the paid method, advances left over paid back."""
    owed = records.owed
    deposit_refunds = [r for r in records.refunds if r.payment.purpose == PaymentPurpose.DEPOSIT]
    return {
        "deposits_refunded": {
            "count": len(deposit_refunds) + len(owed),
            "amount": sum(r.amount for r in deposit_refunds) + sum(o.amount for o in owed),
        },
        "refunds_by_method": _by_method([(r.payment.method, r.amount) for r in records.refunds]),
        "refunds_owed_paid": _by_method([(o.method, o.amount) for o in owed]),
        "cash_refunds": records.figures.cash_refunds + records.figures.refund_owed_paid,
    }


def _other_side(transfer: CashTransfer, session: CashierSession) -> str:
    other = transfer.to_session if transfer.from_session_id == session.pk else transfer.from_session
    return other.public_id if other is not None else "safe"


def _transfers_section(session: CashierSession, figures: CashFigures) -> dict[str, Any]:
    """Cash moved in and out, with what is still in transit (in neither drawer's expected
    cash) and each transfer: sent, counted in, and by whom."""
    transfers = list(
        CashTransfer.objects.filter(Q(from_session=session) | Q(to_session=session))
        .exclude(status=CashTransferStatus.CANCELED)
        .select_related("from_session", "to_session", "decided_by")
        .order_by("created_at", "pk")
    )
    pending = [t for t in transfers if t.status == CashTransferStatus.PENDING]
    return {
        "in": figures.transfers_in,
        "out": figures.transfers_out,
        "count": len(transfers),
        "in_transit_out": sum(t.amount for t in pending if t.from_session_id == session.pk),
        "in_transit_in": sum(t.amount for t in pending if t.to_session_id == session.pk),
        "items": [
            {
                "id": t.public_id,
                "direction": "out" if t.from_session_id == session.pk else "in",
                "other_side": _other_side(t, session),
                "status": t.status,
                "amount": t.amount,
                "counted": t.counted_amount,
                "decided_by": str(t.decided_by) if t.decided_by else None,
            }
            for t in transfers
        ],
    }


def _drawer_section(records: _Records) -> dict[str, Any]:
    """Transfers, the takings' totals, and the count against what was expected (shown only
    once the drawer is counted: the close is blind)."""
    session, figures = records.session, records.figures
    gross = sum(p.amount for p in records.payments)
    return {
        "transfers": _transfers_section(session, figures),
        "gross_takings": gross,
        "refunds_total": records.refunds_total,
        "net_takings": gross - records.refunds_total,
        "expected_cash": figures.expected if records.counted else None,
        "counted_cash": session.counted_cash,
        "closing_count": session.closing_count,
        "handover_counted_cash": session.handover_counted_cash,
        "variance": session.variance,
    }


def _ledger_section(records: _Records, methods: Iterable[str]) -> dict[str, Any]:
    """The same figures read from the journal instead of the session's records."""
    session, counted = records.session, records.counted
    taken = _entry_debits({_capture_key(p): p.method for p in records.payments})
    refunds = _entry_debits(
        {f"refund:{r.public_id}": "r" for r in records.refunds}
        | {f"refund_owed_payout:{o.public_id}": "r" for o in records.owed}
    )
    return {
        "takings_by_method": {m: taken.get(m, 0) for m in methods},
        "refunds": sum(refunds.values()),
        "drawer_expected": ledger_drawer_expected(session=session),
        "over_short": _ledger_over_short(session) if counted else None,
        "drawer_balance_after_close": ledger_drawer_balance(session=session) if counted else None,
    }


def _agrees(records: _Records, report: dict[str, Any]) -> bool:
    """The records and the ledger tell the same story."""
    session, expected, ledger = records.session, records.figures.expected, report["ledger"]
    taken = report["payments_by_method"]
    return (
        all(ledger["takings_by_method"][m] == taken[m]["amount"] for m in taken)
        and ledger["refunds"] == records.refunds_total
        and ledger["drawer_expected"] == expected
        and (not records.counted or (ledger["over_short"] == session.variance))
        and (not records.counted or ledger["drawer_balance_after_close"] == 0)
        and (not records.counted or session.expected_cash == expected)
    )


def session_report(*, session: CashierSession) -> dict[str, Any]:
    """The Z-report of one session (JSON-ready). Expected cash and variance are shown only
    once the drawer is counted; call it for a counted session (the API refuses others)."""
    records = _Records.of(session)
    session = records.session
    report: dict[str, Any] = {
        "hospital": settings.HOSPITAL_NAME,
        "session": _session_section(session),
        "currency": session.currency,
        "opening_float": session.opening_float,
        "opening_count": session.opening_count,
        **_takings_section(records),
        **_refunds_section(records),
        **_drawer_section(records),
    }
    report["ledger"] = _ledger_section(records, report["payments_by_method"])
    report["agrees"] = _agrees(records, report)
    return report


SUMMED = (
    "opening_float",
    "cash_tendered",
    "change_given",
    "cash_refunds",
    "gross_takings",
    "refunds_total",
    "net_takings",
    "expected_cash",
    "counted_cash",
    "variance",
)


def _add_nested(total: dict[str, Any], part: dict[str, Any]) -> None:
    for key, value in part.items():
        if isinstance(value, dict):
            _add_nested(total.setdefault(key, {}), value)
        elif isinstance(value, int):
            total[key] = total.get(key, 0) + value


def _in_transit(sessions: list[CashierSession]) -> list[dict[str, Any]]:
    """Cash sent from or to the day's sessions and not counted in yet (in neither drawer)."""
    pending = (
        CashTransfer.objects.filter(
            Q(from_session__in=sessions) | Q(to_session__in=sessions),
            status=CashTransferStatus.PENDING,
        )
        .select_related("from_session", "to_session", "created_by")
        .order_by("created_at", "pk")
    )
    return [
        {
            "id": t.public_id,
            "from": t.from_session.public_id if t.from_session else "safe",
            "to": t.to_session.public_id if t.to_session else "safe",
            "amount": t.amount,
            "created_by": str(t.created_by),
        }
        for t in pending
    ]


def terminal_day_report(*, terminal: Terminal, day: date) -> dict[str, Any]:
    """The Z-report of one terminal's day (sessions opened that local day): the counted
    sessions summed, each session's report, and the sessions still open (not counted)."""
    sessions = list(
        CashierSession.objects.filter(terminal=terminal, opened_at__date=day).order_by(
            "opened_at", "pk"
        )
    )
    reports = [session_report(session=s) for s in sessions if s.status in COUNTED_SESSION_STATUSES]
    totals: dict[str, Any] = {key: 0 for key in SUMMED}
    for report in reports:
        for key in SUMMED:
            totals[key] += report[key] or 0
        for key in ("payments_by_method", "refunds_by_method", "refunds_owed_paid"):
            _add_nested(totals.setdefault(key, {}), report[key])
        for key in ("deposits_taken", "deposits_refunded", "transfers"):
            _add_nested(totals.setdefault(key, {}), report[key])
    return {
        "hospital": settings.HOSPITAL_NAME,
        "terminal": terminal.code,
        "terminal_name": terminal.name,
        "date": day.isoformat(),
        "currency": settings.HOSPITAL_CURRENCY,
        "totals": totals,
        "sessions": reports,
        "still_open": [s.public_id for s in sessions if s.status not in COUNTED_SESSION_STATUSES],
        "in_transit": _in_transit(sessions),
        "agrees": all(report["agrees"] for report in reports),
    }
