"""Many HIS terminals issuing invoices at once, against PostgreSQL, each thread on its own
connection: one invoice per set of charges, invoice numbers unique and contiguous, and a
visit billed (and voided) at once from several terminals still adds up to its one-bill
insurance split."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.models import Charge, Encounter, Invoice, InvoiceLine, InvoiceStatus
from billing.services.encounters import charge_void
from billing.services.invoices import NothingToBill, invoice_issue, invoice_void
from tests.assertions import (
    assert_invoice_agrees_with_books,
    assert_visit_adds_up_to_one_bill,
)
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


# --- the visit split as one bill, under concurrency (issue 12, rule 3) -----------------------

VISIT_DAY = date(2025, 3, 10)
TERMINALS = 4


def supervisor() -> Any:
    user, _ = get_user_model().objects.get_or_create(username="sup-concurrency")
    return user


def void_and_issue(invoice: Invoice, encounter: Encounter) -> Callable[[int], Any]:
    """For ``run_at_once(2, ...)``: thread 0 voids ``invoice``, thread 1 bills the visit."""

    def work(index: int) -> Any:
        if index == 0:
            return invoice_void(invoice=invoice, voided_by=supervisor(), reason="lập sai")
        return invoice_issue(encounter=encounter, issued_by="terminal")

    return work


def visit_with_exam() -> Encounter:
    """An outpatient visit whose 96,800 exam is billed (alone, under the threshold)."""
    encounter = encounter_new(patient=patient_with_coverage(benefit_level=80), on=VISIT_DAY)
    charges_post(encounter, (price_item(price=96_800), 1))
    invoice_issue(encounter=encounter, issued_by="kiosk")
    return encounter


def test_terminals_issuing_at_once_as_the_visit_crosses_the_threshold_adjust_it_once() -> None:
    encounter = visit_with_exam()
    charges_post(encounter, (price_item(price=536_000), 1))

    outcomes = run_at_once(
        TERMINALS, lambda _: invoice_issue(encounter=encounter, issued_by="terminal")
    )

    issued = [o for o in outcomes if isinstance(o, Invoice)]
    assert len(issued) == 1, outcomes
    assert all(isinstance(o, NothingToBill) for o in outcomes if o is not issued[0]), outcomes
    assert (
        InvoiceLine.objects.filter(invoice__encounter=encounter, charge__isnull=True).count() == 1
    )
    assert_visit_adds_up_to_one_bill(encounter)


def test_terminals_settling_a_visit_at_once_give_the_difference_back_once() -> None:
    """Nothing is left to bill but a difference: the exam's invoice was voided and its charge
    too, so the CT scan's invoice moved 19,360 to the patient for nothing. Every terminal
    sees the same difference; the encounter lock lets one settle it, the others find
    nothing left."""
    encounter = visit_with_exam()
    charges_post(encounter, (price_item(price=536_000), 1))
    invoice_issue(encounter=encounter, issued_by="terminal")
    exam_invoice = Invoice.objects.filter(encounter=encounter).earliest("id")
    invoice_void(invoice=exam_invoice, voided_by=supervisor(), reason="lập sai")
    charge_void(charge=Charge.objects.get(encounter=encounter, unit_price=96_800, status="active"))

    outcomes = run_at_once(
        TERMINALS, lambda _: invoice_issue(encounter=encounter, issued_by="terminal")
    )

    [settlement] = [o for o in outcomes if isinstance(o, Invoice)]
    assert all(isinstance(o, NothingToBill) for o in outcomes if o is not settlement), outcomes
    assert (settlement.total, settlement.insurance_share, settlement.patient_share) == (
        0,
        19_360,
        -19_360,
    )
    assert_visit_adds_up_to_one_bill(encounter)


def test_a_void_racing_an_issue_of_the_same_visit_is_settled_whichever_goes_first() -> None:
    for _ in range(3):
        encounter = visit_with_exam()
        charges_post(encounter, (price_item(price=536_000), 1))
        invoice_issue(encounter=encounter, issued_by="terminal")
        first = Invoice.objects.filter(encounter=encounter).earliest("id")
        charges_post(encounter, (price_item(price=50_000), 1))

        outcomes = run_at_once(2, void_and_issue(first, encounter))

        assert isinstance(outcomes[0], Invoice), outcomes
        assert isinstance(outcomes[1], Invoice), outcomes
        with contextlib.suppress(NothingToBill):  # the void came second: bill the exam again
            invoice_issue(encounter=encounter, issued_by="terminal")
        assert_visit_adds_up_to_one_bill(encounter)


ITEMS = st.sampled_from(
    [
        (96_800, 96_800, False),
        (536_000, 536_000, False),
        (40_000, 50_600, False),
        (321_000, 300_000, False),
        (300_000, 50_600, True),
        (150_000, None, False),
    ]
)
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("charge"), st.lists(ITEMS, min_size=1, max_size=3)),
        st.tuples(st.just("issue"), st.integers(0, 3)),
        st.tuples(st.just("void"), st.integers(0, 3)),
    ),
    min_size=1,
    max_size=7,
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS, benefit_level=st.sampled_from([80, 95, 100]), capped=st.booleans())
def test_any_charges_invoices_and_voids_issued_at_once_add_up_to_the_one_bill_split(
    steps: list[tuple[str, Any]], benefit_level: int, capped: bool
) -> None:
    """Any sequence of charges, of invoices issued by several terminals at once, and of
    voids (each racing an issue): once the visit's next invoice (or its discharge) settles
    it, its invoices that are not void add up to the split of the visit as one bill."""
    patient = patient_with_coverage(benefit_level=benefit_level)
    if capped:  # a five-year card near its cap: the cap is part of the one-bill split
        patient.coverages.update(five_years_from=date(2024, 1, 1))
    encounter = encounter_new(patient=patient, on=VISIT_DAY)
    for action, argument in steps:
        if action == "charge":
            charges_post(
                encounter,
                *((price_item(price=p, insurance_price=i, on_demand=d), 1) for p, i, d in argument),
            )
        elif action == "issue":
            outcomes = run_at_once(
                TERMINALS, lambda _: invoice_issue(encounter=encounter, issued_by="terminal")
            )
            assert sum(isinstance(o, Invoice) for o in outcomes) <= 1, outcomes
            assert all(isinstance(o, Invoice | NothingToBill) for o in outcomes), outcomes
            assert_visit_adds_up_to_one_bill(encounter)  # an issue settles the visit
        else:
            open_invoices = list(
                Invoice.objects.filter(encounter=encounter)
                .exclude(status=InvoiceStatus.VOID)
                .order_by("id")
            )
            if not open_invoices:
                continue
            target = open_invoices[argument % len(open_invoices)]
            outcomes = run_at_once(2, void_and_issue(target, encounter))
            assert isinstance(outcomes[0], Invoice), outcomes
            assert isinstance(outcomes[1], Invoice | NothingToBill), outcomes
    with contextlib.suppress(NothingToBill):
        invoice_issue(encounter=encounter, issued_by="discharge")
    assert_visit_adds_up_to_one_bill(encounter)
