"""Amounts no one can mean are refused or set aside, never booked: cash tendered beyond the
amount plus a stack of the largest notes, and a bank-feed line larger than any the books
hold (a reconciliation item for a person, instead of an event failing every minute)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from rest_framework.test import APIClient

from billing.models import JournalEntry
from payments.models import (
    Payment,
    ReconciliationItem,
    ReconciliationReason,
    WebhookEvent,
)
from payments.services.webhooks import webhook_retry_unapplied
from tests.assertions import assert_error
from tests.payments.builders.desk import at_desk, drawer, pay_cash
from tests.payments.builders.payments import payable_invoice, vietqr_payment
from tests.payments.builders.webhooks import (
    bank_memo,
    casso_record,
    post_casso,
    post_sepay,
    sepay_body,
)

pytestmark = pytest.mark.django_db

LARGEST_NOTE = 500_000


@pytest.mark.parametrize("tendered", [2**63 - 1, 120_000 + 50 * LARGEST_NOTE + 1])
def test_cash_tendered_far_above_the_amount_is_refused(
    staff_client: Callable[..., APIClient], tendered: int
) -> None:
    cashier, session = at_desk(staff_client)
    invoice = payable_invoice(120_000)

    response = pay_cash(cashier, amount=120_000, tendered=tendered, invoice=invoice)

    error = assert_error(response, 400, "tendered_too_large", "tendered")
    assert error["detail"] == {
        "amount": 120_000,
        "tendered": tendered,
        "max": 120_000 + 50 * LARGEST_NOTE,
    }
    assert not Payment.objects.exists()
    assert drawer(session) == 0


def test_cash_tendered_up_to_fifty_of_the_largest_note_above_is_taken(
    staff_client: Callable[..., APIClient],
) -> None:
    cashier, session = at_desk(staff_client)
    invoice = payable_invoice(120_000)

    response = pay_cash(
        cashier, amount=120_000, tendered=120_000 + 50 * LARGEST_NOTE, invoice=invoice
    )

    assert response.status_code == 201, response.content
    assert response.json()["change_given"] == 50 * LARGEST_NOTE
    assert drawer(session) == 120_000


@pytest.mark.usefixtures("bank_feeds_configured")
@pytest.mark.parametrize("amount", [10**30, -(10**30), 2**63])
def test_a_casso_line_beyond_what_the_books_hold_becomes_a_reconciliation_item(
    amount: int,
) -> None:
    payment = vietqr_payment(amount=350_000)
    assert payment.memo_code is not None
    body = {
        "error": 0,
        "data": casso_record(amount=amount, description=bank_memo(payment.memo_code)),
    }

    response = post_casso(Client(), body)

    assert response.status_code == 200, response.content
    event = WebhookEvent.objects.get()
    assert event.outcome == "reconciliation: amount_out_of_range"
    assert event.applied_at is not None
    item = ReconciliationItem.objects.get()
    assert item.reason == ReconciliationReason.AMOUNT_OUT_OF_RANGE
    assert str(abs(amount)) in item.description
    assert not JournalEntry.objects.filter(source_type="bank_transfer").exists()
    assert Payment.objects.get(pk=payment.pk).status == "pending"
    # Nothing is left for beat to retry (and park) every minute.
    assert webhook_retry_unapplied() == 0
    assert WebhookEvent.objects.get().attempts == event.attempts


@pytest.mark.usefixtures("bank_feeds_configured")
def test_a_sepay_line_beyond_what_the_books_hold_becomes_a_reconciliation_item() -> None:
    body = sepay_body(amount=10**30, content="CK tien vien phi")

    response = post_sepay(Client(), body)

    assert response.status_code in (200, 201), response.content
    assert WebhookEvent.objects.get().outcome == "reconciliation: amount_out_of_range"
    assert ReconciliationItem.objects.get().reason == ReconciliationReason.AMOUNT_OUT_OF_RANGE
