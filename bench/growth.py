"""Growth table: what must stay flat as the ledger and the invoices grow, each row a ratio
to the smallest size (1.00 = flat), all sizes in the same run.

**Ledger**, at 10,000 → 100,000 → 1,000,000 journal lines (``bench/ledger_fill.py`` fills
in steps, each step's entries after the last's, a fixed number per local day):

* **trial balance** (``trial_balance()``, all accounts): read from the daily balances;
* **trial balance as of noon** of the first filled day: balances before the day plus the
  day's own lines up to noon;
* **one-day export window**: ``ledger_export_csv`` of the first filled day, consumed fully,
  in microseconds per line delivered (10,000 lines at the smallest size, 25,000 after);
* **posting**: ``ledger_post`` of a two-line entry, one transaction each, in milliseconds
  per entry (best of 3 rounds of 100).

**Invoices**, at 1,000 → 10,000 → 100,000 invoices (each filled invoice paid by a
succeeded VietQR payment, so the payments grow with them): one kiosk payment of a fresh
invoice through the API in this process (Django's test ``Client``, no HTTP server):
``POST /api/v1/payments`` (device authentication, the idempotency key, the kiosk's lookup
of the patient, the invoice by its public id under its row lock, the payments already made
on it, the memo code) then the bank feed's ``POST /webhooks/bank/sepay`` (the event stored,
the payment by its memo code, the invoice's payments summed again, the capture entry, the
invoice paid, the outbox event). These are the reads and writes of the payment path that
look rows up in tables growing with invoices: ``billing_invoice``, ``payments_payment``,
``payments_idempotencyrecord``, ``payments_webhookevent``, ``billing_lookupaudit``.
Milliseconds per payment, best of 3 rounds of 30. Celery is not run (neither the worker nor
eager tasks): the outbox relay's message goes to an in-memory broker nobody reads, at every
size alike.

Best of several runs for each (the machine is shared: the minimum is the least disturbed).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from typing import Any
from zoneinfo import ZoneInfo

from bench.database import raw_connect
from bench.ledger_fill import FIRST_DAY, Filled, ledger_fill
from bench.ledger_post import post_with_app
from bench.report import Outcome

REPEATS = 5
LEDGER_STEPS = (10_000, 100_000)  # then the export's size (1,000,000)
INVOICE_SIZES = (1_000, 10_000, 100_000)
POST_ROUNDS, POST_PER_ROUND = 3, 100
PAY_ROUNDS, PAY_PER_ROUND = 3, 30
TARGET_GROWTH = 2.0
SEPAY_KEY = "bench-growth-sepay-key"


@dataclass(frozen=True, slots=True)
class Size:
    lines: int
    trial_ms: float
    trial_as_of_ms: float
    window_lines: int
    window_us_per_line: float
    post_ms: float


@dataclass(frozen=True, slots=True)
class InvoiceSize:
    invoices: int
    payments: int
    pay_ms: float


def _best(work: Callable[[], object], repeats: int = REPEATS) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def measure(day: date, step: int) -> Size:
    """The ledger's reads with ``day`` (local) as the window and the as-of day, and posting."""
    from django.conf import settings

    from billing.models import JournalLine
    from billing.selectors.ledger import trial_balance
    from billing.selectors.ledger_export import ledger_export_csv

    tz = ZoneInfo(settings.TIME_ZONE)
    start = datetime.combine(day, clock(), tzinfo=tz)
    end = start + timedelta(days=1)
    noon = start + timedelta(hours=12)
    window = JournalLine.objects.filter(
        entry__posted_at__gte=start, entry__posted_at__lt=end
    ).count()
    lines = JournalLine.objects.count()
    export = _best(lambda: sum(len(piece) for piece in ledger_export_csv(start=start, end=end)))
    trial = _best(trial_balance)
    as_of = _best(lambda: trial_balance(as_of=noon))
    rounds = iter(range(POST_ROUNDS))
    post = _best(
        lambda: post_with_app(
            next(rounds) * POST_PER_ROUND, POST_PER_ROUND, f"bench:growth:{step}"
        ),
        repeats=POST_ROUNDS,
    )
    return Size(
        lines=lines,
        trial_ms=trial * 1000,
        trial_as_of_ms=as_of * 1000,
        window_lines=window,
        window_us_per_line=export / max(window, 1) * 1e6,
        post_ms=post / POST_PER_ROUND * 1000,
    )


def _growth_outcome(name: str, small: float, large: float, unit: str, size: str) -> Outcome:
    outcome = Outcome(
        name=name,
        measured=f"{large:.2f} {unit} at {size}",
        baseline="",
        figure=f"x{large / small:.2f}",
        target=f"<= x{TARGET_GROWTH:.2f}",
        met=large / small <= TARGET_GROWTH,
    )
    return outcome


def report(sizes: list[Size]) -> list[Outcome]:
    """Prints the ledger table; one summary row per read: largest size / smallest."""
    first = sizes[0]
    print("\n== growth: the ledger (ratio to the smallest size) ==", flush=True)
    print(
        f"{'lines':>11}  {'trial balance':>21}  {'trial balance as of':>21}"
        f"  {'one-day export window':>34}  {'posting':>22}",
        flush=True,
    )
    for size in sizes:
        print(
            f"{size.lines:>11,}  {size.trial_ms:>8.2f} ms (x{size.trial_ms / first.trial_ms:>5.2f})"
            f"  {size.trial_as_of_ms:>8.2f} ms"
            f" (x{size.trial_as_of_ms / first.trial_as_of_ms:>5.2f})"
            f"  {size.window_us_per_line:>6.2f} us/line of {size.window_lines:>7,}"
            f" (x{size.window_us_per_line / first.window_us_per_line:>5.2f})"
            f"  {size.post_ms:>6.2f} ms/entry (x{size.post_ms / first.post_ms:>5.2f})",
            flush=True,
        )
    last = sizes[-1]
    at = f"{last.lines:,} lines (vs {first.lines:,})"
    outcomes = [
        _growth_outcome("growth: trial balance", first.trial_ms, last.trial_ms, "ms", at),
        _growth_outcome(
            "growth: trial balance as of", first.trial_as_of_ms, last.trial_as_of_ms, "ms", at
        ),
        _growth_outcome(
            "growth: one-day export per line",
            first.window_us_per_line,
            last.window_us_per_line,
            "us/line",
            at,
        ),
        _growth_outcome("growth: posting", first.post_ms, last.post_ms, "ms/entry", at),
    ]
    for outcome in outcomes:
        print(outcome.line(), flush=True)
    return outcomes


def run_ledger(
    *, lines: int, at_each_step: Callable[[Filled], object] | None = None
) -> tuple[list[Outcome], Filled]:
    """Fill 10k, measure, 100k, measure, ``lines``, measure; the last fill is the export's.
    ``at_each_step(filled)`` measures more at each step (the statements)."""
    steps = [step for step in LEDGER_STEPS if step < lines] + [lines]
    sizes: list[Size] = []
    filled, already = None, 0
    for step in steps:
        print(f"\nFilling the ledger up to {step:,} journal lines ...", flush=True)
        filled = ledger_fill(lines=step, already=already)
        already = step
        print(
            f"{filled.lines:,} lines ({filled.first_day} .. {filled.last_day})"
            f" in place, the last {step - (sizes[-1].lines if sizes else 0):,}"
            f" inserted and vacuumed in {filled.seconds:.1f} s",
            flush=True,
        )
        sizes.append(measure(FIRST_DAY, step))
        if at_each_step is not None:
            at_each_step(filled)
    assert filled is not None
    return report(sizes), filled


# --- invoices --------------------------------------------------------------------------------


def _columns(cursor: Any, table: str) -> list[str]:
    rows = cursor.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s"
        " ORDER BY ordinal_position",
        (table,),
    ).fetchall()
    return [row[0] for row in rows]


def _next_id(cursor: Any, table: str) -> int:
    row = cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()
    return int(row[0]) + 1000


def _clone(
    cursor: Any, table: str, template: int, count: int, base: int, overrides: dict[str, str]
) -> None:
    """``count`` copies of row ``template`` with ids ``base + 1 … base + count``; ``n`` in an
    override is the copy's number."""
    columns = _columns(cursor, table)
    values = [overrides.get(column, f"t.{column}") for column in columns]
    cursor.execute(
        f"INSERT INTO {table} ({', '.join(columns)})"
        f" SELECT {base} + n, {', '.join(values[1:])}"
        f" FROM {table} t CROSS JOIN generate_series(1, {count}) AS n WHERE t.id = {template}"
    )
    cursor.execute(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
    )


_INVOICE_TABLES = (
    "billing_patient",
    "billing_encounter",
    "billing_invoice",
    "billing_charge",
    "billing_invoiceline",
    "payments_payment",
)


def invoices_fill(count: int, template_invoice: int, device_id: int) -> None:
    """``count`` more paid invoices, each with its patient, encounter, charge, line and a
    succeeded VietQR payment: copies of one invoice issued through the services, written
    with ``INSERT … SELECT generate_series`` (one transaction), then ``VACUUM (ANALYZE)``."""
    if count <= 0:
        return
    tag = uuid.uuid4().hex[:6].upper()
    with raw_connect() as conn, conn.cursor() as cursor:
        invoice = cursor.execute(
            "SELECT patient_id, encounter_id FROM billing_invoice WHERE id = %s",
            (template_invoice,),
        ).fetchone()
        assert invoice is not None
        patient, encounter = invoice
        charge_row = cursor.execute(
            "SELECT id FROM billing_charge WHERE invoice_id = %s", (template_invoice,)
        ).fetchone()
        line_row = cursor.execute(
            "SELECT id FROM billing_invoiceline WHERE invoice_id = %s", (template_invoice,)
        ).fetchone()
        assert charge_row is not None
        assert line_row is not None
        bases = {table: _next_id(cursor, table) for table in _INVOICE_TABLES[:-1]}
        number = cursor.execute("SELECT max(number) FROM billing_invoice").fetchone()
        assert number is not None
        _clone(
            cursor,
            "billing_patient",
            patient,
            count,
            bases["billing_patient"],
            {"code": f"'GF{tag}' || n", "citizen_id_hash": "NULL"},
        )
        _clone(
            cursor,
            "billing_encounter",
            encounter,
            count,
            bases["billing_encounter"],
            {
                "his_reference": f"'GF-{tag}-' || n",
                "patient_id": f"{bases['billing_patient']} + n",
            },
        )
        _clone(
            cursor,
            "billing_invoice",
            template_invoice,
            count,
            bases["billing_invoice"],
            {
                "number": f"{int(number[0])} + n",
                "public_id": f"'inv_gf{tag.lower()}' || n",
                "status": "'paid'",
                "encounter_id": f"{bases['billing_encounter']} + n",
                "patient_id": f"{bases['billing_patient']} + n",
            },
        )
        cursor.execute(  # the numbers just taken: the next invoice issued follows them
            "UPDATE billing_documentsequence s SET last_number = (SELECT max(number)"
            " FROM billing_invoice i WHERE 'invoice:' || i.series = s.series"
            " AND i.year = s.year) WHERE (s.series, s.year) IN"
            " (SELECT 'invoice:' || series, year FROM billing_invoice WHERE id = %s)",
            (template_invoice,),
        )
        _clone(
            cursor,
            "billing_charge",
            charge_row[0],
            count,
            bases["billing_charge"],
            {
                "his_reference": "NULL",
                "encounter_id": f"{bases['billing_encounter']} + n",
                "invoice_id": f"{bases['billing_invoice']} + n",
            },
        )
        _clone(
            cursor,
            "billing_invoiceline",
            line_row[0],
            count,
            bases["billing_invoiceline"],
            {
                "charge_id": f"{bases['billing_charge']} + n",
                "invoice_id": f"{bases['billing_invoice']} + n",
            },
        )
        cursor.execute(
            "INSERT INTO payments_payment (public_id, purpose, invoice_id, amount, currency,"
            " amount_refunded, method, channel, provider, provider_reference, memo_code, status,"
            " failure_code, failure_message, idempotency_key, client_secret, card_reader_id,"
            " created_by_device_id, created_at, updated_at, expires_at, succeeded_at)"
            " SELECT 'pay_gf' || %(tag)s || i.id, 'invoice', i.id, i.patient_share, 'VND', 0,"
            " 'vietqr', 'kiosk', 'bank_transfer', '', 'GF' || %(tag)s || i.id, 'succeeded',"
            " '', '', 'gf-' || %(tag)s || i.id, '', '', %(device)s, i.issued_at, i.issued_at,"
            " i.issued_at + interval '15 minutes', i.issued_at + interval '1 minute'"
            " FROM billing_invoice i WHERE i.id > %(base)s",
            {"tag": tag.lower(), "device": device_id, "base": bases["billing_invoice"]},
        )
        conn.commit()
    with raw_connect(autocommit=True) as conn:
        for table in _INVOICE_TABLES:
            conn.execute(f"VACUUM (ANALYZE) {table}")


@contextmanager
def _no_celery() -> Iterator[None]:
    """Tasks sent by the app (the outbox relay after a commit) go to an in-memory broker and
    are not run: the worker's work is not part of this figure, at any size."""
    from celery import current_app

    conf = current_app.conf
    saved = conf.task_always_eager, conf.broker_url
    conf.update(task_always_eager=False, broker_url="memory://")
    try:
        yield
    finally:
        conf.update(task_always_eager=saved[0], broker_url=saved[1])


def _pay(client: Any, authorization: str, public_id: str, amount: int) -> None:
    from django.conf import settings

    key = f"growth-{uuid.uuid4().hex}"
    created = client.post(
        "/api/v1/payments",
        data={"invoice_id": public_id, "amount": amount, "method": "vietqr"},
        content_type="application/json",
        HTTP_AUTHORIZATION=authorization,
        HTTP_IDEMPOTENCY_KEY=key,
    )
    if created.status_code != 201:
        raise RuntimeError(f"create answered {created.status_code}: {created.content[:300]!r}")
    memo = created.json()["next_action"]["memo_code"]
    confirmed = client.post(
        "/webhooks/bank/sepay",
        data=json.dumps(
            {
                "id": uuid.uuid4().hex,
                "gateway": "Vietcombank",
                "transactionDate": datetime.now(UTC)
                .astimezone(ZoneInfo(settings.TIME_ZONE))
                .strftime("%Y-%m-%d %H:%M:%S"),
                "accountNumber": settings.VIETQR_ACCOUNT,
                "code": memo,
                "content": f"{memo} thanh toan vien phi",
                "transferType": "in",
                "transferAmount": amount,
                "referenceCode": f"FT{uuid.uuid4().hex[:12].upper()}",
            }
        ),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Apikey {SEPAY_KEY}",
    )
    if confirmed.status_code != 200:
        raise RuntimeError(f"sepay answered {confirmed.status_code}: {confirmed.content[:300]!r}")


def measure_invoices() -> InvoiceSize:
    """Best of 3 rounds of 30 payments (create + confirm) on freshly issued invoices."""
    from django.test import Client, override_settings

    from bench.payments_http import bills_issue, kiosk_authorization
    from billing.models import Invoice, InvoiceStatus
    from payments.models import Payment

    bills = bills_issue(PAY_ROUNDS * PAY_PER_ROUND + 1)
    _, authorization = kiosk_authorization(bills)
    client = Client()
    with (
        override_settings(SEPAY_API_KEY=SEPAY_KEY, KIOSK_PAY_LINK_LOOKUP_MINUTES=1440),
        _no_celery(),
    ):
        _pay(client, authorization, bills[-1].public_id, bills[-1].amount)  # warm
        rounds = iter(range(PAY_ROUNDS))

        def one_round() -> None:
            first = next(rounds) * PAY_PER_ROUND
            for bill in bills[first : first + PAY_PER_ROUND]:
                _pay(client, authorization, bill.public_id, bill.amount)

        seconds = _best(one_round, repeats=PAY_ROUNDS)
    paid = Invoice.objects.filter(
        pk__in=[b.invoice_id for b in bills], status=InvoiceStatus.PAID
    ).count()
    assert paid == len(bills), f"{paid} of {len(bills)} invoices paid"
    return InvoiceSize(
        invoices=Invoice.objects.count(),
        payments=Payment.objects.count(),
        pay_ms=seconds / PAY_PER_ROUND * 1000,
    )


def run_invoices(sizes: Sequence[int] = INVOICE_SIZES) -> list[Outcome]:
    from bench.payments_http import bills_issue
    from billing.models import Invoice
    from config.identity.services import device_create

    print("\n== growth: invoices (one kiosk payment, create + confirm, in process) ==", flush=True)
    template = bills_issue(1)[0].invoice_id
    device, _ = device_create(kind="kiosk", name=f"bench-growth-{time.time_ns()}")
    measured: list[InvoiceSize] = []
    for size in sizes:
        started = time.perf_counter()
        invoices_fill(size - Invoice.objects.count(), template, device.pk)
        filled = time.perf_counter() - started
        measured.append(measure_invoices())
        last = measured[-1]
        print(
            f"{last.invoices:>9,} invoices, {last.payments:>9,} payments (filled in"
            f" {filled:.1f} s): {last.pay_ms:>6.2f} ms per payment"
            f" (x{last.pay_ms / measured[0].pay_ms:.2f})",
            flush=True,
        )
    first, last = measured[0], measured[-1]
    outcome = _growth_outcome(
        "growth: payment (create+confirm)",
        first.pay_ms,
        last.pay_ms,
        "ms/payment",
        f"{last.invoices:,} invoices (vs {first.invoices:,})",
    )
    print(outcome.line(), flush=True)
    return [outcome]
