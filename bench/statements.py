"""An account statement (sổ chi tiết) of one local day as the ledger grows: at each step
of the growth table's shared fill (``bench/ledger_fill.py``: 10k, 100k, 1M lines), the last
filled day of the first VND account, through ``GET /api/v1/ledger/account-detail`` (test
``Client``, the JSON consumed), in microseconds per statement line, each size a ratio to
the smallest; and at each size against one raw SQL query computing the same statement
(opening summed from the earlier lines, the day's lines with their contra accounts and a
running balance by a window function, fetched by psycopg). Best of 20 each (a request takes
tens of milliseconds: 20 tries find a quiet moment on a shared, loaded machine where 5 often
did not).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock
from typing import Any
from zoneinfo import ZoneInfo

from bench.database import raw_connect
from bench.growth import _best as best_of
from bench.ledger_fill import ledger_fill
from bench.report import Outcome

SMALL = 10_000
REPEATS = 20
_RAW = """
WITH opening AS (
    SELECT COALESCE(SUM(l.debit - l.credit), 0) AS balance
    FROM billing_journalline l JOIN billing_journalentry e ON e.id = l.entry_id
    WHERE l.account_id = %(account)s AND e.posted_at < %(start)s
)
SELECT e.id, e.posted_at, e.memo, e.source_type, e.source_id, l.debit, l.credit,
       e.voucher_type, e.voucher_number, l.reference, l.counterparty,
       (SELECT balance FROM opening)
           + SUM(l.debit - l.credit) OVER (ORDER BY e.posted_at, e.id, l.id),
       ARRAY(SELECT a.code FROM billing_journalline o JOIN billing_account a ON a.id = o.account_id
             WHERE o.entry_id = l.entry_id AND o.account_id <> l.account_id ORDER BY a.code)
FROM billing_journalline l JOIN billing_journalentry e ON e.id = l.entry_id
WHERE l.account_id = %(account)s AND e.posted_at >= %(start)s AND e.posted_at < %(end)s
ORDER BY e.posted_at, e.id, l.id
"""


@dataclass(frozen=True, slots=True)
class Size:
    lines: int
    statement_lines: int
    app_ms: float
    raw_ms: float

    @property
    def app_us_per_line(self) -> float:
        return self.app_ms * 1000 / max(self.statement_lines, 1)


def measure(day: date, authorization: str) -> Size:
    """The statement of the local ``day`` of the first VND account, app and raw."""
    from django.conf import settings
    from django.test import Client

    from billing.models import Account, JournalLine

    account = Account.objects.filter(currency="VND").order_by("code").first()
    assert account is not None
    tz = ZoneInfo(settings.TIME_ZONE)
    start = datetime.combine(day, clock(), tzinfo=tz)
    end = start + timedelta(days=1)
    client = Client(HTTP_AUTHORIZATION=authorization)
    query = {"account": account.code, "from": day.isoformat(), "to": day.isoformat()}

    def app() -> int:
        response: Any = client.get("/api/v1/ledger/account-detail", query)
        assert response.status_code == 200
        return sum(len(piece) for piece in response.streaming_content)

    with raw_connect() as conn:

        def raw() -> int:
            rows = conn.execute(_RAW, {"account": account.pk, "start": start, "end": end})
            return len(rows.fetchall())

        raw_ms = best_of(raw, REPEATS) * 1000
    window = JournalLine.objects.filter(
        account=account, entry__posted_at__gte=start, entry__posted_at__lt=end
    ).count()
    return Size(
        lines=JournalLine.objects.count(),
        statement_lines=window,
        app_ms=best_of(app, REPEATS) * 1000,
        raw_ms=raw_ms,
    )


def run(*, lines: int) -> list[Outcome]:
    """``--statements-only``: the shared fill to 10k lines, measure, to ``lines``, measure."""
    from bench.http_server import finance_authorization

    authorization = finance_authorization()
    sizes = []
    already = 0
    for step in (SMALL, lines):
        print(f"\nFilling the ledger up to {step:,} journal lines ...", flush=True)
        filled = ledger_fill(lines=step, already=already)
        already = step
        sizes.append(measure(filled.last_day, authorization))
    return report(sizes)


def report(sizes: list[Size]) -> list[Outcome]:
    """Prints the table; summary rows: per line at the largest size / the smallest (target
    <= 2), and the app / the raw query at the largest size (for information)."""
    first, last = sizes[0], sizes[-1]
    columns = ("lines", "statement lines", "app", "us/line", "raw SQL", "raw / app")
    widths = (11, 15, 10, 16, 10, 9)
    header = "  ".join(f"{name:>{width}}" for name, width in zip(columns, widths, strict=True))
    print(f"\n== statements: one day's account statement as the ledger grows ==\n{header}")
    for size in sizes:
        print(
            f"{size.lines:>11,}  {size.statement_lines:>15,}  {size.app_ms:>7.1f} ms"
            f"  {size.app_us_per_line:>7.1f}"
            f" (x{size.app_us_per_line / first.app_us_per_line:>5.2f})"
            f"  {size.raw_ms:>7.1f} ms  {size.raw_ms / size.app_ms:>9.2f}",
            flush=True,
        )
    growth = last.app_us_per_line / first.app_us_per_line
    outcomes = [
        Outcome(
            name=name,
            measured=measured,
            baseline=baseline,
            figure=figure,
            target="<= x2.00" if met is not None else "",
            met=met,
        )
        for name, measured, baseline, figure, met in (
            (
                "statements: one-day statement per line",
                f"{last.app_us_per_line:.1f} us/line at {last.lines:,} lines",
                f"{first.app_us_per_line:.1f} us/line at {first.lines:,} lines",
                f"x{growth:.2f}",
                growth <= 2.0,
            ),
            (
                "statements: app vs raw SQL (largest)",
                f"{last.app_ms:.1f} ms",
                f"raw SQL {last.raw_ms:.1f} ms",
                f"ratio {last.raw_ms / last.app_ms:.2f}",
                None,
            ),
        )
    ]
    for outcome in outcomes:
        print(outcome.line(), flush=True)
    return outcomes
