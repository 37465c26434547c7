"""Benchmark 1: posting throughput of ``ledger_post`` against raw psycopg.

Both sides write the same rows into the same tables, so the same triggers fire: one journal
entry and two lines per transaction, one commit per entry. The baseline is the least a
client can do for that: a server-side prepared ``INSERT … RETURNING id`` for the entry, one
prepared ``INSERT`` of both lines, ``COMMIT``. The two sides run in interleaved rounds so
that noise from other work on the machine falls on both alike.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

import psycopg
from psycopg import sql

from bench.database import raw_connect
from bench.ledger_schema import line_default_values, line_defaults, line_insert_columns
from bench.report import Outcome, ratio_outcome, timed

TARGET_RATIO = 0.35


def accounts() -> tuple[str, str]:
    """The debit and credit accounts: patient receivable, service revenue (after setup)."""
    from billing.chart import AccountRole, account_for

    return account_for(AccountRole.PATIENT_RECEIVABLE), account_for(AccountRole.SERVICE_REVENUE)


_WARMUP = 200

INSERT_ENTRY = (
    "INSERT INTO billing_journalentry"
    " (posted_at, memo, source_type, source_id, posting_key, reverses_id, created_at)"
    " VALUES (%s, %s, %s, %s, %s, NULL, %s)"
    " ON CONFLICT (posting_key) DO NOTHING RETURNING id"
)
_INSERT_LINES = sql.SQL(
    "INSERT INTO billing_journalline ({columns})"
    " VALUES (%s, %s, %s, 0{defaults}), (%s, %s, 0, %s{defaults})"
)


def amount_for(index: int) -> int:
    return 10_000 * (1 + index % 997)


def post_with_app(first: int, count: int, prefix: str) -> None:
    from billing.money import Money
    from billing.services.ledger import Posting, ledger_post

    debit_account, credit_account = accounts()
    for index in range(first, first + count):
        amount = Money(amount_for(index), "VND")
        ledger_post(
            posting_key=f"{prefix}:{index}",
            lines=[Posting.dr(debit_account, amount), Posting.cr(credit_account, amount)],
            source_type="manual",
            memo=f"Benchmark posting {index}",
        )


class RawPoster:
    """The baseline: psycopg 3, autocommit off, one commit per entry."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        debit_account, credit_account = accounts()
        rows = conn.execute(
            "SELECT code, id FROM billing_account WHERE code IN (%s, %s)",
            (debit_account, credit_account),
        ).fetchall()
        conn.commit()
        ids: dict[str, int] = dict(rows)
        self.debit_id, self.credit_id = ids[debit_account], ids[credit_account]
        defaults = line_defaults()
        self.insert_lines = _INSERT_LINES.format(
            columns=line_insert_columns(defaults), defaults=line_default_values(defaults)
        )

    def post(self, first: int, count: int, prefix: str) -> None:
        conn = self.conn
        with conn.cursor() as cursor:
            for index in range(first, first + count):
                amount = amount_for(index)
                now = datetime.now(UTC)
                cursor.execute(
                    INSERT_ENTRY,
                    (now, f"Benchmark posting {index}", "manual", "", f"{prefix}:{index}", now),
                    prepare=True,
                )
                row = cursor.fetchone()
                assert row is not None
                entry_id = row[0]
                cursor.execute(
                    self.insert_lines,
                    (entry_id, self.debit_id, amount, entry_id, self.credit_id, amount),
                    prepare=True,
                )
                conn.commit()


def _statements_per_post(count: int = 50) -> float:
    """How many SQL statements one ``ledger_post`` sends (COMMIT not included)."""
    from django.db import connection

    sent = 0

    def counter(execute: Callable[..., Any], *args: Any) -> Any:
        nonlocal sent
        sent += 1
        return execute(*args)

    with connection.execute_wrapper(counter):
        post_with_app(0, count, "bench:post:count")
    return sent / count


def run(*, entries: int, rounds: int = 5) -> list[Outcome]:
    from billing.models import JournalEntry

    print(f"\n== ledger_post: {entries:,} two-line entries, one transaction each ==", flush=True)
    per_round = max(1, entries // rounds)
    total = per_round * rounds
    with raw_connect() as conn:
        raw = RawPoster(conn)
        post_with_app(0, _WARMUP, "bench:post:warmup")
        raw.post(0, _WARMUP, "bench:raw:warmup")
        statements = _statements_per_post()
        spent = {"app": 0.0, "raw": 0.0}
        for round_index in range(rounds):
            first = round_index * per_round
            sides: list[tuple[str, Callable[[], None]]] = [
                ("app", partial(post_with_app, first, per_round, "bench:post")),
                ("raw", partial(raw.post, first, per_round, "bench:raw")),
            ]
            if round_index % 2:
                sides.reverse()  # alternate who goes first, so drift hits both sides
            for side, work in sides:
                seconds, _ = timed(work)
                spent[side] += seconds
    app_seconds, raw_seconds = spent["app"], spent["raw"]
    posted = JournalEntry.objects.filter(posting_key__startswith="bench:post:").count()
    assert posted >= total, f"expected {total} app entries, found {posted}"
    print(
        f"{total:,} entries per side in {rounds} interleaved rounds:"
        f" ledger_post {app_seconds:.2f} s, raw psycopg {raw_seconds:.2f} s;"
        f" ledger_post sends {statements:.1f} statements per entry, raw psycopg 2"
        " (each side also BEGIN and COMMIT)",
        flush=True,
    )
    return [
        ratio_outcome(
            name="ledger_post",
            unit="entries/s",
            app_rate=total / app_seconds,
            baseline_label="raw psycopg",
            baseline_rate=total / raw_seconds,
            target=TARGET_RATIO,
        )
    ]
