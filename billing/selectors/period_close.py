"""What stands in the way of closing a month: the checks of the close's dry run.

A check is a callable ``check(window) -> Iterable[PeriodFinding]``; each finding has a
machine-readable ``code`` and a severity: ``block`` (the month cannot close while it holds:
the books of the month are not final) or ``warn`` (finance closes knowing it). billing runs
its own checks (the trial balance, the suspense account, e-invoices not issued, the month
before still open); apps above billing add theirs with :func:`period_check_register` from
their ``AppConfig.ready`` (payments: cashier sessions, cash in transit, reconciliation;
notifications: receipts not issued), since billing may not import them.

Writing a check (the contract for other apps):

* it takes a :class:`PeriodWindow` (``month``, ``starts_at`` inclusive, ``ends_at``
  exclusive, aware, in the hospital's time zone) and returns findings — none when all is
  well;
* it only reads (it runs in the dry run and again inside the close's transaction);
* a ``code`` names one condition for good (clients switch on it); ``count`` and ``amount``
  say how much; ``examples`` lists at most :data:`EXAMPLES` ids (never personal data).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing.chart import AccountRole, account_for
from billing.models import (
    Account,
    EInvoice,
    EInvoiceStatus,
    JournalLine,
    LedgerPeriod,
    PeriodStatus,
)
from billing.selectors.ledger import TrialBalanceRow, trial_balance

BLOCK = "block"
WARN = "warn"
# How many ids a finding lists as examples.
EXAMPLES = 20


@dataclass(frozen=True, slots=True)
class PeriodWindow:
    month: date  # the first day
    starts_at: datetime
    ends_at: datetime  # exclusive


@dataclass(frozen=True, slots=True)
class PeriodFinding:
    code: str
    severity: str  # BLOCK or WARN
    message: str
    count: int = 0
    amount: int | None = None
    currency: str = ""
    examples: list[str] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)


def period_bounds(month: date) -> tuple[datetime, datetime]:
    """The month's first and next month's first instant, in the hospital's time zone."""
    tz = ZoneInfo(settings.TIME_ZONE)
    first = month.replace(day=1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return (
        datetime.combine(first, time.min, tzinfo=tz),
        datetime.combine(following, time.min, tzinfo=tz),
    )


def period_window(month: date) -> PeriodWindow:
    """The month of ``month`` as the close's checks see it."""
    starts_at, ends_at = period_bounds(month)
    return PeriodWindow(month=starts_at.date(), starts_at=starts_at, ends_at=ends_at)


def _username(user: Any) -> str | None:
    return user.get_username() if user is not None else None


def period_state(*, month: date) -> dict[str, Any]:
    """A month of the books: its status (``open`` when nobody asked to close it), bounds,
    who asked, approved and reopened, and its history."""
    window = period_window(month)
    period = (
        LedgerPeriod.objects.select_related("requested_by", "approved_by", "reopened_by")
        .filter(month=window.month)
        .first()
    )
    return {
        "month": f"{window.month:%Y-%m}",
        "status": period.status if period else "open",
        "starts_at": window.starts_at,
        "ends_at": window.ends_at,
        "requested_by": _username(period.requested_by) if period else None,
        "approved_by": _username(period.approved_by) if period else None,
        "closed_at": period.closed_at if period else None,
        "reopened_by": _username(period.reopened_by) if period else None,
        "reopened_at": period.reopened_at if period else None,
        "reopen_reason": period.reopen_reason if period else "",
        "history": list(period.events.select_related("by")) if period else [],
    }


def finding_examples(queryset: QuerySet[Any], *order: str, field: str = "pk") -> list[str]:
    """The first :data:`EXAMPLES` values of ``field`` (an id, never personal data) in
    ``order``, as text: a finding's ``examples``."""
    values = queryset.order_by(*order).values_list(field, flat=True)[:EXAMPLES]
    return [str(value) for value in values]


def count_by(queryset: QuerySet[Any], field: str) -> dict[str, int]:
    """How many rows of ``queryset`` per value of ``field`` (a finding's ``detail``)."""
    return dict(queryset.values_list(field).annotate(n=Count("pk")).order_by())


def finding_for(
    queryset: QuerySet[Any],
    *,
    code: str,
    severity: str,
    message: str,
    order: tuple[str, ...],
    example_field: str = "pk",
    summed: bool = True,
    detail: Callable[[QuerySet[Any]], dict[str, Any]] | None = None,
) -> list[PeriodFinding]:
    """One finding about the rows of ``queryset`` (none when there are none): their count,
    the sum of their ``amount`` and ``currency`` when ``summed``, the first examples in
    ``order`` and ``detail(queryset)``."""
    count = queryset.count()
    if not count:
        return []
    amount, currency = None, ""
    if summed:
        amount = queryset.aggregate(total=Sum("amount"))["total"]
        currency = queryset.values_list("currency", flat=True).first() or ""
    return [
        PeriodFinding(
            code=code,
            severity=severity,
            message=message,
            count=count,
            amount=amount,
            currency=currency,
            examples=finding_examples(queryset, *order, field=example_field),
            detail=detail(queryset) if detail else {},
        )
    ]


PeriodCheck = Callable[[PeriodWindow], Iterable[PeriodFinding]]

# The checks apps above billing add (in their AppConfig.ready), run after billing's own.
PERIOD_CLOSE_CHECKS: list[PeriodCheck] = []


def period_check_register(check: PeriodCheck) -> None:
    """Add ``check`` to every close's dry run and to the close itself (once, however often
    ``ready`` runs)."""
    if check not in PERIOD_CLOSE_CHECKS:
        PERIOD_CLOSE_CHECKS.append(check)


@dataclass(frozen=True, slots=True)
class PeriodCloseReport:
    window: PeriodWindow
    trial_balance: list[TrialBalanceRow]
    totals: dict[str, dict[str, int]]
    balanced: bool
    findings: list[PeriodFinding]

    @property
    def blocking(self) -> list[PeriodFinding]:
        return [f for f in self.findings if f.severity == BLOCK]

    @property
    def can_close(self) -> bool:
        return not self.blocking


def _last_instant(window: PeriodWindow) -> datetime:
    # trial_balance counts entries posted at or before ``as_of``; the window ends exclusive.
    return window.ends_at - timedelta(microseconds=1)


def _totals(rows: list[TrialBalanceRow]) -> dict[str, dict[str, int]]:
    totals: dict[str, dict[str, int]] = {}
    for row in rows:
        currency_totals = totals.setdefault(row.currency, {"debit": 0, "credit": 0})
        currency_totals["debit"] += row.debit_balance
        currency_totals["credit"] += row.credit_balance
    return totals


def _trial_balance_check(totals: dict[str, dict[str, int]]) -> list[PeriodFinding]:
    unbalanced = {
        c: t["debit"] - t["credit"] for c, t in totals.items() if t["debit"] != t["credit"]
    }
    if not unbalanced:
        return []
    return [
        PeriodFinding(
            code="trial_balance_unbalanced",
            severity=BLOCK,
            message="Debit balances do not equal credit balances at the end of the month.",
            count=len(unbalanced),
            detail={"difference_by_currency": unbalanced},
        )
    ]


def _suspense_check(window: PeriodWindow) -> list[PeriodFinding]:
    account = Account.objects.filter(code=account_for(AccountRole.SUSPENSE)).first()
    if account is None:
        return []
    lines = JournalLine.objects.filter(account=account, entry__posted_at__lt=window.ends_at)
    totals = lines.aggregate(debit=Coalesce(Sum("debit"), 0), credit=Coalesce(Sum("credit"), 0))
    balance = totals["credit"] - totals["debit"]
    if balance == 0:
        return []
    return [
        PeriodFinding(
            code="suspense_balance",
            severity=WARN,
            message=(
                f"The suspense account {account.code} holds money nobody has explained yet "
                "at the end of the month (a credit balance is positive)."
            ),
            count=1,
            amount=balance,
            currency=account.currency,
            detail={"account": account.code},
        )
    ]


def _einvoice_check(window: PeriodWindow) -> list[PeriodFinding]:
    waiting = EInvoice.objects.filter(
        invoice__issued_at__lt=window.ends_at,
        status__in=(EInvoiceStatus.PENDING, EInvoiceStatus.SENDING, EInvoiceStatus.REFUSED),
    )
    return finding_for(
        waiting,
        code="einvoices_not_issued",
        severity=WARN,
        message="E-invoices of invoices issued by the end of the month are not issued yet.",
        order=("id",),
        example_field="invoice_id",
        summed=False,
        detail=lambda rows: {"by_status": count_by(rows, "status")},
    )


def _previous_month_check(window: PeriodWindow) -> list[PeriodFinding]:
    previous = (window.month - timedelta(days=1)).replace(day=1)
    had_entries = JournalLine.objects.filter(
        entry__posted_at__gte=window.starts_at - (window.month - previous),
        entry__posted_at__lt=window.starts_at,
    ).exists()
    closed = LedgerPeriod.objects.filter(month=previous, status=PeriodStatus.CLOSED).exists()
    if closed or not had_entries:
        return []
    return [
        PeriodFinding(
            code="previous_period_open",
            severity=WARN,
            message=f"The month before ({previous:%Y-%m}) has entries and is not closed.",
            count=1,
            detail={"month": f"{previous:%Y-%m}"},
        )
    ]


def _not_over_check(window: PeriodWindow) -> list[PeriodFinding]:
    if window.ends_at <= timezone.now():
        return []
    return [
        PeriodFinding(
            code="period_not_over",
            severity=BLOCK,
            message="The month has not ended yet.",
            count=1,
            detail={"month": f"{window.month:%Y-%m}"},
        )
    ]


def period_findings(
    window: PeriodWindow, *, totals: dict[str, dict[str, int]]
) -> list[PeriodFinding]:
    """billing's checks, then every registered one, blocking findings first."""
    findings = [
        *_not_over_check(window),
        *_trial_balance_check(totals),
        *_suspense_check(window),
        *_einvoice_check(window),
        *_previous_month_check(window),
    ]
    for check in PERIOD_CLOSE_CHECKS:
        findings.extend(check(window))
    return sorted(findings, key=lambda f: (f.severity != BLOCK, f.code))


def period_close_report(*, window: PeriodWindow) -> PeriodCloseReport:
    """The close's dry run: the trial balance at the end of the month, per account and per
    currency, and every finding of every check. Reads only."""
    rows = trial_balance(as_of=_last_instant(window))
    totals = _totals(rows)
    return PeriodCloseReport(
        window=window,
        trial_balance=rows,
        totals=totals,
        balanced=all(t["debit"] == t["credit"] for t in totals.values()),
        findings=period_findings(window, totals=totals),
    )


def period_blocking_findings(*, window: PeriodWindow) -> list[PeriodFinding]:
    """What the close itself re-checks inside its transaction."""
    return period_close_report(window=window).blocking
