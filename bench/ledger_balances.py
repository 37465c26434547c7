"""What the account-balances trigger (billing 0018) costs on the posting path, and whether a
busy account stays as fast as spread ones (P5: hot ≥ 0.7x spread).

**The trigger's cost.** ``ledger_post`` and the raw baseline (``bench.ledger_post.RawPoster``:
prepared ``INSERT`` of the entry, one ``INSERT`` of both lines, ``COMMIT``) post the same
two-line entries, one transaction each, under three set-ups of this throwaway database,
in interleaved rounds (the order rotates every round):

* **statement** — the migrations' trigger: once per ``INSERT`` of lines, its rows as a
  transition table, one upsert per account and day into the connection's slot row;
* **row** — the alternative: a ``FOR EACH ROW`` trigger doing one upsert per line (the
  statement trigger disabled meanwhile);
* **none** — no balance trigger at all (what posting cost before 0018).

**The busy account.** 8 threads, each with its own connection, post with ``ledger_post``
at once: *hot*, every entry debits the patient receivable and credits service revenue;
*spread*, each thread its own two accounts (16 in all). Same count each, interleaved
rounds; the figure is the hot rate over the spread rate. The balances' slot rows
(``mod(pg_backend_pid(), 8)``) are what keeps concurrent posters of one account off each
other's row lock until commit; the run also measures hot with every poster on one slot,
to show what the slots buy.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

from bench.database import raw_connect
from bench.ledger_post import RawPoster, post_with_app
from bench.report import Outcome, ratio_outcome

TARGET_HOT = 0.7
THREADS = 8

# The alternative measured against 0018's statement-level trigger: one upsert per line.
_ROW_TRIGGER = r"""
CREATE OR REPLACE FUNCTION bench_balance_add_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO billing_accountbalance
        (account_id, day, slot, debit_total, credit_total, line_count)
    SELECT NEW.account_id, (e.posted_at AT TIME ZONE 'UTC')::date, mod(pg_backend_pid(), 8),
           NEW.debit, NEW.credit, 1
    FROM billing_journalentry e WHERE e.id = NEW.entry_id
    ON CONFLICT (account_id, day, slot) DO UPDATE SET
        debit_total = billing_accountbalance.debit_total + EXCLUDED.debit_total,
        credit_total = billing_accountbalance.credit_total + EXCLUDED.credit_total,
        line_count = billing_accountbalance.line_count + EXCLUDED.line_count;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS bench_balance_add_row ON billing_journalline;
CREATE TRIGGER bench_balance_add_row AFTER INSERT ON billing_journalline
    FOR EACH ROW EXECUTE FUNCTION bench_balance_add_row();
ALTER TABLE billing_journalline DISABLE TRIGGER bench_balance_add_row;
"""
_SETUPS = {
    "statement": ("ledger_balance_add", None),
    "row": ("bench_balance_add_row", "ledger_balance_add"),
    "none": (None, "ledger_balance_add"),
}


@contextmanager
def _setup(name: str) -> Iterator[None]:
    """The balance trigger of set-up ``name`` in place; 0018's trigger back afterwards."""
    enable, disable = _SETUPS[name]
    with raw_connect(autocommit=True) as conn:
        if disable:
            conn.execute(f"ALTER TABLE billing_journalline DISABLE TRIGGER {disable}")
        if enable:
            conn.execute(f"ALTER TABLE billing_journalline ENABLE TRIGGER {enable}")
    try:
        yield
    finally:
        with raw_connect(autocommit=True) as conn:
            conn.execute("ALTER TABLE billing_journalline DISABLE TRIGGER bench_balance_add_row")
            conn.execute("ALTER TABLE billing_journalline ENABLE TRIGGER ledger_balance_add")


def run_trigger_cost(*, rounds: int = 4, per_round: int = 100) -> list[Outcome]:
    print(
        f"\n== the balance trigger on the posting path: {rounds} rounds of {per_round}"
        " entries per set-up and side ==",
        flush=True,
    )
    with raw_connect(autocommit=True) as conn:
        conn.execute(_ROW_TRIGGER)
    spent: dict[tuple[str, str], float] = {}
    with raw_connect() as conn:
        raw = RawPoster(conn)
        work: dict[str, Callable[[int, int, str], None]] = {"app": post_with_app, "raw": raw.post}
        for side, post in work.items():  # warm both sides
            post(0, 50, f"bench:trigger:{side}:warm")
        order = [(setup, side) for setup in _SETUPS for side in work]
        for round_index in range(rounds):
            turn = order[round_index % len(order) :] + order[: round_index % len(order)]
            for setup, side in turn:
                with _setup(setup):
                    started = time.perf_counter()
                    work[side](round_index * per_round, per_round, f"bench:trigger:{setup}:{side}")
                    spent[setup, side] = spent.get((setup, side), 0.0) + (
                        time.perf_counter() - started
                    )
    total = rounds * per_round
    rates = {key: total / seconds for key, seconds in spent.items()}
    for side, label in (("app", "ledger_post"), ("raw", "raw psycopg")):
        print(
            f"{label}: "
            + ", ".join(
                f"{setup} {rates[setup, side]:,.0f} entries/s"
                f" ({1000 / rates[setup, side]:.2f} ms/entry)"
                for setup in _SETUPS
            ),
            flush=True,
        )
    bare = "no balance trigger"
    figures = (
        ("ledger_post, statement vs none", ("statement", "app"), bare, "none", "app"),
        ("raw inserts, statement vs none", ("statement", "raw"), bare, "none", "raw"),
        (
            "ledger_post vs raw inserts without it",
            ("statement", "app"),
            "raw psycopg, no balance trigger",
            "none",
            "raw",
        ),
        ("ledger_post, statement vs row", ("statement", "app"), "row-level trigger", "row", "app"),
    )
    return [
        ratio_outcome(
            name=f"balance trigger: {name}",
            unit="entries/s",
            app_rate=rates[measured],
            baseline_label=label,
            baseline_rate=rates[against, side],
            target=None,
        )
        for name, measured, label, against, side in figures
    ]


def _accounts_for_spread() -> list[tuple[str, str]]:
    """Two VND accounts per thread (debit, credit), created once."""
    from billing.models import Account, AccountType

    pairs = []
    for index in range(THREADS):
        debit, _ = Account.objects.get_or_create(
            code=f"B131{index:02d}",
            defaults={"name": f"Bench receivable {index}", "type": AccountType.ASSET},
            currency="VND",
        )
        credit, _ = Account.objects.get_or_create(
            code=f"B511{index:02d}",
            defaults={"name": f"Bench revenue {index}", "type": AccountType.REVENUE},
            currency="VND",
        )
        pairs.append((debit.code, credit.code))
    return pairs


def _post_pair(first: int, count: int, prefix: str, pair: tuple[str, str]) -> None:
    from billing.money import Money
    from billing.services.ledger import Posting, ledger_post

    debit, credit = pair
    for index in range(first, first + count):
        amount = Money(10_000 * (1 + index % 997), "VND")
        ledger_post(
            posting_key=f"{prefix}:{index}",
            lines=[Posting.dr(debit, amount), Posting.cr(credit, amount)],
            source_type="manual",
            memo=f"Benchmark posting {index}",
        )


def _concurrently(jobs: list[Callable[[], None]]) -> float:
    """Run the jobs in threads started together (own connections); wall-clock seconds."""
    from django.db import connection

    gate = threading.Barrier(len(jobs) + 1)
    errors: list[BaseException] = []

    def thread(job: Callable[[], None]) -> None:
        try:
            gate.wait()
            job()
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=thread, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    gate.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - started


@contextmanager
def _one_slot() -> Iterator[None]:
    """Every connection adds into slot 0: what a balance row per account and day would be."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_functiondef('ledger_balance_add'::regproc)",
        )
        row = cursor.fetchone()
    assert row is not None
    original: str = row[0]
    single = original.replace("mod(pg_backend_pid(), 8)", "0")
    assert single != original, "0018's trigger no longer picks a slot by mod(pg_backend_pid(), 8)"
    with raw_connect(autocommit=True) as conn:
        conn.execute(single)
    try:
        yield
    finally:
        with raw_connect(autocommit=True) as conn:
            conn.execute(original)


def run_hot_vs_spread(*, rounds: int = 3, per_thread: int = 40) -> list[Outcome]:
    from bench.ledger_post import accounts

    print(
        f"\n== busy account: {THREADS} connections posting at once, {rounds} rounds of"
        f" {per_thread} entries each ==",
        flush=True,
    )
    hot_pair = accounts()
    spread_pairs = _accounts_for_spread()
    spent = {"hot": 0.0, "spread": 0.0, "hot, one slot": 0.0}

    def jobs(kind: str, round_index: int) -> list[Callable[[], None]]:
        first = round_index * per_thread
        return [
            partial(
                _post_pair,
                first,
                per_thread,
                f"bench:busy:{kind}:{thread}",
                hot_pair if kind.startswith("hot") else spread_pairs[thread],
            )
            for thread in range(THREADS)
        ]

    _concurrently(jobs("warm", 0)[:THREADS])  # connections, plans, pages
    for round_index in range(rounds):
        kinds = ["hot", "spread", "hot, one slot"]
        kinds = kinds[round_index % 3 :] + kinds[: round_index % 3]
        for kind in kinds:
            if kind == "hot, one slot":
                with _one_slot():
                    spent[kind] += _concurrently(jobs(kind, round_index))
            else:
                spent[kind] += _concurrently(jobs(kind, round_index))
    total = rounds * per_thread * THREADS
    rates = {kind: total / seconds for kind, seconds in spent.items()}
    print(
        ", ".join(f"{kind} {rate:,.0f} entries/s" for kind, rate in rates.items()),
        flush=True,
    )
    return [
        ratio_outcome(
            name="busy account (hot vs spread, 8 connections)",
            unit="entries/s",
            app_rate=rates["hot"],
            baseline_label="spread",
            baseline_rate=rates["spread"],
            target=TARGET_HOT,
        ),
        ratio_outcome(
            name="busy account, one balance slot (hot vs spread)",
            unit="entries/s",
            app_rate=rates["hot, one slot"],
            baseline_label="spread",
            baseline_rate=rates["spread"],
            target=None,
        ),
    ]
