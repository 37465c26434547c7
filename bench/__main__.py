"""Run every benchmark: ``make bench`` or ``.venv/bin/python -m bench [options]``.

Re-creates ``vienphi_bench``, migrates it, runs the benchmarks in order (the growth tables,
whose fills leave the 1M-line ledger, posting, the balance trigger's cost and the busy
account on it, the CSV export and the XLSX export, ...), prints a summary table
and drops the database again (``--keep-db`` leaves it for inspection). The exit status is 0
even when a target is missed: the summary says MISSED.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence

from bench import database


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--post-entries", type=int, default=5_000, help="per side (5,000)")
    parser.add_argument("--export-lines", type=int, default=1_000_000, help="CSV (1,000,000)")
    parser.add_argument("--xlsx-lines", type=int, default=1_000_000, help="XLSX (1,000,000)")
    parser.add_argument(
        "--xlsx-openpyxl-lines",
        type=int,
        default=200_000,
        help="rows of the XLSX window openpyxl's ceiling writes (200,000)",
    )
    parser.add_argument(
        "--xlsx-only",
        action="store_true",
        help="only the XLSX export, on a ledger filled to --xlsx-lines",
    )
    parser.add_argument("--repeats", type=int, default=2, help="CSV timed runs per path (2)")
    parser.add_argument(
        "--payments", type=int, default=600, help="HTTP payments at peak (600; 0: skip)"
    )
    parser.add_argument(
        "--payments-conn-max-age",
        type=int,
        default=None,
        help="the server's DB_CONN_MAX_AGE (default: the environment's, else the app's 60)",
    )
    parser.add_argument(
        "--payments-only", action="store_true", help="run only the HTTP payments benchmark"
    )
    parser.add_argument(
        "--recon-lines", type=int, default=100_000, help="statement import (100,000)"
    )
    parser.add_argument(
        "--recon-sizes",
        default="10000,100000",
        help="matcher sizes, lines = expected items (10000,100000; add 1000000 for the 1M step)",
    )
    parser.add_argument(
        "--recon-only", action="store_true", help="run only the reconciliation benchmarks"
    )
    parser.add_argument(
        "--receipts", type=int, default=2_000, help="receipts drained (2,000; 0: skip)"
    )
    parser.add_argument(
        "--receipts-only", action="store_true", help="run only the receipts benchmark"
    )
    parser.add_argument(
        "--receipts-channel",
        choices=("kiosk", "phone"),
        default="kiosk",
        help="whose receipts: kiosk (the thermal roll, the default) or phone (the A4)",
    )
    parser.add_argument(
        "--growth-only",
        action="store_true",
        help="only the growth tables (ledger at 10k, 100k, --export-lines; invoices), posting",
    )
    parser.add_argument(
        "--invoice-sizes",
        default="1000,10000,100000",
        help="invoice counts of the growth table (1000,10000,100000)",
    )
    parser.add_argument(
        "--statements-only",
        action="store_true",
        help="only the statements table: a one-day statement at 10k and --export-lines",
    )
    parser.add_argument("--keep-db", action="store_true", help="leave vienphi_bench in place")
    parser.add_argument(
        "--profile-post",
        action="store_true",
        help="only show where ledger_post's time goes (per statement, binding A/B, cProfile)",
    )
    return parser.parse_args(argv)


def _load() -> str:
    """Other work on the machine moves every figure: say how busy it was."""
    one, five, _ = os.getloadavg()
    return f"{os.cpu_count()} CPUs, load average {one:.1f} (1 min), {five:.1f} (5 min)"


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    started = time.perf_counter()
    print(f"Re-creating database {database.BENCH_DB} and migrating it ...", flush=True)
    database.database_recreate()
    database.django_setup_and_migrate()
    print(f"PostgreSQL: {database.server_settings()}", flush=True)
    print(f"Machine: {_load()}", flush=True)

    from django.db import connections

    from bench import (
        growth,
        ledger_balances,
        ledger_export_csv,
        ledger_export_xlsx,
        ledger_fill,
        ledger_post,
        ledger_post_profile,
        payments_http,
        receipts,
        reconciliation,
        statements,
    )
    from bench.http_server import finance_authorization
    from bench.report import Outcome, print_summary

    try:
        if args.profile_post:
            ledger_post_profile.profile()
            return 0
        outcomes: list[Outcome] = []
        if args.payments_only:
            outcomes += payments_http.run(
                payments=args.payments, conn_max_age=args.payments_conn_max_age
            )
            print_summary(outcomes)
            return 0
        if args.receipts_only:
            outcomes += receipts.run(count=args.receipts, channel=args.receipts_channel)
            print_summary(outcomes)
            return 0
        if args.statements_only:
            outcomes += statements.run(lines=args.export_lines)
            print_summary(outcomes)
            return 0
        if args.xlsx_only:
            outcomes += ledger_export_xlsx.run(
                filled=ledger_fill.ledger_fill(lines=args.xlsx_lines),
                lines=args.xlsx_lines,
                openpyxl_lines=args.xlsx_openpyxl_lines,
            )
            print_summary(outcomes)
            return 0
        recon_sizes = [int(size) for size in args.recon_sizes.split(",") if size]
        invoice_sizes = [int(size) for size in args.invoice_sizes.split(",") if size]
        if args.recon_only:
            outcomes += reconciliation.run_import(lines=args.recon_lines)
            outcomes += reconciliation.run_match(sizes=recon_sizes)
            print_summary(outcomes)
            return 0
        statement_sizes: list[statements.Size] = []
        authorization = finance_authorization()
        ledger_outcomes, filled = growth.run_ledger(
            lines=args.export_lines,
            at_each_step=lambda step: statement_sizes.append(
                statements.measure(step.last_day, authorization)
            ),
        )
        outcomes += ledger_outcomes
        outcomes += statements.report(statement_sizes)
        outcomes += growth.run_invoices(invoice_sizes)
        outcomes += ledger_post.run(entries=args.post_entries)
        outcomes += ledger_balances.run_trigger_cost()
        outcomes += ledger_balances.run_hot_vs_spread()
        if args.growth_only:
            print_summary(outcomes)
            return 0
        outcomes += ledger_export_csv.run(
            filled=filled, repeats=args.repeats, authorization=authorization
        )
        outcomes += ledger_export_xlsx.run(
            filled=filled, lines=args.xlsx_lines, openpyxl_lines=args.xlsx_openpyxl_lines
        )
        outcomes += reconciliation.run_import(lines=args.recon_lines)
        outcomes += reconciliation.run_match(sizes=recon_sizes)
        if args.receipts > 0:
            outcomes += receipts.run(count=args.receipts, channel=args.receipts_channel)
        if args.payments > 0:
            outcomes += payments_http.run(
                payments=args.payments, conn_max_age=args.payments_conn_max_age
            )
        print_summary(outcomes)
    finally:
        connections.close_all()
        if not args.keep_db:
            database.database_drop()
        print(f"\nTotal bench time {time.perf_counter() - started:.1f} s; {_load()}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
