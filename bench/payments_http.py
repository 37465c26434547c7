"""Benchmark 4: payments created and confirmed per second through the HTTP API.

One payment is two requests against gunicorn: ``POST /api/v1/payments`` from a kiosk
(``Authorization: Device …``, an ``Idempotency-Key``, a VietQR payment of the whole invoice)
and the bank's ``POST /webhooks/bank/sepay`` reporting the transfer with the payment's memo
code, which captures it (ledger entry, invoice paid, outbox event). The client is a pool of
threads in this process speaking plain ``http.client`` (one connection per request: the
sync workers close it anyway).

Phases, on invoices issued through the billing services beforehand (not timed):

0. **capture**: a server and worker started with ``log_statement = 'all'`` on the bench
   database pay one invoice (warm) and then one more; that payment's statements, read from
   the server's log, must be what ``bench/payments.pgbench`` sends (else the run stops);
1. **raw pgbench** (``bench/payments_pgbench.py``): that script, 8 clients, warm, in both
   protocols (``-M prepared``, ``-M simple``), then ``--rate`` at a quarter of its peak for
   its p99; no server or worker runs meanwhile (the worker's statements are in the script);
2. **peak**: closed loop, ``concurrency`` clients each paying its invoices one after another,
   the worker running;
3. **quarter peak**: open loop, ``QUARTER_SAMPLES`` payments started on a fixed schedule at a
   quarter of the peak rate; a create's latency counts from its scheduled start (no
   coordinated omission);
4. **replays**: creates only (first requests) on fresh invoices, closed loop, then the very
   same requests again (same keys and bodies), answered from the stored response.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bench import payments_pgbench
from bench.report import Outcome, rate, ratio_outcome

TARGET_RATIO = 0.12
TARGET_P99_MS = 60.0
TARGET_REPLAY = 2.0
SEPAY_KEY = "bench-sepay-api-key"
QUARTER_SECONDS = 8.0
# The p99 at a quarter of the peak is read from this many payments at least.
QUARTER_SAMPLES = int(os.environ.get("BENCH_QUARTER_SAMPLES", "2000"))
PAYMENTS_PATH = "/api/v1/payments"
SEPAY_PATH = "/webhooks/bank/sepay"


@dataclass(frozen=True, slots=True)
class Bill:
    invoice_id: int
    amount: int
    public_id: str  # what the API takes as invoice_id


@dataclass(slots=True)
class Latencies:
    create: list[float] = field(default_factory=list)
    confirm: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, create: float, confirm: float | None) -> None:
        with self.lock:
            self.create.append(create)
            if confirm is not None:
                self.confirm.append(confirm)


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index] * 1000


def _p(values: Sequence[float]) -> str:
    return f"p50 {percentile(values, 0.50):.1f} ms, p99 {percentile(values, 0.99):.1f} ms"


# --- setup (not timed) ---------------------------------------------------------------------


def bills_issue(count: int) -> list[Bill]:
    """``count`` invoices, each owed wholly by its patient, issued through the services."""
    from billing.models import PriceListItem, ServiceCategory, VatRate
    from billing.services.encounters import ChargeInput, charges_add, encounter_open
    from billing.services.invoices import invoice_issue
    from billing.services.patients import patient_create

    tag = uuid.uuid4().hex[:6].upper()
    item = PriceListItem.objects.create(
        service_code=f"BENCH{tag}",
        name="Khám bệnh (bench)",
        unit="lần",
        category=ServiceCategory.EXAMINATION,
        price=150_000,
        insurance_price=150_000,
        on_demand=False,
        vat_rate=VatRate.KCT,
        currency="VND",
        effective_from=datetime(2020, 1, 1, tzinfo=UTC).date(),
    )
    bills = []
    for index in range(count):
        patient = patient_create(code=f"BB{tag}{index:07d}", full_name="Bệnh nhân Bench")
        encounter = encounter_open(
            patient=patient,
            his_reference=f"BENCH-{tag}-{index}",
            kind="outpatient",
            department="Khoa Nội",
        )
        charges_add(encounter=encounter, items=[ChargeInput(item.service_code, 1)])
        invoice = invoice_issue(encounter=encounter, issued_by="bench")
        bills.append(Bill(invoice.pk, invoice.patient_share, invoice.public_id))
    return bills


def bills_issue_parallel(count: int, threads: int = 4) -> list[Bill]:
    """:func:`bills_issue` in ``threads`` threads (each its own connection), for setups of
    thousands of invoices: on the loaded shared machine one thread took 18 minutes for
    2,800."""
    from django.db import connection

    def chunk(size: int) -> list[Bill]:
        try:
            return bills_issue(size)
        finally:
            connection.close()

    sizes = [count // threads + (1 if i < count % threads else 0) for i in range(threads)]
    with ThreadPoolExecutor(threads) as pool:
        return [bill for part in pool.map(chunk, sizes) for bill in part]


def kiosk_authorization(bills: Sequence[Bill] = ()) -> tuple[int, str]:
    """A new kiosk device: its id and its ``Authorization`` header value. A kiosk pays
    only for patients it looked up (``KIOSK_PAY_LINK_LOOKUP_MINUTES``): the lookups of the
    ``bills``' patients are recorded here, in setup, not timed."""
    from billing.models import Invoice, LookupAudit
    from config.identity.services import device_create

    device, key = device_create(kind="kiosk", name=f"bench-kiosk-{time.time_ns()}")
    patients = Invoice.objects.filter(pk__in=[b.invoice_id for b in bills]).values_list(
        "patient_id", flat=True
    )
    LookupAudit.objects.bulk_create(
        LookupAudit(device=device, identifier_kind="patient_code", patient_id=p, found=True)
        for p in patients
    )
    return device.pk, f"Device {key}"


# --- the HTTP client -----------------------------------------------------------------------


def _post(port: int, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(
            "POST", path, body=body, headers={"Content-Type": "application/json", **headers}
        )
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


@dataclass(slots=True)
class Client:
    port: int
    authorization: str
    sent: list[tuple[str, bytes]] = field(default_factory=list)  # (key, body) of each create
    lock: threading.Lock = field(default_factory=threading.Lock)

    def create(self, bill: Bill) -> tuple[float, str]:
        key = f"bench-{uuid.uuid4().hex}"
        body = json.dumps(
            {"invoice_id": bill.public_id, "amount": bill.amount, "method": "vietqr"}
        ).encode()
        started = time.perf_counter()
        status, answer = self.replay(key, body)
        elapsed = time.perf_counter() - started
        if status != 201:
            raise RuntimeError(f"create answered {status}: {answer}")
        with self.lock:
            self.sent.append((key, body))
        return elapsed, answer["next_action"]["memo_code"]

    def replay(self, key: str, body: bytes) -> tuple[int, Any]:
        headers = {"Authorization": self.authorization, "Idempotency-Key": key}
        return _post(self.port, PAYMENTS_PATH, body, headers)

    def confirm(self, bill: Bill, memo_code: str) -> float:
        from django.conf import settings

        body = json.dumps(
            {
                "id": uuid.uuid4().hex,
                "gateway": "Vietcombank",
                "transactionDate": datetime.now(UTC)
                .astimezone()
                .replace(tzinfo=None)
                .strftime("%Y-%m-%d %H:%M:%S"),
                "accountNumber": settings.VIETQR_ACCOUNT,
                "code": memo_code,
                "content": f"{memo_code} thanh toan vien phi",
                "transferType": "in",
                "transferAmount": bill.amount,
                "referenceCode": f"FT{uuid.uuid4().hex[:12].upper()}",
            }
        ).encode()
        started = time.perf_counter()
        status, answer = _post(
            self.port, SEPAY_PATH, body, {"Authorization": f"Apikey {SEPAY_KEY}"}
        )
        elapsed = time.perf_counter() - started
        if status != 200:
            raise RuntimeError(f"sepay webhook answered {status}: {answer}")
        return elapsed

    def pay(self, bill: Bill, latencies: Latencies, *, scheduled: float | None = None) -> None:
        lag = time.perf_counter() - scheduled if scheduled is not None else 0.0
        create, memo = self.create(bill)
        latencies.add(create + max(0.0, lag), self.confirm(bill, memo))


def _closed_loop(work: Sequence[Any], concurrency: int, job: Callable[[Any], None]) -> float:
    """Run ``job`` over ``work`` with ``concurrency`` threads; the wall-clock seconds."""
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for _ in pool.map(job, work):
            pass
    return time.perf_counter() - started


def _open_loop(client: Client, bills: Sequence[Bill], per_second: float) -> Latencies:
    latencies = Latencies()
    interval = 1 / per_second
    start = time.perf_counter() + 0.05
    with ThreadPoolExecutor(64) as pool:
        futures = []
        for index, bill in enumerate(bills):
            due = start + index * interval
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(client.pay, bill, latencies, scheduled=due))
        for future in futures:
            future.result()
    return latencies


# --- capture and the raw baseline (pgbench) -----------------------------------------------


def _earlier_events_set_aside() -> None:
    """Outbox events the run's earlier parts left unpublished (growth's in-process payments,
    reconciliation's matches) are marked published before this part starts: their
    subscribers' work is not part of this figure, and the bench runs no beat. Left there,
    each relay a payment's commit sends would publish the 100 oldest of them instead of
    that payment's own event (``outbox_relay`` takes a batch per call), so the capture's
    warm-up payment was never finished when more than 100 were left."""
    with payments_pgbench.quiet_connect() as conn:
        left = conn.execute(
            "UPDATE payments_outboxevent SET published_at = now() WHERE published_at IS NULL"
        ).rowcount  # the connection commits each statement
    if left:
        print(f"{left:,} outbox events left by earlier parts set aside (not relayed)", flush=True)


def _drained(payment_public_id: str) -> bool:
    """The worker has done all it does for the payment: outbox relayed, receipt issued and
    rendered, no task in progress (read on a connection that stays out of the log)."""
    with payments_pgbench.quiet_connect() as conn:
        row = conn.execute(
            # The payment's own events: an earlier bench of the same run (growth's in-process
            # payments, whose relay goes to a broker nobody reads) leaves others unpublished.
            "SELECT (SELECT count(*) FROM payments_outboxevent o JOIN payments_payment p"
            "  ON p.id = (o.payload->>'payment_id')::bigint"
            "  WHERE p.public_id = %s AND o.published_at IS NULL),"
            " (SELECT count(*) FROM payments_taskdelivery),"
            " (SELECT count(*) FROM notifications_receiptpdf f JOIN notifications_receipt r"
            "  ON r.id = f.receipt_id JOIN payments_payment p ON p.id = r.payment_id"
            "  WHERE p.public_id = %s)",
            (payment_public_id, payment_public_id),
        ).fetchone()
    assert row is not None
    return row[0] == 0 and row[1] == 0 and row[2] > 0


def _wait_drained(payment_public_id: str, timeout: float = 600.0) -> None:
    # The worker runs at nice 19: on the loaded shared machine one receipt's PDF has taken
    # over two minutes.
    deadline = time.monotonic() + timeout
    while not _drained(payment_public_id):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the worker did not finish payment {payment_public_id}")
        time.sleep(0.2)
    time.sleep(0.5)  # the task's own bookkeeping after its last row


def capture_payment(
    workers: int, conn_max_age: int, authorization: str, bills: Sequence[Bill]
) -> payments_pgbench.Capture:
    """The app's statements for one payment, from the server's log: a server and worker
    started for this alone (their sessions log every statement), one payment to warm them,
    then the captured one, each step waited for."""
    with payments_pgbench.statement_logging(), _server(1, conn_max_age) as (port, _):
        client = Client(port=port, authorization=authorization)
        warm_memo = client.create(bills[0])[1]
        client.confirm(bills[0], warm_memo)
        _wait_drained(_public_id_of(warm_memo))
        state: dict[str, str] = {}

        def create() -> None:
            state["memo"] = client.create(bills[1])[1]

        def confirm() -> None:
            client.confirm(bills[1], state["memo"])

        def worker() -> None:
            _wait_drained(_public_id_of(state["memo"]))

        return payments_pgbench.capture({"create": create, "confirm": confirm, "worker": worker})


def _public_id_of(memo_code: str) -> str:
    with payments_pgbench.quiet_connect() as conn:
        row = conn.execute(
            "SELECT public_id FROM payments_payment WHERE memo_code = %s", (memo_code,)
        ).fetchone()
    assert row is not None
    return str(row[0])


@dataclass(frozen=True, slots=True)
class RawFigures:
    prepared: payments_pgbench.PgbenchRun
    simple: payments_pgbench.PgbenchRun
    quarter: payments_pgbench.PgbenchRun


RAW_POOL = 40_000
RAW_SECONDS = 10.0


def raw_pgbench(template: Bill, device_id: int, clients: int) -> RawFigures:
    """pgbench with the app's statements (bench/payments.pgbench): warm, then the peak in
    both protocols, then a quarter of the prepared peak for the p99 (>= 2,000 samples)."""
    from django.utils import timezone

    from config.identity.models import Device

    pool = payments_pgbench.RawPool.create(template.invoice_id, RAW_POOL)
    device = Device.objects.get(pk=device_id)
    constants = {
        "key_digest": device.key_digest,
        "audit_day": timezone.localdate().isoformat(),
    }

    def run(mode: str, seconds: float, per_second: float | None = None) -> Any:
        return payments_pgbench.pgbench(
            pool=pool,
            clients=clients,
            seconds=seconds,
            mode=mode,
            constants=constants,
            rate=per_second,
        )

    figures = {}
    for mode in ("prepared", "simple"):
        run(mode, 3)  # warm: plans, caches, the pool's pages
        figures[mode] = run(mode, RAW_SECONDS)
        done = figures[mode]
        print(
            f"raw pgbench -M {mode}: {done.transactions:,} payments in {RAW_SECONDS:.0f} s ="
            f" {done.tps:,.1f}/s, {clients} clients, p99 {done.p99():.1f} ms"
            f" ({done.failed} failed); load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    quarter_rate = figures["prepared"].tps / 4
    seconds = max(QUARTER_SECONDS, 1.1 * QUARTER_SAMPLES / quarter_rate)
    quarter = run("prepared", seconds, quarter_rate)
    print(
        f"raw pgbench quarter peak: {quarter.transactions:,} payments paced at"
        f" {quarter_rate:,.1f}/s (-M prepared); p50"
        f" {percentile([v / 1000 for v in quarter.latencies_ms], 0.5):.1f} ms,"
        f" p99 {quarter.p99():.1f} ms",
        flush=True,
    )
    return RawFigures(figures["prepared"], figures["simple"], quarter)


# --- the server ----------------------------------------------------------------------------


# Production runs on Redis with real workers: so does the bench server (its own Redis
# database and queue), with one worker relaying the outbox as it would in production.
BENCH_REDIS_URL = "redis://127.0.0.1:6379/13"
BENCH_QUEUE = "vienphi-bench"


@contextmanager
def _server(workers: int, conn_max_age: int) -> Iterator[tuple[int, _Worker]]:
    from bench.http_server import environment, gunicorn_server

    extra = {
        "SEPAY_API_KEY": SEPAY_KEY,
        "DB_CONN_MAX_AGE": str(conn_max_age),
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", BENCH_REDIS_URL),
        "CELERY_QUEUE": BENCH_QUEUE,
        # The lookups were recorded at setup; a long run must not outlive them.
        "KIOSK_PAY_LINK_LOOKUP_MINUTES": "1440",
        # libpq's application_name: the capture tells the web's sessions from the worker's.
        "PGAPPNAME": payments_pgbench.WEB_APPLICATION,
    }
    with (
        environment(extra),
        _celery_worker() as worker,
        gunicorn_server(workers=workers, quiet=True) as server,
    ):
        yield server.port, worker


@dataclass(frozen=True, slots=True)
class _Worker:
    process: subprocess.Popen[bytes]

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Freeze the worker (master and child) while a baseline runs, then let it go on."""
        group = os.getpgid(self.process.pid)
        os.killpg(group, signal.SIGSTOP)
        try:
            yield
        finally:
            os.killpg(group, signal.SIGCONT)


@contextmanager
def _celery_worker() -> Iterator[_Worker]:
    """One ``celery worker`` (prefork, one child, lowest CPU priority) on the bench queue, its
    queue purged first and last so no message outlives the run."""
    from bench.http_server import PROJECT_ROOT

    # At the lowest CPU priority: on this 2-core machine the worker (receipts, their PDFs,
    # messages) would otherwise take a core from the web workers being measured; in
    # production it runs on its own cores. Its own process group (to pause it) but not its
    # own session: the kernel's autogroup scheduling would give a new session an equal
    # share of the CPU whatever its nice value.
    command = ["nice", "-n", "19", sys.executable, "-m", "celery", "-A", "config", "worker"]
    command += ["--pool=prefork", "--concurrency=1", f"--queues={BENCH_QUEUE}"]
    command += ["--loglevel=WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    purge = [sys.executable, "-m", "celery", "-A", "config", "purge", "-f", "-Q", BENCH_QUEUE]
    env, devnull = os.environ.copy(), subprocess.DEVNULL
    env["PGAPPNAME"] = "vienphi-bench-worker"
    subprocess.run(  # noqa: S603 - fixed argv
        purge, check=True, cwd=PROJECT_ROOT, env=env, stdout=devnull, stderr=devnull
    )
    worker = subprocess.Popen(  # noqa: S603 - fixed argv
        command, cwd=PROJECT_ROOT, env=env, stdout=devnull, stderr=devnull, process_group=0
    )
    try:
        yield _Worker(worker)
    finally:
        os.killpg(os.getpgid(worker.pid), signal.SIGCONT)
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        subprocess.run(  # noqa: S603 - fixed argv
            purge, check=False, cwd=PROJECT_ROOT, env=env, stdout=devnull, stderr=devnull
        )


def conn_max_age_default() -> int:
    """The server's ``DB_CONN_MAX_AGE``: this process's environment, else the app's
    default on PostgreSQL (60)."""
    return int(os.environ.get("DB_CONN_MAX_AGE") or 60)


def run(
    *, payments: int, conn_max_age: int | None = None, concurrency: int | None = None
) -> list[Outcome]:
    from billing.models import Invoice, InvoiceStatus

    cpus = os.cpu_count() or 1
    workers = 2 * cpus
    concurrency = concurrency or 2 * workers
    conn_max_age = conn_max_age_default() if conn_max_age is None else conn_max_age
    print(
        f"\n== payments over HTTP: {payments:,} payments (create + confirm), gunicorn"
        f" {workers} sync workers (DB_CONN_MAX_AGE={conn_max_age}), Redis broker and one"
        f" celery worker, {concurrency} concurrent clients ==",
        flush=True,
    )
    quarter_budget = concurrency + QUARTER_SAMPLES
    replays = max(2 * concurrency, payments // 3)
    started = time.perf_counter()
    bills = bills_issue_parallel(2 + payments + quarter_budget + replays)
    device_id, authorization = kiosk_authorization(bills)
    print(
        f"setup: {len(bills):,} invoices issued through the billing services in"
        f" {time.perf_counter() - started:.1f} s (not timed)",
        flush=True,
    )
    capture_bills, bills = bills[:2], bills[2:]
    _earlier_events_set_aside()
    peak_bills = bills[:payments]
    quarter_bills = bills[payments : payments + quarter_budget]
    replay_bills = bills[payments + quarter_budget :]

    captured = capture_payment(workers, conn_max_age, authorization, capture_bills)
    print(f"captured from the server's log: {captured.counts()}", flush=True)
    payments_pgbench.check_script(captured, payments_pgbench.SCRIPT.read_text())
    print(f"{payments_pgbench.SCRIPT.name}: the same statements, checked", flush=True)
    raw = raw_pgbench(capture_bills[1], device_id, concurrency)

    with _server(workers, conn_max_age) as (port, _worker):
        client = Client(port=port, authorization=authorization)
        warm = Latencies()
        for bill in quarter_bills[:concurrency]:  # warm every worker's imports
            client.pay(bill, warm)
        quarter_bills = quarter_bills[concurrency:]

        peak = Latencies()
        peak_seconds = _closed_loop(peak_bills, concurrency, lambda b: client.pay(b, peak))
        peak_rate = rate(len(peak_bills), peak_seconds)
        print(
            f"peak: {len(peak_bills):,} payments in {peak_seconds:.2f} s = {peak_rate:,.1f}/s"
            f" ({2 * peak_rate:,.0f} requests/s); create {_p(peak.create)};"
            f" confirm {_p(peak.confirm)}; load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )

        quarter_rate = peak_rate / 4
        count = len(quarter_bills)
        quarter = _open_loop(client, quarter_bills[:count], quarter_rate)
        print(
            f"quarter peak: {count:,} payments paced at {quarter_rate:,.1f}/s (open loop);"
            f" create {_p(quarter.create)}; confirm {_p(quarter.confirm)};"
            f" load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )

        firsts = Latencies()
        client.sent.clear()
        first_seconds = _closed_loop(
            replay_bills, concurrency, lambda b: firsts.add(client.create(b)[0], None)
        )
        stored = list(client.sent)
        again = Latencies()

        def replay(sent: tuple[str, bytes]) -> None:
            begun = time.perf_counter()
            status, _ = client.replay(*sent)
            again.add(time.perf_counter() - begun, None)
            if status != 201:
                raise RuntimeError(f"replay answered {status}")

        replay_seconds = _closed_loop(stored, concurrency, replay)
        first_rate = rate(len(stored), first_seconds)
        replay_rate = rate(len(stored), replay_seconds)
        print(
            f"replays: {len(stored):,} first creates {first_rate:,.0f}/s ({_p(firsts.create)}),"
            f" the same requests replayed {replay_rate:,.0f}/s ({_p(again.create)})",
            flush=True,
        )

    paid = Invoice.objects.filter(
        pk__in=[b.invoice_id for b in peak_bills], status=InvoiceStatus.PAID
    ).count()
    assert paid == len(peak_bills), f"{paid} of {len(peak_bills)} peak invoices paid"

    outcomes = [
        ratio_outcome(
            name=f"payments (create+confirm over HTTP) vs pgbench -M {run.mode}",
            unit="payments/s",
            app_rate=peak_rate,
            baseline_label=f"pgbench -M {run.mode}",
            baseline_rate=run.tps,
            target=TARGET_RATIO,
        )
        for run in (raw.prepared, raw.simple)
    ]
    p99_create = percentile(quarter.create, 0.99)
    p99_confirm = percentile(quarter.confirm, 0.99)
    latency = Outcome(
        name="p99 at quarter peak",
        measured=f"create {p99_create:.0f} ms, confirm {p99_confirm:.0f} ms"
        f" ({len(quarter.create):,} payments; raw pgbench {raw.quarter.p99():.0f} ms"
        f" of {len(raw.quarter.latencies_ms):,})",
        baseline="",
        figure=f"p99 {max(p99_create, p99_confirm):.0f} ms",
        target=f"<= {TARGET_P99_MS:.0f} ms",
        met=max(p99_create, p99_confirm) <= TARGET_P99_MS,
    )
    print(latency.line(), flush=True)
    speedup = replay_rate / first_rate
    replay_outcome = Outcome(
        name="replay speed",
        measured=f"{replay_rate:,.0f} replays/s vs first requests {first_rate:,.0f}/s",
        baseline="",
        figure=f"{speedup:.1f}x first requests",
        target=f">= {TARGET_REPLAY:.0f}x",
        met=speedup >= TARGET_REPLAY,
    )
    print(replay_outcome.line(), flush=True)
    return [*outcomes, latency, replay_outcome]
