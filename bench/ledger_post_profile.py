"""Where ``ledger_post``'s time goes: ``python -m bench --profile-post``.

Prints, for the same two-line postings as the benchmark:

* the time per entry split by statement, for ``ledger_post`` and for the raw baseline;
* an A/B of ``ledger_post`` with Django's default client-side parameter binding against
  psycopg server-side binding (``OPTIONS={"server_side_binding": True}``), which lets
  psycopg prepare statements it sees repeatedly; the app's code is not changed;
* a cProfile of ``ledger_post`` on CPU time (the client's own work), by own time and by
  cumulative time.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any
from unittest import mock

from bench.database import raw_connect
from bench.ledger_post import INSERT_ENTRY, RawPoster, amount_for, post_with_app
from bench.report import timed

_KINDS = (
    ("SELECT", "billing_account", "account lookup"),
    ("INSERT", "billing_journalentry", "entry INSERT"),
    ("INSERT", "billing_journalline", "lines INSERT"),
)


def _kind(statement: str) -> str:
    text = statement.replace('"', "").lstrip().upper()
    for verb, table, kind in _KINDS:
        if text.startswith(verb) and table.upper() in text:
            return kind
    return "other statements"


class _StatementClock:
    """A Django ``execute_wrapper`` adding up the time spent in each kind of statement."""

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds[_kind(sql)] += time.perf_counter() - started


def _breakdown_line(label: str, total: float, parts: dict[str, float], count: int) -> str:
    rest = total - sum(parts.values())
    pieces = [f"{kind} {seconds / count * 1e3:.2f}" for kind, seconds in parts.items()]
    return (
        f"{label}: {total / count * 1e3:.2f} ms per entry = "
        + " + ".join(pieces)
        + f" + rest {rest / count * 1e3:.2f} ms"
    )


def _app_breakdown(first: int, count: int) -> str:
    from django.db import connections

    connection = connections["default"]
    clock = _StatementClock()
    commit = connection.commit  # what transaction.atomic calls on the way out

    def timed_commit() -> None:
        started = time.perf_counter()
        try:
            commit()
        finally:
            clock.seconds["COMMIT"] += time.perf_counter() - started

    cpu = time.process_time()
    with mock.patch.object(connection, "commit", timed_commit), connection.execute_wrapper(clock):
        total, _ = timed(partial(post_with_app, first, count, "bench:profile:split"))
    cpu = time.process_time() - cpu
    line = _breakdown_line("ledger_post", total, dict(clock.seconds), count)
    return line + f" (rest: Python); client CPU {cpu / count * 1e3:.2f} ms per entry"


def _raw_breakdown(raw: RawPoster, first: int, count: int) -> str:
    parts = {"entry INSERT": 0.0, "lines INSERT": 0.0, "COMMIT": 0.0}
    conn = raw.conn
    cpu = time.process_time()
    started = time.perf_counter()
    with conn.cursor() as cursor:
        for index in range(first, first + count):
            now = datetime.now(UTC)
            key = f"bench:profile:raw:{index}"
            step = time.perf_counter()
            cursor.execute(INSERT_ENTRY, (now, "", "manual", "", key, now), prepare=True)
            row = cursor.fetchone()
            assert row is not None
            parts["entry INSERT"] += time.perf_counter() - step
            step = time.perf_counter()
            amount = amount_for(index)
            params = (row[0], raw.debit_id, amount, row[0], raw.credit_id, amount)
            cursor.execute(raw.insert_lines, params, prepare=True)
            parts["lines INSERT"] += time.perf_counter() - step
            step = time.perf_counter()
            conn.commit()
            parts["COMMIT"] += time.perf_counter() - step
    total = time.perf_counter() - started
    cpu = time.process_time() - cpu
    line = _breakdown_line("raw psycopg", total, parts, count)
    return line + f"; client CPU {cpu / count * 1e3:.2f} ms per entry (BEGIN: in the first INSERT)"


def _use_server_side_binding(enabled: bool) -> None:
    from django.db import connection

    options = connection.settings_dict.setdefault("OPTIONS", {})
    if enabled:
        options["server_side_binding"] = True
    else:
        options.pop("server_side_binding", None)
    connection.close()  # the next query reconnects with the new option


def _binding_ab(first: int, count: int, rounds: int = 4) -> str:
    spent = {False: 0.0, True: 0.0}
    for round_index in range(rounds):
        for enabled in (False, True) if round_index % 2 == 0 else (True, False):
            _use_server_side_binding(enabled)
            post_with_app(first, 20, f"bench:profile:ab-warm:{round_index}:{enabled}")
            start = first + 100 + round_index * count
            work = partial(post_with_app, start, count, f"bench:profile:ab:{enabled}")
            spent[enabled] += timed(work)[0]
    _use_server_side_binding(False)
    total = count * rounds
    client, server = total / spent[False], total / spent[True]
    return (
        f"ledger_post with client-side binding (Django's default) {client:,.0f} entries/s,"
        f" with server_side_binding=True {server:,.0f} entries/s ({server / client - 1:+.0%})"
    )


def profile(*, entries: int = 2_000, top: int = 20) -> None:
    print(f"\n== Where ledger_post's time goes ({entries:,} entries per measurement) ==")
    with raw_connect() as conn:
        raw = RawPoster(conn)
        post_with_app(0, 200, "bench:profile:warmup")
        raw.post(0, 200, "bench:profile:raw-warmup")
        print(_app_breakdown(0, entries), flush=True)
        print(_raw_breakdown(raw, 0, entries), flush=True)
    print(_binding_ab(0, entries // 4), flush=True)
    # CPU time, not wall time: waiting on PostgreSQL is in the split above.
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    post_with_app(0, entries, "bench:profile:cprofile")
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    print(f"\n== cProfile (client CPU time) of {entries:,} ledger_post calls ==")
    print(out.getvalue())
