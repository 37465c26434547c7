"""Closing a month of the books (two people: one finance user asks, a second finance or admin
user approves) and reopening it (an admin, with a reason). Once closed, PostgreSQL refuses
any journal entry dated inside the month (trigger ``ledger_entry_period_open``); an event that
belongs to a closed month posts in the open period instead (:func:`posting_date`).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from billing.errors import (
    PeriodCloseBlocked,
    PeriodCloseForbidden,
    PeriodCloseNeedsSecondPerson,
    PeriodNotClosed,
    PeriodNotOver,
)
from billing.models import LedgerPeriod, LedgerPeriodEvent, PeriodStatus
from billing.selectors.period_close import (
    PeriodWindow,
    period_blocking_findings,
    period_bounds,
    period_window,
)
from config.audit.models import AuditCategory
from config.audit.services import audit_change
from config.identity.models import Role
from config.identity.selectors import staff_roles


def _refuse_if_blocked(window: PeriodWindow) -> None:
    blocking = period_blocking_findings(window=window)
    if blocking:
        raise PeriodCloseBlocked(
            detail={"month": f"{window.month:%Y-%m}", "findings": [asdict(f) for f in blocking]}
        )


@transaction.atomic
def period_close(*, month: date, by: Any) -> LedgerPeriod:
    """The first finance user's call asks for the close; a second, different finance or
    admin user's call closes the month. While it closes, new entries wait (the journal's
    table is locked against inserts until commit), so none lands in the month unseen.

    Both calls run the close's checks (:mod:`billing.selectors.period_close`): a blocking
    finding (an open cashier session, cash in transit between desks, an unbalanced trial
    balance) refuses them with ``period_close_blocked``; warnings do not."""
    if not staff_roles(by) & {Role.FINANCE, Role.ADMIN}:
        raise PeriodCloseForbidden()
    starts_at, ends_at = period_bounds(month)
    if ends_at > timezone.now():
        raise PeriodNotOver(detail={"month": f"{starts_at:%Y-%m}"})
    period, _ = LedgerPeriod.objects.select_for_update().get_or_create(
        month=starts_at.date(),
        defaults={
            "starts_at": starts_at,
            "ends_at": ends_at,
            "status": PeriodStatus.PENDING_APPROVAL,
            "requested_by": by,
        },
    )
    if period.status == PeriodStatus.CLOSED:
        return period
    _refuse_if_blocked(period_window(month))
    if period.status == PeriodStatus.REOPENED or period.requested_by_id is None:
        period.status, period.requested_by = PeriodStatus.PENDING_APPROVAL, by
        period.save(update_fields=["status", "requested_by"])
        LedgerPeriodEvent.objects.create(period=period, action="close_requested", by=by)
        _audit_period("period.close_request", period, by)
        return period
    if period.requested_by_id == by.pk:
        if not period.events.exists():
            LedgerPeriodEvent.objects.create(period=period, action="close_requested", by=by)
            _audit_period("period.close_request", period, by)
            return period
        raise PeriodCloseNeedsSecondPerson()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE billing_journalentry IN SHARE MODE")
    period.status, period.approved_by, period.closed_at = PeriodStatus.CLOSED, by, timezone.now()
    period.save(update_fields=["status", "approved_by", "closed_at"])
    LedgerPeriodEvent.objects.create(period=period, action="closed", by=by)
    _audit_period("period.close", period, by)
    return period


@transaction.atomic
def period_reopen(*, month: date, by: Any, reason: str) -> LedgerPeriod:
    """An admin reopens a closed month, with a reason kept in its history."""
    if Role.ADMIN not in staff_roles(by):
        raise PeriodCloseForbidden()
    reason = reason.strip()
    if not reason:
        raise PeriodNotClosed("A reopening needs a reason.", param="reason")
    period = LedgerPeriod.objects.select_for_update().filter(month=month.replace(day=1)).first()
    if period is None or period.status != PeriodStatus.CLOSED:
        raise PeriodNotClosed()
    period.status, period.reopened_by = PeriodStatus.REOPENED, by
    period.reopened_at, period.reopen_reason = timezone.now(), reason
    period.save(update_fields=["status", "reopened_by", "reopened_at", "reopen_reason"])
    LedgerPeriodEvent.objects.create(period=period, action="reopened", by=by, reason=reason)
    _audit_period("period.reopen", period, by)
    return period


def _audit_period(action: str, period: LedgerPeriod, by: Any) -> None:
    audit_change(
        action,
        period,
        ("status",),
        category=AuditCategory.APPROVAL,
        actor=by,
        month=f"{period.month:%Y-%m}",
    )


def posting_date(posted_at: datetime) -> tuple[datetime, str]:
    """Where an event dated ``posted_at`` posts: at its date, or — when that falls in a
    closed month — now, in the open period, with a note of its own date for the memo."""
    closed = LedgerPeriod.objects.filter(
        status=PeriodStatus.CLOSED, starts_at__lte=posted_at, ends_at__gt=posted_at
    ).exists()
    if not closed:
        return posted_at, ""
    local = posted_at.astimezone(ZoneInfo(settings.TIME_ZONE))
    return timezone.now(), f" (ngày phát sinh {local:%Y-%m-%d}, kỳ đã khóa sổ)"
