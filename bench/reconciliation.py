"""Benchmark 5: reconciliation — statement import against ``COPY``, and the matcher against
one raw SQL join doing the same match, at growing sizes (the rate must stay near-linear).

* **Import:** a Vietcombank CSV of N lines (``statement_import``: parse, dedupe keys, one
  ``COPY`` to a temporary table, one ``INSERT … ON CONFLICT DO NOTHING``) against raw
  psycopg ``COPY`` of the very same rows (dedupe keys computed beforehand, outside the
  timing) straight into ``payments_statementline``. The matcher the import sets off after
  its commit is not in this figure (it is the next one).
* **Matcher:** N expected items (VietQR captures: a memo code, an amount) and N statement
  lines carrying those codes and amounts; ``reconciliation_match`` (enrol, match by code,
  by window, unexpected lines, the run's entry, missing; each change audited) against one
  raw ``UPDATE … FROM`` join setting each item's line and status. Both start from the same
  state (reset and ``VACUUM ANALYZE`` before each side).
* **History:** the matcher runs in a database with a past. The VietQR captures the run's
  earlier parts made (100,000 in the whole ``make bench``, none with ``--recon-only``) are
  dated a month back, put on a statement and matched by one untimed run before the
  measured ones — a hospital's month of captures that reached the bank — and stay through
  the resets (which remove only the benchmark's own items and lines). Each measured run
  therefore has a previous run to look back from, as every run but the first has. (Before
  the enrolment looked back from the previous run, those captures cost the 10,000-line run
  1.5 s and put its ratio at 0.07.)
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from bench.database import raw_connect
from bench.report import Outcome, rate, ratio_outcome, timed

ACCOUNT = "0011001234567"
IMPORT_TARGET = 0.2
MATCH_TARGET = 0.25
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
DAY = date(2026, 12, 1)


def _code(index: int) -> str:
    body = []
    for _ in range(5):
        index, digit = divmod(index, len(ALPHABET))
        body.append(ALPHABET[digit])
    return "VP" + "".join(body)


def _amount(index: int) -> int:
    return 10_000 * (1 + index % 997)


def _statement_csv(lines: int) -> bytes:
    rows = [
        f"Số tài khoản: {ACCOUNT}",
        "STT,Ngày giao dịch,Số tham chiếu,Số tiền ghi nợ,Số tiền ghi có,Số dư,Mô tả",
    ]
    for i in range(lines):
        day = (DAY + timedelta(days=i % 28)).strftime("%d/%m/%Y")
        memo = f"MBVCB.{i}.{_code(i)}.CT tu A"
        rows.append(f'{i + 1},{day},FT{i:010d},,"{_amount(i):,}",,{memo}')
    return "\n".join(rows).encode()


HISTORY_KEY = "history:"


def _reset(conn: object) -> None:
    """Remove the benchmark's own items, lines and statements; the history stays."""
    for statement in (
        "DELETE FROM payments_reconitemaction a USING payments_reconitem i"
        " WHERE a.item_id = i.id AND i.source_type <> 'payment'",
        "DELETE FROM payments_reconitem WHERE source_type <> 'payment'",
        f"DELETE FROM payments_statementline WHERE dedupe_key NOT LIKE '{HISTORY_KEY}%'",
        "DELETE FROM payments_bankstatement",
    ):
        conn.execute(statement)  # type: ignore[attr-defined]
    conn.commit()  # type: ignore[attr-defined]


def _history() -> None:
    """The earlier parts' VietQR captures become a month of history: dated a month back,
    each on a statement line, matched by one untimed full run."""
    from payments.providers.bank_feeds import BANK_TIMEZONE
    from payments.services.matching import reconciliation_match

    with raw_connect() as conn:
        _reset(conn)
        captures = conn.execute(
            "UPDATE payments_payment SET succeeded_at = succeeded_at - interval '1 month'"
            " WHERE method = 'vietqr' AND succeeded_at IS NOT NULL AND memo_code IS NOT NULL"
        ).rowcount
        conn.execute(
            "INSERT INTO payments_statementline (account_number, booked_on, direction, amount,"
            " currency, bank_reference, description, match_code, dedupe_key, source,"
            " feed_reports, created_at)"
            " SELECT %s, (p.succeeded_at AT TIME ZONE %s)::date, 'in', p.amount,"
            " p.currency, 'FTH' || p.id, 'MBVCB.' || p.memo_code, p.memo_code, %s || p.id,"
            " 'file', '{}', now() FROM payments_payment p WHERE p.method = 'vietqr'"
            " AND p.succeeded_at IS NOT NULL AND p.memo_code IS NOT NULL",
            (ACCOUNT, BANK_TIMEZONE.key, HISTORY_KEY),
        )
        conn.commit()
    _vacuum()
    seconds, run = timed(lambda: reconciliation_match(full=True))
    assert run.matched == captures, (run.matched, captures)
    print(
        f"history: {captures:,} VietQR captures of the earlier parts dated a month back, on a"
        f" statement and matched by one untimed run ({seconds:.1f} s)",
        flush=True,
    )


def _vacuum() -> None:
    with raw_connect(autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE payments_statementline")
        conn.execute("VACUUM ANALYZE payments_reconitem")


def run_import(*, lines: int) -> list[Outcome]:
    from django.conf import settings

    from payments.services import statements
    from payments.services.statements import LineFacts, _keys, line_match_code, statement_import

    print(f"\n== statement import: {lines:,} lines ==", flush=True)
    settings.RECONCILIATION_BANK_ACCOUNTS = [ACCOUNT]
    statements._run_matcher_later = lambda: None
    content = _statement_csv(lines)
    facts = [
        LineFacts(
            ACCOUNT,
            DAY + timedelta(days=i % 28),
            "in",
            _amount(i),
            "VND",
            f"FT{i:010d}",
            f"MBVCB.{i}.{_code(i)}.CT tu A",
        )
        for i in range(lines)
    ]
    keys = _keys(facts)
    rows = [
        (
            f.account_number,
            f.booked_on,
            f.direction,
            f.amount,
            f.currency,
            f.reference,
            f.description,
            line_match_code(f.description),
            key,
            i + 2,
            "file",
            "{}",
        )
        for i, (f, key) in enumerate(zip(facts, keys, strict=True))
    ]
    with raw_connect() as conn:
        _reset(conn)
        _vacuum()
        raw_seconds, _ = timed(lambda: _raw_copy(conn, rows))
        _reset(conn)
    _vacuum()
    app_seconds, statement = timed(
        lambda: statement_import(
            bank="vietcombank",
            content=content,
            file_name="bench.csv",
            imported_by=None,
            via="api",
        )
    )
    assert statement.lines_new == lines, statement.lines_new
    return [
        ratio_outcome(
            name=f"statement import ({lines:,} lines)",
            unit="lines/s",
            app_rate=rate(lines, app_seconds),
            baseline_label="raw COPY",
            baseline_rate=rate(lines, raw_seconds),
            target=IMPORT_TARGET,
        )
    ]


def _raw_copy(conn: Any, rows: Sequence[tuple[object, ...]]) -> None:
    with (
        conn.cursor() as cursor,
        cursor.copy(
            "COPY payments_statementline (account_number, booked_on, direction, amount,"
            " currency, bank_reference, description, match_code, dedupe_key, row_number,"
            " source, feed_reports, created_at) FROM STDIN"
        ) as copy,
    ):
        for row in rows:
            copy.write_row((*row, "2026-12-01T00:00:00Z"))
    conn.commit()


def _fill_match(conn: object, size: int) -> None:
    """``size`` expected items and ``size`` lines with their codes and amounts, shuffled."""
    from payments.services.settlement_accounts import clearing

    holding = clearing("vietqr")
    _reset(conn)
    order = list(range(size))
    random.Random(size).shuffle(order)
    with conn.cursor() as cursor:  # type: ignore[attr-defined]
        with cursor.copy(
            "COPY payments_reconitem (kind, channel, status, direction, amount, currency,"
            " source_type, source_id, match_code, expected_on, holding_account, note,"
            " write_off_reason, created_at, updated_at) FROM STDIN"
        ) as copy:
            for i in range(size):
                copy.write_row(
                    (
                        "vietqr_capture",
                        "vietqr",
                        "expected",
                        "in",
                        _amount(i),
                        "VND",
                        "bench",
                        str(i),
                        _code(i),
                        DAY,
                        holding,
                        "",
                        "",
                        "2026-12-01T00:00:00Z",
                        "2026-12-01T00:00:00Z",
                    )
                )
        with cursor.copy(
            "COPY payments_statementline (account_number, booked_on, direction, amount,"
            " currency, bank_reference, description, match_code, dedupe_key, source,"
            " feed_reports, created_at) FROM STDIN"
        ) as copy:
            for i in order:
                copy.write_row(
                    (
                        ACCOUNT,
                        DAY,
                        "in",
                        _amount(i),
                        "VND",
                        f"FT{i:010d}",
                        f"MBVCB.{i}.{_code(i)}",
                        _code(i),
                        f"{i:064d}",
                        "file",
                        "{}",
                        "2026-12-01T00:00:00Z",
                    )
                )
    conn.commit()  # type: ignore[attr-defined]
    _vacuum()


RAW_MATCH = (
    "UPDATE payments_reconitem i SET statement_line_id = l.id, status = 'matched'"
    " FROM payments_statementline l"
    " WHERE l.match_code = i.match_code AND l.amount = i.amount AND l.direction = i.direction"
    " AND l.currency = i.currency AND i.status = 'expected' AND i.statement_line_id IS NULL"
)


def run_match(*, sizes: Sequence[int]) -> list[Outcome]:
    from payments.services.matching import reconciliation_match

    outcomes: list[Outcome] = []
    rates: list[tuple[int, float]] = []
    _history()
    for size in sizes:
        print(f"\n== matcher: {size:,} lines against {size:,} expected items ==", flush=True)
        with raw_connect() as conn:
            _fill_match(conn, size)

            def raw_join(conn: object = conn) -> int:
                cursor = conn.execute(RAW_MATCH)  # type: ignore[attr-defined]
                conn.commit()  # type: ignore[attr-defined]
                return int(cursor.rowcount)

            raw_seconds, matched = timed(raw_join)
            assert matched == size, matched
            _fill_match(conn, size)
        app_seconds, match_run = timed(lambda: reconciliation_match(today=DAY))
        assert match_run.matched == size, match_run.matched
        app_rate = rate(size, app_seconds)
        rates.append((size, app_rate))
        outcomes.append(
            ratio_outcome(
                name=f"matcher ({size:,} x {size:,})",
                unit="matches/s",
                app_rate=app_rate,
                baseline_label="one raw UPDATE … FROM join",
                baseline_rate=rate(size, raw_seconds),
                target=MATCH_TARGET,
            )
        )
    for (small, small_rate), (large, large_rate) in itertools.pairwise(rates):
        print(
            f"matcher rate {small:,} -> {large:,}: {small_rate:,.0f} -> {large_rate:,.0f}"
            f" matches/s (x{large_rate / small_rate:.2f}; 1.00 is linear)",
            flush=True,
        )
    return outcomes
