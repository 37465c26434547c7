"""Benchmark: receipts issued and rendered per second by two Celery worker processes.

A captured payment's ``payment.succeeded`` event runs ``notifications.issue_payment_receipt``
(a numbered receipt with its frozen content and the patient's messages, one transaction),
then, in the same task once that is committed, sends each message (an SMS and an e-mail
copy, through the console backends) and renders and stores the channel's PDF. The figure is
the rate at which a queue of ``count`` such events drains to receipts with their PDF and
every message sent, against a no-op drain of the same count on the same worker
(``bench.noop``: a plain Celery task, acknowledged late, that counts itself in Redis).
``bench.noop_reliable`` (the same on the project's ``ReliableTask``) is printed for
information: what the base class's bookkeeping costs per task.

Each drain starts from a full queue: the worker is paused (SIGSTOP) while the messages are
sent, then let go, and the clock runs until the last one is done (polled every 0.2 s).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from bench.report import Outcome, rate, ratio_outcome

TARGET_RATIO = 0.12
TARGET_RATE = 100.0
# Issue 20's audit: receipts drained at 7.65/s, "0.009x a no-op Celery task" — a no-op
# drain of ~850/s on its machine, where the two targets (0.12x and 100/s) are one.
AUDIT_NOOP_RATE = 7.65 / 0.009
WORKER_PROCESSES = 2
PAYMENTS_PER_INVOICE = 100
QUEUE = "vienphi-bench-receipts"
BENCH_REDIS_URL = "redis://127.0.0.1:6379/13"


def payments_captured(count: int, *, channel: str = "kiosk") -> list[int]:
    """``count`` captured 1,000 ₫ VietQR payments on ``channel`` (``kiosk``: the receipt
    prints on the thermal roll; ``phone``: a pay link's, whose receipt is the A4), not
    timed, a hundred to an invoice of patients with a phone and an e-mail address (so each
    receipt sends an SMS and an e-mail copy). The payment rows are written directly: the
    receipt's work is what is measured, not the capture."""
    from django.utils import timezone

    from billing.models import PriceListItem, ServiceCategory, VatRate
    from billing.services.encounters import ChargeInput, charges_add, encounter_open
    from billing.services.invoices import invoice_issue
    from billing.services.patients import patient_create
    from config.identity.models import DeviceKind
    from config.identity.services import device_create
    from payments.models import Payment, PaymentChannel, PaymentMethod, PaymentStatus, Provider

    tag = uuid.uuid4().hex[:6].upper()
    device, _ = device_create(name=f"Kiosk bench {tag}", kind=DeviceKind.KIOSK)
    item = PriceListItem.objects.create(
        service_code=f"RCPT{tag}",
        name="Khám bệnh (bench)",
        unit="lần",
        category=ServiceCategory.EXAMINATION,
        price=PAYMENTS_PER_INVOICE * 1_000,
        insurance_price=PAYMENTS_PER_INVOICE * 1_000,
        on_demand=False,
        vat_rate=VatRate.KCT,
        currency="VND",
        effective_from=datetime(2020, 1, 1, tzinfo=UTC).date(),
    )
    now = timezone.now()
    payments: list[Payment] = []
    for index in range(-(-count // PAYMENTS_PER_INVOICE)):
        patient = patient_create(
            code=f"RC{tag}{index:05d}",
            full_name="Nguyễn Thị Bench",
            phone=f"09{index:08d}",
            email=f"bench{index}@example.com",
        )
        encounter = encounter_open(
            patient=patient,
            his_reference=f"RCPT-{tag}-{index}",
            kind="outpatient",
            department="Khoa Nội",
        )
        charges_add(encounter=encounter, items=[ChargeInput(item.service_code, 1)])
        invoice = invoice_issue(encounter=encounter, issued_by="bench")
        for _ in range(min(PAYMENTS_PER_INVOICE, count - len(payments))):
            payments.append(
                Payment(
                    purpose="invoice",
                    invoice=invoice,
                    amount=1_000,
                    currency="VND",
                    method=PaymentMethod.VIETQR,
                    channel=PaymentChannel(channel),
                    provider=Provider.BANK_TRANSFER,
                    status=PaymentStatus.SUCCEEDED,
                    idempotency_key=uuid.uuid4().hex,
                    created_by_device=device,
                    succeeded_at=now,
                )
            )
    return [payment.pk for payment in Payment.objects.bulk_create(payments)]


@contextmanager
def _worker() -> Iterator[
    tuple[Callable[[bool], None], Callable[[], float], Callable[[], list[float]]]
]:
    """``celery worker`` with ``WORKER_PROCESSES`` prefork children on the bench's queue
    (purged first and last); yields ``pause(on)`` to freeze or release it, a reading of
    its CPU seconds so far and one of its processes' resident memory (MB)."""
    from bench.http_server import PROJECT_ROOT

    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork"]
    command += [f"--concurrency={WORKER_PROCESSES}", f"--queues={QUEUE}"]
    command += ["--include=bench.receipt_tasks", "--loglevel=WARNING"]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    purge = [sys.executable, "-m", "celery", "-A", "config", "purge", "-f", "-Q", QUEUE]
    env, devnull = os.environ.copy(), subprocess.DEVNULL
    subprocess.run(  # noqa: S603 - fixed argv
        purge, check=True, cwd=PROJECT_ROOT, env=env, stdout=devnull, stderr=devnull
    )
    worker = subprocess.Popen(  # noqa: S603 - fixed argv
        command, cwd=PROJECT_ROOT, env=env, stdout=devnull, stderr=devnull, process_group=0
    )

    def pause(on: bool) -> None:
        os.killpg(os.getpgid(worker.pid), signal.SIGSTOP if on else signal.SIGCONT)

    try:
        yield pause, lambda: _group_cpu_seconds(worker.pid), lambda: _group_rss_mb(worker.pid)
    finally:
        pause(False)
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        subprocess.run(  # noqa: S603 - fixed argv
            purge, check=False, cwd=PROJECT_ROOT, env=env, stdout=devnull, stderr=devnull
        )


def _group_cpu_seconds(leader: int) -> float:
    """User + system CPU seconds of the live processes of process group ``leader`` (the
    worker's master and children), from ``/proc``: on a shared machine the wall clock
    measures the neighbours too, the CPU seconds only the worker's own work."""
    return _cpu_seconds(lambda group, _: group == leader)


def _group_rss_mb(leader: int) -> list[float]:
    """Resident memory (MB) of each live process of process group ``leader``, largest
    first: a worker that keeps what each receipt allocated grows from one drain to the next."""
    sizes = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat, open(f"/proc/{entry}/status") as status:
                group = int(stat.read().rsplit(")", 1)[1].split()[2])
                fields = dict(line.split(":", 1) for line in status if ":" in line)
        except (OSError, ValueError):
            continue
        if group == leader and "VmRSS" in fields:
            sizes.append(int(fields["VmRSS"].split()[0]) / 1024)
    return sorted(sizes, reverse=True)


def _redis_cpu_seconds() -> float:
    """The same for the Redis server (the broker)."""
    return _cpu_seconds(lambda _, command: command == "redis-server")


def _database_cpu_seconds() -> float:
    """The same for the local PostgreSQL server's live processes (its backends — the
    worker's connections stay open for the run — and its writers): the database's share."""
    return _cpu_seconds(lambda _, command: command == "postgres")


def _machine_cpu_seconds() -> tuple[float, float]:
    """Busy and all CPU seconds of the whole machine so far (``/proc/stat``, every core)."""
    with open("/proc/stat") as handle:
        fields = [int(value) for value in handle.readline().split()[1:]]
    ticks = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / ticks, sum(fields[:8]) / ticks


def _cpu_seconds(selected: Callable[[int, str], bool]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                head, tail = handle.read().rsplit(")", 1)
        except OSError:
            continue
        fields = tail.split()  # the fields after the command's closing paren
        if selected(int(fields[2]), head.partition("(")[2]):  # pgrp, command
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _drain(
    pause: Callable[[bool], None],
    send: Callable[[], object],
    done: Callable[[], int],
    count: int,
    timeout: float,
) -> float:
    """Seconds from releasing a paused worker with ``count`` messages queued by ``send``
    until ``done()`` reaches ``count``."""
    pause(True)
    send()
    started = time.perf_counter()
    pause(False)
    while done() < count:
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"drain stuck at {done()} of {count} after {timeout:.0f} s")
        time.sleep(0.2)
    return time.perf_counter() - started


def _receipts_done(payment_ids: list[int]) -> Callable[[], int]:
    """How many of the payments' receipts are done (their PDF stored, every message sent),
    read by two indexed range queries: the payments of one run are one range of ids
    (``bulk_create``), and the poll runs five times a second beside the worker — an
    ``IN`` list of 2,000 ids and a join took the database's CPU from the receipts."""
    from notifications.models import Message, MessageStatus, ReceiptPdf

    first, last = min(payment_ids), max(payment_ids)
    assert last - first + 1 == len(payment_ids), "the run's payments are not one id range"

    def done() -> int:
        pending = Message.objects.filter(
            receipt__payment__gte=first, receipt__payment__lte=last
        ).exclude(status=MessageStatus.SENT)
        if pending.exists():
            return 0
        return ReceiptPdf.objects.filter(
            receipt__payment__gte=first, receipt__payment__lte=last
        ).count()

    return done


def run(*, count: int = 2_000, channel: str = "kiosk") -> list[Outcome]:
    import redis
    from celery import Celery

    from bench.http_server import environment
    from bench.receipt_tasks import COUNTER
    from notifications.models import Message, ReceiptPdf

    print(
        f"\n== receipts: {count:,} {channel} payments' receipts (issue + messages + the"
        f" channel's PDF, one task each), celery worker with {WORKER_PROCESSES} processes ==",
        flush=True,
    )
    started = time.perf_counter()
    warm_ids = payments_captured(20, channel=channel)
    payment_ids = payments_captured(count, channel=channel)
    print(
        f"setup: {count + 20:,} captured payments in {time.perf_counter() - started:.1f} s"
        " (not timed)",
        flush=True,
    )
    broker = os.environ.get("BENCH_REDIS_URL", BENCH_REDIS_URL)
    counter = redis.Redis.from_url(broker)
    sender = Celery("bench", broker=broker)  # this process's own app: only sends

    def noops(name: str) -> float:
        counter.set(COUNTER, 0)
        return _drain(
            pause,
            lambda: [sender.send_task(name, args=(i,), queue=QUEUE) for i in range(count)],
            lambda: int(counter.get(COUNTER) or 0),
            count,
            timeout=600,
        )

    def receipts(ids: list[int]) -> float:
        return _drain(
            pause,
            lambda: [
                sender.send_task(
                    "notifications.issue_payment_receipt",
                    kwargs={"event_id": 0, "payment_id": pk},
                    queue=QUEUE,
                )
                for pk in ids
            ],
            _receipts_done(ids),
            len(ids),
            timeout=1800,
        )

    with (
        environment({"REDIS_URL": broker, "CELERY_QUEUE": QUEUE}),
        _worker() as (pause, cpu, memory),
    ):
        receipts(warm_ids)  # both children import, parse the fonts, connect
        memory_warm = memory()
        before = cpu()
        noop_seconds = noops("bench.noop")
        after_noop = cpu()
        reliable_seconds = noops("bench.noop_reliable")
        after_reliable, database_before = cpu(), _database_cpu_seconds()
        redis_before, machine_before = _redis_cpu_seconds(), _machine_cpu_seconds()
        receipt_seconds = receipts(payment_ids)
        after_receipts, database_after = cpu(), _database_cpu_seconds()
        redis_after, machine_after = _redis_cpu_seconds(), _machine_cpu_seconds()
        memory_after = memory()
    cpu_ms = {
        "noop": (after_noop - before) / count * 1000,
        "reliable": (after_reliable - after_noop) / count * 1000,
        "receipt": (after_receipts - after_reliable) / count * 1000,
        "database": (database_after - database_before) / count * 1000,
        "redis": (redis_after - redis_before) / count * 1000,
        "machine": (machine_after[0] - machine_before[0]) / count * 1000,
    }
    busy = (machine_after[0] - machine_before[0]) / (machine_after[1] - machine_before[1])
    pdfs = ReceiptPdf.objects.filter(receipt__payment_id__in=payment_ids).count()
    messages = Message.objects.filter(receipt__payment_id__in=payment_ids).count()
    receipt_rate = rate(count, receipt_seconds)
    noop_rate = rate(count, noop_seconds)
    reliable_rate = rate(count, reliable_seconds)
    print(
        f"drains: no-op {noop_seconds:.2f} s ({noop_rate:,.0f}/s), no-op on ReliableTask"
        f" {reliable_seconds:.2f} s ({reliable_rate:,.0f}/s), receipts {receipt_seconds:.2f} s"
        f" ({receipt_rate:,.1f}/s: {count:,} receipts, {pdfs:,} PDFs, {messages:,} messages"
        " sent)",
        flush=True,
    )
    print(
        f"worker CPU per task (user + system, all its processes): no-op {cpu_ms['noop']:.1f} ms,"
        f" no-op on ReliableTask {cpu_ms['reliable']:.1f} ms, receipt (its one task)"
        f" {cpu_ms['receipt']:.1f} ms -> {WORKER_PROCESSES} dedicated cores would drain"
        f" ~{WORKER_PROCESSES * 1000 / cpu_ms['receipt']:,.0f} receipts/s (the database's own"
        " CPU not counted)",
        flush=True,
    )
    print(
        f"database server CPU per receipt (its live processes, the drain's polls included):"
        f" {cpu_ms['database']:.1f} ms",
        flush=True,
    )
    rest = cpu_ms["machine"] - cpu_ms["receipt"] - cpu_ms["database"] - cpu_ms["redis"]
    print(
        f"the machine during the receipts' drain: {busy:.0%} busy, {cpu_ms['machine']:.1f} ms"
        f" of CPU per receipt — worker {cpu_ms['receipt']:.1f}, database"
        f" {cpu_ms['database']:.1f}, Redis {cpu_ms['redis']:.1f}, the rest (this process's"
        f" polls, the kernel, anything else running) {rest:.1f}",
        flush=True,
    )
    print(
        "worker processes' resident memory (MB, largest first): after the warm-up "
        + ", ".join(f"{size:.0f}" for size in memory_warm)
        + f"; after {count:,} receipts "
        + ", ".join(f"{size:.0f}" for size in memory_after),
        flush=True,
    )
    outcomes = [
        ratio_outcome(
            name=name,
            unit=unit,
            app_rate=app_rate,
            baseline_label="plain no-op tasks",
            baseline_rate=noop_rate,
            target=target,
        )
        for name, unit, app_rate, target in (
            ("receipts (issue + PDF + messages, 2 processes)", "/s", receipt_rate, TARGET_RATIO),
            ("ReliableTask no-op (bookkeeping)", "tasks/s", reliable_rate, None),
        )
    ]
    absolute = Outcome(
        name="receipts per second",
        measured=f"{receipt_rate:,.1f} receipts/s",
        baseline="",
        figure=f"{receipt_rate:,.1f}/s",
        target=f">= {TARGET_RATE:.0f}/s",
        met=receipt_rate >= TARGET_RATE,
    )
    print(absolute.line(), flush=True)
    print(
        f"100 receipts/s on this machine is {TARGET_RATE / noop_rate:.2f}x its no-op drain"
        f" ({noop_rate:,.0f}/s); the audit's machine drained no-op tasks at"
        f" ~{AUDIT_NOOP_RATE:,.0f}/s, where {TARGET_RATIO} of it is"
        f" {TARGET_RATIO * AUDIT_NOOP_RATE:,.0f}/s",
        flush=True,
    )
    return [*outcomes, absolute]
