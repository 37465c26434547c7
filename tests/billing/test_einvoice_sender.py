"""The e-invoice sender under concurrency and on a real Celery worker: senders started at
once issue each e-invoice once and in order (one holds the PostgreSQL advisory lock, the
others return); a paid invoice's e-invoice is sent by the worker after commit."""

from __future__ import annotations

from typing import Any

import pytest

from billing.models import EInvoice, EInvoiceStatus, Invoice
from billing.services.einvoices import SendRun, einvoice_enqueue, einvoices_send
from config.celery import app
from tests.celery_worker import celery_worker, wait_until  # noqa: F401 (fixture)
from tests.concurrency import run_at_once
from tests.fakes.viettel_sinvoice import FakeSInvoiceServer
from tests.notifications.builders import paid, receipt_invoice


@pytest.mark.django_db(transaction=True)
def test_senders_started_at_once_issue_each_einvoice_once_in_order(
    fake_sinvoice: FakeSInvoiceServer, settings: Any
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False  # no sender started by the commits themselves
    settings.EINVOICE_PROVIDER = ""
    invoices = [receipt_invoice().pk for _ in range(6)]
    for invoice_id in invoices:
        paid(invoice=Invoice.objects.get(pk=invoice_id))
    settings.EINVOICE_PROVIDER = "viettel"
    for invoice_id in invoices:
        einvoice_enqueue(invoice=Invoice.objects.get(pk=invoice_id))

    try:
        outcomes = run_at_once(4, lambda _: einvoices_send(force=True))
    finally:
        app.control.purge()  # the send requests the commits published: none left behind

    assert all(isinstance(outcome, SendRun) for outcome in outcomes), outcomes
    # One sender holds the lock and the others return at once. In a full run a worker of an
    # earlier test may be consuming this process's queue and take the send the commits
    # published: it is one more sender under the same lock, so the rule checked is the
    # same: every e-invoice issued, each created once at the provider, in id order.
    unissued = EInvoice.objects.exclude(status=EInvoiceStatus.ISSUED)
    assert wait_until(lambda: not unissued.exists()), (outcomes, fake_sinvoice.created)
    assert sum(outcome.issued for outcome in outcomes) <= 6
    created = fake_sinvoice.created
    assert [c.transaction_uuid for c in created] == [f"vienphi-{i}" for i in invoices]
    assert fake_sinvoice.create_calls == 6
    assert set(EInvoice.objects.values_list("status", flat=True)) == {EInvoiceStatus.ISSUED}


@pytest.mark.django_db(transaction=True)
def test_the_worker_sends_a_paid_invoices_einvoice_after_commit(
    fake_sinvoice: FakeSInvoiceServer,
    celery_worker: Any,  # noqa: F811 - the fixture, after the fake
) -> None:
    # (The fake first: the worker reads its settings from the environment it starts with.)
    invoice_id = receipt_invoice().pk
    paid(invoice=Invoice.objects.get(pk=invoice_id))

    issued = EInvoice.objects.filter(invoice_id=invoice_id, status=EInvoiceStatus.ISSUED)
    assert wait_until(issued.exists)
    assert [c.transaction_uuid for c in fake_sinvoice.created] == [f"vienphi-{invoice_id}"]
