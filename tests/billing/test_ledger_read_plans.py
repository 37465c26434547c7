"""The reads that must not grow with the ledger use an index (issue 20), checked on the
plans PostgreSQL chooses at ~100,000 rows with fresh statistics (``ANALYZE`` run here:
autovacuum may be off on a hospital's server, nothing relies on it). No timings: the plan
is the contract, ``bench`` measures the time.

* the trial balance reads the daily balances, never the lines;
* a statement's opening balance reads the daily balances and at most the local night's
  lines of its first day, never the lines before its window;
* a one-day statement reads its lines with their contra accounts in one query, a few rows
  per line of the day, each found by an index;
* a one-day export window finds its entries by the entry-date index and their lines by
  entry, not by scanning every line;
* ``payment_started_earlier`` finds the payment of an idempotency key by its index;
* the payment path's other lookups (issue 20, item 2): the payment a bank transfer's memo
  code names, what an invoice's in-flight payments reserve, and the outbox relay's take of
  unpublished events, each by its index among 100,000 rows.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.chart import PATIENT_RECEIVABLE, SERVICE_REVENUE
from billing.models import Account, Invoice, JournalLine
from billing.selectors.ledger import account_totals_before, statement_lines, trial_balance
from billing.selectors.ledger_export import _lines_sql
from billing.selectors.statements import local_window
from config.identity.models import DeviceKind
from config.identity.services import device_create
from payments.models import OutboxEvent, Payment, PaymentChannel, PaymentMethod, PaymentPurpose
from payments.outbox import _take
from payments.selectors.payments import invoice_payable_amount, payment_started_earlier
from payments.services.bank_transfers import payment_named_locked
from payments.services.payments import PaymentRequest
from tests.billing.builders import visit_invoice

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("chart")]

ENTRIES = 50_000  # two lines each: 100,000 lines over 40 days
FIRST = datetime(2021, 3, 1, tzinfo=UTC)
STEP_SECONDS = 40 * 86_400 // ENTRIES


def _fill_ledger() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO billing_journalentry (posted_at, memo, source_type, source_id,"
            " posting_key, created_at) SELECT %s + n * %s * interval '1 second', 'm',"
            " 'manual', '', 'plan:' || n, now() FROM generate_series(1, %s) n",
            [FIRST, STEP_SECONDS, ENTRIES],
        )
        cursor.execute(
            "INSERT INTO billing_journalline (entry_id, account_id, debit, credit, reference,"
            " counterparty) SELECT e.id, a.id,"
            " CASE WHEN a.code = %s THEN 1000 ELSE 0 END,"
            " CASE WHEN a.code = %s THEN 0 ELSE 1000 END, '', ''"
            " FROM billing_journalentry e CROSS JOIN billing_account a"
            " WHERE e.posting_key LIKE 'plan:%%' AND a.code IN (%s, %s)",
            [PATIENT_RECEIVABLE, PATIENT_RECEIVABLE, PATIENT_RECEIVABLE, SERVICE_REVENUE],
        )
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the balance checks, now
        cursor.execute("ANALYZE billing_journalentry, billing_journalline, billing_accountbalance")


def _plan(statement: str, params: Any = None) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {statement}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def _selects_of(work: Any) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        work()
    return [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT")]


def test_the_trial_balance_reads_the_daily_balances_not_the_lines() -> None:
    _fill_ledger()
    as_of = FIRST + timedelta(days=20, hours=5)
    statements = _selects_of(lambda: trial_balance(as_of=as_of)) + _selects_of(trial_balance)

    plans = [_plan(statement) for statement in statements]

    assert any("billing_accountbalance" in plan for plan in plans)
    lines_read = [plan for plan in plans if "billing_journalline" in plan]
    assert len(lines_read) == 1, "only as_of's own day is read from the lines"
    assert "Seq Scan on billing_journalline" not in lines_read[0], lines_read[0]
    assert "billing_journalentry_posted_at" in lines_read[0], lines_read[0]


def _journal_line_rows_read(statement: str) -> int:
    """The rows PostgreSQL actually read from ``billing_journalline`` running ``statement``
    (``EXPLAIN ANALYZE``: every plan node on that table, the rows it kept and those its
    filter removed)."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}")
        (plan,) = cursor.fetchone()
    plan = json.loads(plan) if isinstance(plan, str) else plan

    def rows(node: dict[str, Any]) -> int:
        read = node["Actual Rows"] + node.get("Rows Removed by Filter", 0)
        own = (read + node.get("Rows Removed by Index Recheck", 0)) * node["Actual Loops"]
        here = own if node.get("Relation Name") == "billing_journalline" else 0
        return here + sum(rows(child) for child in node.get("Plans", []))

    return rows(plan[0]["Plan"])


def test_a_statements_opening_balance_reads_no_line_before_its_window() -> None:
    _fill_ledger()
    receivable = Account.objects.get(code=PATIENT_RECEIVABLE)
    first_day = (FIRST + timedelta(days=20)).date()
    start, _ = local_window(first_day, first_day)
    night = 7 * 3600 // STEP_SECONDS + 1  # entries in the 7 hours after local midnight
    statements = _selects_of(lambda: account_totals_before(account=receivable, moment=start))

    plans = [_plan(statement) for statement in statements]

    assert any("billing_accountbalance" in plan for plan in plans)
    lines_read = [s for s, plan in zip(statements, plans, strict=True) if "journalline" in plan]
    assert len(lines_read) == 1, "only the local night after the start is read from lines"
    plan = _plan(lines_read[0])
    assert "Seq Scan on billing_journalline" not in plan, plan
    # both lines of each night entry at most; 50,000 lines lie before the window
    assert _journal_line_rows_read(lines_read[0]) <= 2 * night


def test_a_one_day_statement_reads_its_lines_and_contra_accounts_in_one_query_by_index() -> None:
    _fill_ledger()
    receivable = Account.objects.get(code=PATIENT_RECEIVABLE)
    day = (FIRST + timedelta(days=20)).date()
    start, end = local_window(day, day)
    day_lines = JournalLine.objects.filter(
        account=receivable, entry__posted_at__gte=start, entry__posted_at__lt=end
    ).count()
    with transaction.atomic():  # the chunked cursor's
        statements = _selects_of(
            lambda: list(
                statement_lines(account=receivable, date_from=start, date_to=end, opening=0)
            )
        )

    lines_read = [statement for statement in statements if "billing_journalline" in statement]
    assert len(lines_read) == 1, "the lines and their contra accounts: one query"
    assert "Seq Scan on billing_journalline" not in _plan(lines_read[0])
    # A few rows per line of the day (4 in the plan seen: both lines of each of the day's
    # entries, then each line's entry's lines for its contra accounts), not the 100,000.
    assert 0 < _journal_line_rows_read(lines_read[0]) <= 5 * day_lines


def test_a_one_day_export_window_uses_the_entry_date_index() -> None:
    _fill_ledger()
    start = FIRST + timedelta(days=10)
    statement = _lines_sql(start, start + timedelta(days=1)).as_string(connection.connection)

    plan = _plan(statement)

    assert "billing_journalentry_posted_at" in plan, plan
    assert "Seq Scan on billing_journalline" not in plan, plan


def _fill_payments(invoice: Invoice, device_id: int) -> None:
    """100,000 payments of other keys (made directly: their rows are what matters)."""
    fixed = {
        "public_id": "'pay_plan' || n",
        "purpose": "'invoice'",
        "invoice_id": str(invoice.pk),
        "amount": "1000",
        "currency": "'VND'",
        "method": "'vietqr'",
        "channel": "'kiosk'",
        "provider": "'bank_transfer'",
        "status": "CASE WHEN mod(n, 10) = 0 THEN 'failed' ELSE 'succeeded' END",
        "idempotency_key": "'plan-key-' || n",
        "memo_code": "'PLAN' || n",
        "created_by_device_id": str(device_id),
        "created_at": "now() - n * interval '1 second'",
        "updated_at": "now()",
    }
    columns, values = [], []
    for field in Payment._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(field.column)
        if field.column in fixed:
            values.append(fixed[field.column])
        elif field.null:
            values.append("NULL")
        elif field.get_internal_type() in ("CharField", "TextField"):
            values.append("''")
        else:
            values.append("0")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO payments_payment ({', '.join(columns)})"
            f" SELECT {', '.join(values)} FROM generate_series(1, 100000) n"
        )
        cursor.execute("ANALYZE payments_payment")


def test_payment_started_earlier_finds_the_key_by_its_index() -> None:
    invoice = visit_invoice(150_000, benefit_level=None)
    device, _ = device_create(name="Kiosk plan", kind=DeviceKind.KIOSK)
    _fill_payments(invoice, device.pk)
    request = PaymentRequest(
        purpose=PaymentPurpose.INVOICE,
        amount=1000,
        currency="VND",
        method=PaymentMethod.VIETQR,
        channel=PaymentChannel.KIOSK,
        idempotency_key="plan-key-77",
        invoice=invoice,
        created_by_device=device,
    )
    [statement] = _selects_of(lambda: payment_started_earlier(request=request))

    plan = _plan(statement)

    assert "payment_idempotency_key" in plan, plan
    assert payment_started_earlier(request=request) is not None
    assert timezone.now() > Payment.objects.get(idempotency_key="plan-key-77").created_at


def test_the_payment_paths_lookups_use_their_indexes() -> None:
    invoice = visit_invoice(150_000, benefit_level=None)
    device, _ = device_create(name="Kiosk plan 2", kind=DeviceKind.KIOSK)
    _fill_payments(invoice, device.pk)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO payments_outboxevent (topic, payload, dedupe_key, created_at,"
            " published_at, attempts) SELECT 'payment.succeeded', '{}', 'plan:' || n,"
            " now(), now(), 1 FROM generate_series(1, 100000) n"
        )
        cursor.execute("ANALYZE payments_outboxevent")
    OutboxEvent.objects.create(topic="payment.succeeded", payload={}, dedupe_key="plan:new")

    with transaction.atomic():
        [named] = _selects_of(lambda: payment_named_locked("PLAN77"))
        [take] = _selects_of(lambda: _take(100))
    [in_flight] = [
        q for q in _selects_of(lambda: invoice_payable_amount(invoice=invoice)) if "SUM(" in q
    ][:1]

    # either of the memo code's two indexes (the unique one, the LIKE one) finds the row
    assert "Index Cond: ((memo_code)::text" in _plan(named), _plan(named)
    assert "Seq Scan" not in _plan(named), _plan(named)
    # The in-flight sum is found through the invoice's index or, when payments in flight are
    # few (here none of the 100,000), through the in-flight statuses' index; never a scan.
    plan = _plan(in_flight)
    assert "payment_invoice_status" in plan or "payment_status_expiry" in plan, plan
    assert "Seq Scan" not in plan, plan
    assert "outbox_unpublished" in _plan(take), _plan(take)
    assert payment_named_locked("PLAN77") is not None
