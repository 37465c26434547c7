"""Fill the ledger fast for the export benchmarks: ``INSERT … SELECT generate_series``.

Each batch is one transaction: its entries first, then two balanced lines per entry, so the
deferred balance trigger and the same-transaction trigger pass exactly as for real postings.
Entries are spread evenly over local days from 2020-01-01 (far from today's postings), a
fixed number per day, so a window of whole days holds a known number of lines.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta

from psycopg import sql

from bench.database import raw_connect
from bench.ledger_schema import line_default_values, line_defaults, line_insert_columns
from bench.report import timed

FIRST_DAY = date(2020, 1, 1)
ENTRIES_PER_DAY = 12_500  # 86,400 s / 12,500 = one entry every 6.912 s
LINES_PER_DAY = 2 * ENTRIES_PER_DAY
_BATCH_ENTRIES = 25_000

# One memo in fifty starts with "=" so the export's formula guard has work to do.
_INSERT_ENTRIES = """
INSERT INTO billing_journalentry (posted_at, memo, source_type, source_id, posting_key, created_at)
SELECT timestamptz '2020-01-01 00:00:00+07' + n * interval '6.912 seconds',
       CASE WHEN mod(n, 50) = 0 THEN '=HYPERLINK("x") ' ELSE '' END
           || 'Thu viện phí khám chữa bệnh, hóa đơn HD-' || n,
       'invoice', n::text, 'bench:export:' || n, now()
FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS n
"""

# Debit one account, credit the next one in the chart, same amount.
_INSERT_LINES = """
INSERT INTO billing_journalline ({columns})
SELECT e.id,
       (%(accounts)s::bigint[])[1 + mod(e.id + side, cardinality(%(accounts)s::bigint[]))],
       CASE WHEN side = 0 THEN 10000 * (1 + mod(e.id, 997)) ELSE 0 END,
       CASE WHEN side = 1 THEN 10000 * (1 + mod(e.id, 997)) ELSE 0 END
       {defaults}
FROM billing_journalentry e CROSS JOIN (VALUES (0), (1)) AS sides(side)
WHERE e.created_txid = txid_current()
ORDER BY e.id, side
"""


@dataclass(frozen=True, slots=True)
class Filled:
    lines: int
    first_day: date
    last_day: date
    seconds: float


def _fill_batches(batches: list[tuple[int, int]], insert_lines: sql.Composed) -> None:
    with raw_connect() as conn:
        accounts = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM billing_account WHERE currency = 'VND' ORDER BY code"
            )
        ]
        conn.commit()
        for first, last in batches:
            conn.execute(_INSERT_ENTRIES, {"first": first, "last": last})
            conn.execute(insert_lines, {"accounts": accounts})
            conn.commit()  # the deferred balance checks run here


def ledger_fill(*, lines: int, already: int = 0) -> Filled:
    """Fill the ledger up to ``lines`` journal lines (``lines // 2`` entries), then VACUUM
    ANALYZE. ``already``: lines an earlier call filled (the growth table fills in steps,
    10k, then 100k, then 1M); their entries are not inserted again, the new ones follow them
    in time.

    Most of the time goes to the deferred balance checks at each commit, inside PostgreSQL;
    batches are shared out to one connection per CPU to run them side by side.
    """
    entries = lines // 2
    defaults = line_defaults()
    insert_lines = sql.SQL(_INSERT_LINES).format(
        columns=line_insert_columns(defaults), defaults=line_default_values(defaults)
    )
    batches = [
        (first, min(first + _BATCH_ENTRIES, entries) - 1)
        for first in range(already // 2, entries, _BATCH_ENTRIES)
    ]
    workers = max(1, min(os.cpu_count() or 1, len(batches) or 1))

    def fill() -> None:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            shares = [batches[worker::workers] for worker in range(workers)]
            for done in [pool.submit(_fill_batches, share, insert_lines) for share in shares]:
                done.result()
        with raw_connect(autocommit=True) as conn:
            for table in ("billing_journalentry", "billing_journalline", "billing_account"):
                conn.execute(f"VACUUM (ANALYZE) {table}")

    seconds, _ = timed(fill)
    days = -(-entries // ENTRIES_PER_DAY)
    return Filled(
        lines=2 * entries,
        first_day=FIRST_DAY,
        last_day=FIRST_DAY + timedelta(days=days - 1),
        seconds=seconds,
    )
