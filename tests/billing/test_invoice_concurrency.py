"""Many HIS terminals issuing invoices at once, against PostgreSQL, each thread on its own
connection: one invoice per set of charges, and invoice numbers unique and contiguous."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest

from billing.models import Charge, Encounter, Invoice, InvoiceLine
from billing.services.invoices import NothingToBill, invoice_issue
from tests.assertions import assert_invoice_agrees_with_books
from tests.billing.builders import charges_post, encounter_new, patient_with_coverage, price_item
from tests.concurrency import run_at_once

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("chart")]

THREADS = 10
TIMEOUT_SECONDS = 30


def billed_encounter(patient_prices: tuple[int, ...] = (1_000_000, 250_000, 99_999)) -> Encounter:
    encounter = encounter_new(patient=patient_with_coverage(benefit_level=80))
    charges_post(encounter, *((price_item(price=price), 1) for price in patient_prices))
    return encounter


def issuer_of(encounters: list[Encounter]) -> Callable[[int], Invoice]:
    return lambda index: invoice_issue(encounter=encounters[index], issued_by="test")


def test_terminals_issuing_for_one_encounter_at_once_make_one_invoice() -> None:
    encounter = billed_encounter()

    outcomes = run_at_once(THREADS, lambda _: invoice_issue(encounter=encounter, issued_by="test"))

    issued = [o for o in outcomes if isinstance(o, Invoice)]
    assert len(issued) == 1, outcomes
    assert all(isinstance(o, NothingToBill) for o in outcomes if o is not issued[0]), outcomes
    [invoice] = Invoice.objects.filter(encounter=encounter)
    assert invoice.number == 1
    charges = Charge.objects.filter(encounter=encounter)
    billed = Counter(
        InvoiceLine.objects.filter(invoice__encounter=encounter).values_list("charge_id", flat=True)
    )
    assert billed == Counter({charge.pk: 1 for charge in charges})
    assert all(charge.invoice_id == invoice.pk for charge in charges)
    assert_invoice_agrees_with_books(invoice)


def test_terminals_issuing_for_many_encounters_get_contiguous_unique_numbers() -> None:
    # The first race is also over who creates the year's sequence row; in the second the
    # row exists, and only its row lock keeps the numbers apart.
    for round_number in (1, 2):
        encounters = [billed_encounter((100_000 + index,)) for index in range(THREADS)]

        outcomes = run_at_once(THREADS, issuer_of(encounters))

        assert all(isinstance(o, Invoice) for o in outcomes), outcomes
        numbers = sorted(Invoice.objects.values_list("number", flat=True))
        assert numbers == list(range(1, round_number * THREADS + 1))
        assert Invoice.objects.values("encounter").distinct().count() == round_number * THREADS
    for invoice in Invoice.objects.all():
        assert_invoice_agrees_with_books(invoice)
