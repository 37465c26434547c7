"""Celery tasks of billing: the e-invoice sender and the tax authority's codes. Thin, named,
no arguments but ids (here none), idempotent: a run finds the rows already sent."""

from __future__ import annotations

from celery import shared_task

from billing.services.einvoices import einvoice_codes_poll, einvoices_send
from config.tasks import ReliableTask


@shared_task(name="billing.send_einvoices", base=ReliableTask)
def send_einvoices() -> int:
    """After an e-invoice is queued, and beat every minute: send the waiting ones in order."""
    return einvoices_send().issued


@shared_task(name="billing.poll_einvoice_codes", base=ReliableTask)
def poll_einvoice_codes() -> int:
    """Beat: the tax authority's codes that arrived since."""
    return einvoice_codes_poll()
