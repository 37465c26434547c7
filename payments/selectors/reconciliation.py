"""Reads of reconciliation: the items finance works, the day's summary per channel with
the three balances, and whether a day is fully reconciled."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from billing.models import JournalLine
from config.errors import NotFound
from payments.models import (
    OPEN_RECON_STATUSES,
    CashierSession,
    Direction,
    ReconChannel,
    ReconItem,
    ReconKind,
    StatementLine,
    StripePayout,
)
from payments.models import ReconStatus as S
from payments.providers.bank_feeds import BANK_TIMEZONE
from payments.services import settlement_accounts as accounts
from payments.services.matching import add_business_days, grace_business_days


def recon_items(
    *,
    status: str | None = None,
    kind: str | None = None,
    channel: str | None = None,
    expected_from: date | None = None,
    expected_to: date | None = None,
) -> QuerySet[ReconItem]:
    items = ReconItem.objects.select_related("statement_line")
    if status:
        items = items.filter(status=status)
    if kind:
        items = items.filter(kind=kind)
    if channel:
        items = items.filter(channel=channel)
    if expected_from:
        items = items.filter(expected_on__gte=expected_from)
    if expected_to:
        items = items.filter(expected_on__lte=expected_to)
    return items


def recon_item_get(*, pk: int) -> ReconItem:
    item = ReconItem.objects.select_related("statement_line").filter(pk=pk).first()
    if item is None:
        raise NotFound("No such reconciliation item.")
    return item


def recon_item_due_by(*, item: ReconItem) -> date:
    return add_business_days(item.expected_on, grace_business_days(item.direction))


def _day_end(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=BANK_TIMEZONE)


def account_balance(*, code: str, until: datetime) -> int:
    """Debits minus credits on ``code`` and its sub-accounts posted before ``until``."""
    totals = JournalLine.objects.filter(
        Q(account__code=code) | Q(account__code__startswith=f"{code}."),
        entry__posted_at__lt=until,
    ).aggregate(debit=Sum("debit"), credit=Sum("credit"))
    return (totals["debit"] or 0) - (totals["credit"] or 0)


def recon_summary(*, day: date, in_transit_accounts: dict[str, str]) -> dict[str, Any]:
    """Per channel: the items expected that day (count and amount per status) and what is
    in suspense; the three balances — the drawers' counted cash, the bank statement's
    movement, the provider's payouts — and what is still in transit at the day's end.

    ``in_transit_accounts`` names the holding accounts to report (label → code)."""
    channels: dict[str, dict[str, Any]] = {}
    rows = (
        ReconItem.objects.filter(expected_on=day)
        .values("channel", "status", "kind")
        .annotate(count=Count("id"), amount=Sum("amount"))
    )
    for channel in ReconChannel.values:
        channels[channel] = {
            status: {"count": 0, "amount": 0}
            for status in ("expected", "matched", "missing", "unexpected", "in_suspense")
        }
    for row in rows:
        bucket = _bucket(row["status"])
        figures = channels[row["channel"]][bucket]
        figures["count"] += row["count"]
        figures["amount"] += row["amount"] or 0
        if bucket != "expected" and row["status"] != S.UNEXPECTED:
            channels[row["channel"]]["expected"]["count"] += row["count"]
            channels[row["channel"]]["expected"]["amount"] += row["amount"] or 0
        # A possible duplicate's line is held with nothing booked: not in suspense.
        if row["status"] == S.UNEXPECTED and row["kind"] != ReconKind.POSSIBLE_DUPLICATE:
            suspense = channels[row["channel"]]["in_suspense"]
            suspense["count"] += row["count"]
            suspense["amount"] += row["amount"] or 0
    lines = StatementLine.objects.filter(booked_on=day, currency="VND")
    bank_in = lines.filter(direction=Direction.IN).aggregate(s=Sum("amount"))["s"] or 0
    bank_out = lines.filter(direction=Direction.OUT).aggregate(s=Sum("amount"))["s"] or 0
    counted = CashierSession.objects.filter(
        counted_at__gte=_day_end(day - timedelta(days=1)), counted_at__lt=_day_end(day)
    ).aggregate(s=Sum("counted_cash"))["s"]
    payouts = StripePayout.objects.filter(arrival_date=day).aggregate(s=Sum("amount"))["s"]
    end = _day_end(day)
    return {
        "date": day.isoformat(),
        "channels": channels,
        "balances": {
            "drawers_counted_cash": counted or 0,
            "bank_statement": {"in": bank_in, "out": bank_out, "net": bank_in - bank_out},
            "provider_payouts": payouts or 0,
        },
        "in_transit": {
            label: account_balance(code=code, until=end)
            for label, code in {
                "stripe_clearing": accounts.clearing("stripe"),
                "vietqr_clearing": accounts.clearing("vietqr"),
                **in_transit_accounts,
            }.items()
        },
        "suspense": -account_balance(code=accounts.suspense(), until=end),
        "open_items": ReconItem.objects.filter(
            status__in=OPEN_RECON_STATUSES, expected_on__lte=day
        ).count(),
    }


def _bucket(status: str) -> str:
    if status in (S.MATCHED, S.MANUALLY_MATCHED, S.WRITTEN_OFF):
        return "matched"
    if status in (S.MISSING, S.AMOUNT_MISMATCH):
        return "missing"
    if status == S.UNEXPECTED:
        return "unexpected"
    return "expected"


def recon_daily(*, day: date) -> dict[str, Any]:
    """Whether ``day`` is fully reconciled: every item expected on it or before, and every
    bank line booked on it or before, is matched, matched by hand or written off."""
    open_items = ReconItem.objects.filter(status__in=OPEN_RECON_STATUSES, expected_on__lte=day)
    by_status = dict(open_items.values_list("status").annotate(n=Count("id")).order_by())
    unexplained_lines = StatementLine.objects.filter(
        booked_on__lte=day, recon_item__isnull=True
    ).count()
    return {
        "date": day.isoformat(),
        "reconciled": not by_status and not unexplained_lines,
        "open_items": {status: by_status.get(status, 0) for status in OPEN_RECON_STATUSES},
        "lines_not_yet_matched": unexplained_lines,
        "as_of": timezone.now().isoformat(),
    }
