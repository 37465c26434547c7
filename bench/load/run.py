"""The morning peak under load with faults injected, against the `make serve` stack.

    .venv/bin/python -m bench.load.run [--users 20] [--seconds 240] [--faults all|none]

Starts its own Redis (a port of its own, so restarting it hurts nobody else), a database
of its own, the Procfile's web, worker and beat (each on its own, as the systemd units run
them: honcho would stop all three when one dies), seeds invoices, runs locust
headless, and injects one fault at a time while it runs: ``kill -9`` of the Celery worker
(restarted by the run, as systemd's Restart=always would), a restart of its
Redis, every PostgreSQL backend of its database terminated, one gunicorn worker killed.
Then it waits for the queues to drain and checks what must hold, printing a report.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent.parent
VAR = ROOT / "var" / "load"
BIN = ROOT / ".venv" / "bin"
REDIS_PORT = 6391
WEB_PORT = 8791
DB = "vienphi_load"
SEPAY_KEY = "load-sepay-api-key"


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB}",
        "REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
        "SEPAY_API_KEY": SEPAY_KEY,
        "GUNICORN_BIND": f"127.0.0.1:{WEB_PORT}",
        "GUNICORN_WORKERS": os.environ.get("GUNICORN_WORKERS", "3"),
        "CELERY_CONCURRENCY": "2",
        "CELERY_QUEUE": "vienphi-load",
        "PROMETHEUS_MULTIPROC_DIR": str(VAR / "prometheus"),
        "LOG_LEVEL": "WARNING",
        "CELERY_LOG_LEVEL": "WARNING",
    }


def _redis() -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["redis-server", "--port", str(REDIS_PORT), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _sql(query: str) -> list[tuple]:
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{DB}", autocommit=True) as conn:
        return conn.execute(query).fetchall()


def _scalar(query: str) -> object:
    """The one value a ``SELECT count(*)``-like query answers."""
    return _sql(query)[0][0]


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=240)
    parser.add_argument("--invoices", type=int, default=3000)
    parser.add_argument("--faults", default="all")
    args = parser.parse_args()
    VAR.mkdir(parents=True, exist_ok=True)
    env = _env()
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DB], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DB], check=True)
    redis = _redis()
    time.sleep(1)
    subprocess.run([BIN / "python", "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    seed = VAR / "seed.json"
    subprocess.run(
        [BIN / "python", "-m", "bench.load.seed", str(seed), str(args.invoices)],
        cwd=ROOT,
        env=env,
        check=True,
    )
    log = (VAR / "stack.log").open("w")
    # The Procfile's three processes, each on its own as systemd runs them (honcho stops
    # them all when one dies, which is not what production does).
    stack: dict[str, subprocess.Popen[bytes]] = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(": ")
        stack[name] = subprocess.Popen(  # noqa: S602 - the Procfile's own lines
            command,
            shell=True,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    time.sleep(15)
    locust = subprocess.Popen(
        [
            BIN / "locust",
            "-f",
            "bench/load/locustfile.py",
            "--headless",
            "-u",
            str(args.users),
            "-r",
            str(max(args.users // 5, 1)),
            "-t",
            f"{args.seconds}s",
            "--host",
            f"http://127.0.0.1:{WEB_PORT}",
            "--csv",
            str(VAR / "locust"),
            "--only-summary",
        ],
        cwd=ROOT,
        env={**env, "LOAD_SEED": str(seed)},
        stdout=(VAR / "locust.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    faults: list[str] = []
    if args.faults == "all":
        slot = args.seconds / 5
        time.sleep(slot)
        os.killpg(stack["worker"].pid, signal.SIGKILL)  # the worker and its children
        faults.append(f"{time.strftime('%H:%M:%S')} kill -9 celery worker")
        time.sleep(3)
        worker_line = next(
            line.partition(": ")[2]
            for line in (ROOT / "Procfile").read_text().splitlines()
            if line.startswith("worker:")
        )
        stack["worker"] = subprocess.Popen(  # noqa: S602 - systemd's Restart=always, by hand
            worker_line,
            shell=True,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        time.sleep(slot - 3)
        redis.send_signal(signal.SIGKILL)
        redis.wait()
        time.sleep(2)
        redis = _redis()
        faults.append(f"{time.strftime('%H:%M:%S')} Redis killed and restarted (empty)")
        time.sleep(slot)
        _sql(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{DB}' AND pid <> pg_backend_pid()"
        )
        faults.append(f"{time.strftime('%H:%M:%S')} PostgreSQL backends terminated")
        time.sleep(slot)
        # The Procfile's line may run under a shell, whose child is then gunicorn's master;
        # the master's children are the workers. Kill one worker (the master replaces it).
        # (Until 2026-12-04 21:10 this took the shell's child, the master, for a worker.)
        web = stack["web"].pid
        shell = Path(f"/proc/{web}/cmdline").read_bytes().startswith(b"/bin/sh")
        masters = _children(web) if shell else [web]
        workers = [pid for m in masters for pid in _children(m)]
        if workers:
            os.kill(workers[0], signal.SIGKILL)
            faults.append(f"{time.strftime('%H:%M:%S')} gunicorn worker {workers[0]} killed")
    locust.wait()
    drained = drain(int(os.environ.get("LOAD_DRAIN_SECONDS", "90")))
    report(faults, drained)
    for process in stack.values():
        os.killpg(process.pid, signal.SIGTERM)
    for process in stack.values():
        process.wait(timeout=60)
    redis.terminate()


MISSING_RECEIPTS = (
    "SELECT p.id, p.succeeded_at FROM payments_payment p WHERE p.status = 'succeeded' AND NOT"
    " EXISTS (SELECT 1 FROM notifications_receipt r WHERE r.payment_id = p.id AND r.refund_id"
    " IS NULL) ORDER BY p.succeeded_at"
)


def drain(most_seconds: int) -> list[str]:
    """Let the queues drain (beat re-relays the outbox; its receipt sweep issues the receipts
    whose tasks died with Redis once their payment is ``RECEIPT_SWEEP_AFTER_MINUTES`` old),
    polling every 10 s: stops when nothing is owed any more or after ``most_seconds``.
    Returns the timeline: receipts missing (and how old the oldest such payment is), outbox
    rows waiting, webhook events unapplied."""
    started = time.monotonic()
    timeline: list[str] = []
    while True:
        missing = _sql(MISSING_RECEIPTS)
        waiting = _scalar("SELECT count(*) FROM payments_outboxevent WHERE published_at IS NULL")
        unapplied = _scalar("SELECT count(*) FROM payments_webhookevent WHERE applied_at IS NULL")
        elapsed = time.monotonic() - started
        oldest = _scalar(
            "SELECT coalesce(extract(epoch FROM now() - min(p.succeeded_at)), 0)::int FROM"
            f" ({MISSING_RECEIPTS}) p"
        )
        timeline.append(
            f"{elapsed:5.0f} s after the load: {len(missing)} receipts missing (oldest payment"
            f" {oldest} s since success), {waiting} outbox rows waiting, {unapplied} webhook"
            " events unapplied"
        )
        if (not missing and not waiting and not unapplied) or elapsed >= most_seconds:
            return timeline
        time.sleep(10)


def report(faults: list[str], drained: list[str]) -> None:
    rows = list(csv.DictReader((VAR / "locust_stats.csv").open()))
    print("faults:", *faults, sep="\n  ")
    print("drain:", *drained, sep="\n  ")
    print(f"{'endpoint':32} {'requests':>8} {'failures':>8} {'rps':>7} {'p50 ms':>7} {'p99 ms':>7}")
    for row in rows:
        print(
            f"{row['Name'][:32]:32} {row['Request Count']:>8} {row['Failure Count']:>8} "
            f"{float(row['Requests/s']):7.2f} {row['50%']:>7} {row['99%']:>7}"
        )
    failures = list(csv.DictReader((VAR / "locust_failures.csv").open()))
    print(
        "what clients saw on failure:",
        json.dumps(
            {f"{f['Name']} {f['Error']}": f["Occurrences"] for f in failures}, ensure_ascii=False
        ),
    )
    checks = {
        "payments succeeded": _scalar(
            "SELECT count(*) FROM payments_payment WHERE status = 'succeeded'"
        ),
        "invoices with two captures (must be 0)": _scalar(
            "SELECT count(*) FROM (SELECT invoice_id FROM payments_payment WHERE status IN"
            " ('succeeded','partially_refunded','refunded') GROUP BY invoice_id HAVING count(*) > 1) x"
        ),
        "succeeded without capture entry (must be 0)": _scalar(
            "SELECT count(*) FROM payments_payment p WHERE p.status = 'succeeded' AND NOT EXISTS"
            " (SELECT 1 FROM billing_journalentry e WHERE e.posting_key = 'payment:' || p.id || ':captured')"
        ),
        "succeeded without receipt (must be 0)": _scalar(
            "SELECT count(*) FROM payments_payment p WHERE p.status = 'succeeded' AND NOT EXISTS"
            " (SELECT 1 FROM notifications_receipt r WHERE r.payment_id = p.id AND r.refund_id IS NULL)"
        ),
        "payments with two receipts (must be 0)": _scalar(
            "SELECT count(*) FROM (SELECT payment_id FROM notifications_receipt WHERE refund_id IS NULL"
            " GROUP BY payment_id HAVING count(*) > 1) x"
        ),
        "trial balance debit - credit (must be 0)": _scalar(
            "SELECT coalesce(sum(debit) - sum(credit), 0) FROM billing_journalline"
        ),
        "webhook events unapplied": _scalar(
            "SELECT count(*) FROM payments_webhookevent WHERE applied_at IS NULL"
        ),
        "5xx answers in the access log": sum(
            1 for line in (VAR / "stack.log").open(errors="replace") if '"status": 5' in line
        ),
        "receipts issued by beat's sweep (their task was lost)": sum(
            int(line.split('"message": "', 1)[1].split(" ", 1)[0])
            for line in (VAR / "stack.log").open(errors="replace")
            if "receipts issued by the sweep" in line and '"message": "' in line
        ),
        "audit rows / audit chain intact": _audit(),
    }
    for name, value in checks.items():
        print(f"  {name}: {value}")


def _audit() -> str:
    rows = _scalar("SELECT count(*) FROM audit_auditevent")
    verify = subprocess.run(
        [BIN / "python", "manage.py", "audit_verify"],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
    )
    return f"{rows} rows, audit_verify exit {verify.returncode}"


if __name__ == "__main__":
    main()
