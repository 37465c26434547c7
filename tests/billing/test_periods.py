"""Closing a month: two people, a database that refuses entries dated inside a closed month
whoever writes them, late events posted in the open period, and an audited reopening."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, transaction

from billing.chart import PATIENT_RECEIVABLE, SERVICE_REVENUE
from billing.errors import (
    PeriodCloseForbidden,
    PeriodCloseNeedsSecondPerson,
    PeriodNotClosed,
    PeriodNotOver,
)
from billing.models import Account, LedgerPeriod, PeriodStatus
from billing.money import Money
from billing.services.ledger import Posting, ledger_post
from billing.services.periods import period_close, period_reopen
from config.identity.models import Role
from config.identity.services import staff_create

pytestmark = pytest.mark.django_db

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
MAY = date(2026, 5, 1)


def _staff(name: str, role: str):
    user, _ = staff_create(username=name, role=role)
    return user


def _post(key: str, posted_at: datetime):
    money = Money(100_000, "VND")
    return ledger_post(
        posting_key=key,
        lines=[Posting.dr(PATIENT_RECEIVABLE, money), Posting.cr(SERVICE_REVENUE, money)],
        source_type="manual",
        memo="Sao kê ngân hàng",
        posted_at=posted_at,
    )


def _closed_may() -> LedgerPeriod:
    period_close(month=MAY, by=_staff("an", Role.FINANCE))
    return period_close(month=MAY, by=_staff("binh", Role.FINANCE))


def test_a_month_closes_only_with_a_second_finance_user():
    asker = _staff("an", Role.FINANCE)

    requested = period_close(month=MAY, by=asker)
    assert requested.status == PeriodStatus.PENDING_APPROVAL
    with pytest.raises(PeriodCloseNeedsSecondPerson):
        period_close(month=MAY, by=asker)
    with pytest.raises(PeriodCloseForbidden):
        period_close(month=MAY, by=_staff("cuong", Role.CASHIER))

    closed = period_close(month=MAY, by=_staff("binh", Role.ADMIN))
    assert closed.status == PeriodStatus.CLOSED
    assert closed.starts_at == datetime(2026, 5, 1, tzinfo=HANOI)
    assert closed.ends_at == datetime(2026, 6, 1, tzinfo=HANOI)
    assert list(closed.events.values_list("action", "by__username")) == [
        ("close_requested", "an"),
        ("closed", "binh"),
    ]


def test_a_month_that_has_not_ended_cannot_be_closed():
    with pytest.raises(PeriodNotOver):
        period_close(month=date(2999, 1, 1), by=_staff("an", Role.FINANCE))


def test_postgresql_refuses_an_entry_dated_in_a_closed_month_even_through_raw_sql():
    _closed_may()

    closed = pytest.raises(IntegrityError, match="falls in the closed period 2026-05")
    with closed, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO billing_journalentry"
            " (posted_at, memo, source_type, source_id, posting_key, created_at)"
            " VALUES (%s, '', 'manual', '', 'raw:closed', now())",
            [datetime(2026, 5, 31, 23, 59, tzinfo=HANOI)],
        )
    # The first instant of the next month is open.
    with transaction.atomic(), connection.cursor() as cursor:
        receivable = Account.objects.get(code=PATIENT_RECEIVABLE).pk
        revenue = Account.objects.get(code=SERVICE_REVENUE).pk
        cursor.execute(
            "INSERT INTO billing_journalentry"
            " (posted_at, memo, source_type, source_id, posting_key, created_at)"
            " VALUES (%s, '', 'manual', '', 'raw:june', now()) RETURNING id",
            [datetime(2026, 6, 1, tzinfo=HANOI)],
        )
        entry_id = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO billing_journalline (entry_id, account_id, debit, credit, reference)"
            " VALUES (%s, %s, 5, 0, ''), (%s, %s, 0, 5, '')",
            [entry_id, receivable, entry_id, revenue],
        )


def test_a_late_event_of_a_closed_month_posts_in_the_open_period_with_its_own_date():
    _closed_may()

    entry = _post("bank-line:late", datetime(2026, 5, 20, 10, tzinfo=HANOI))

    entry.refresh_from_db()
    assert entry.posted_at > datetime(2026, 6, 1, tzinfo=HANOI)
    assert entry.memo == "Sao kê ngân hàng (ngày phát sinh 2026-05-20, kỳ đã khóa sổ)"


def test_only_an_admin_reopens_a_closed_month_and_says_why():
    _closed_may()
    with pytest.raises(PeriodCloseForbidden):
        period_reopen(month=MAY, by=_staff("dung", Role.FINANCE), reason="sửa sai")
    admin = _staff("root", Role.ADMIN)
    with pytest.raises(PeriodNotClosed):
        period_reopen(month=MAY, by=admin, reason="  ")

    reopened = period_reopen(month=MAY, by=admin, reason="Sửa bút toán phí ngân hàng tháng 5")

    assert reopened.status == PeriodStatus.REOPENED
    last = reopened.events.last()
    assert last is not None
    assert (last.action, last.reason) == ("reopened", "Sửa bút toán phí ngân hàng tháng 5")
    entry = _post("may:correction", datetime(2026, 5, 20, 10, tzinfo=HANOI))
    entry.refresh_from_db()
    assert entry.posted_at == datetime(2026, 5, 20, 10, tzinfo=HANOI)
    with pytest.raises(PeriodNotClosed):
        period_reopen(month=MAY, by=admin, reason="again")
