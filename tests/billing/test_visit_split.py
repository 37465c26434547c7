"""A visit billed in several invoices is split as one bill (issue 12, rule 3): the threshold
is judged on the whole visit; the invoice that changes what earlier invoices should have
been carries an adjustment line ("điều chỉnh mức hưởng BHYT"); voids are settled by the next
invoice or at discharge; and the visit's fund and patient totals, invoices and ledger alike,
always come back to the one-bill split. The same under concurrency: test_invoice_concurrency.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from billing.insurance import Rules, SplitInput, VisitBilled, split, visit_split
from billing.models import Charge, Encounter, Invoice, InvoiceStatus, PriceListItem, ShareRule
from billing.selectors.invoices import invoice_balance, refund_owed
from billing.services.deposits import encounter_discharge
from billing.services.encounters import charge_void
from billing.services.invoices import (
    ADJUSTMENT_NAME,
    InvoiceCreditSpent,
    NothingToBill,
    invoice_issue,
    invoice_void,
)
from config.identity.models import DeviceKind
from tests.assertions import assert_visit_adds_up_to_one_bill
from tests.billing.builders import (
    charges_post,
    encounter_new,
    patient_with_coverage,
    payment_post,
    price_item,
)

pytestmark = pytest.mark.django_db

VISIT_DAY = date(2025, 3, 10)
R = ShareRule


def shares_of(invoice: Invoice) -> list[tuple[int, int, str]]:
    return [(x.insurance_share, x.patient_share, x.rule) for x in invoice.lines.order_by("id")]


def issue(encounter: Encounter) -> Invoice:
    return invoice_issue(encounter=encounter, issued_by="test")


def void(invoice: Invoice) -> Invoice:
    supervisor, _ = get_user_model().objects.get_or_create(username="sup-visit")
    return invoice_void(invoice=invoice, voided_by=supervisor, reason="lập sai")


@pytest.fixture
def exam() -> PriceListItem:
    return price_item(price=96_800)


@pytest.fixture
def ct_scan() -> PriceListItem:
    return price_item(price=536_000)


@pytest.fixture
def visit() -> Encounter:
    return encounter_new(patient=patient_with_coverage(benefit_level=80), on=VISIT_DAY)


@pytest.fixture
def two_invoices(
    visit: Encounter, exam: PriceListItem, ct_scan: PriceListItem
) -> tuple[Invoice, Invoice]:
    """The exam billed at the kiosk, then the CT scan: the worked example of rule 3."""
    charges_post(visit, (exam, 1))
    first = issue(visit)
    charges_post(visit, (ct_scan, 1))
    return first, issue(visit)


# --- the worked example ----------------------------------------------------------------


def test_rule_3_a_visit_billed_in_two_invoices_is_split_as_one_bill(
    visit: Encounter, two_invoices: tuple[Invoice, Invoice]
) -> None:
    first, second = two_invoices

    # Alone, the 96,800 exam was under 351,000: covered in full when billed.
    assert shares_of(first) == [(96_800, 0, R.BELOW_THRESHOLD)]
    # The visit, now 632,800, is not: the CT scan at 80 %, and the exam's extra 19,360 moves
    # from the fund to the patient on the second invoice.
    assert shares_of(second) == [
        (428_800, 107_200, R.IN_SCOPE),
        (-19_360, 19_360, R.BELOW_THRESHOLD),
    ]
    adjustment = second.lines.get(charge__isnull=True)
    assert (adjustment.name, adjustment.amount, adjustment.copay) == (ADJUSTMENT_NAME, 0, 19_360)
    assert (second.total, second.insurance_share, second.patient_share) == (
        536_000,
        409_440,
        126_560,
    )
    # 77,440 + 428,800: the fund pays 80 % of the whole visit, as the one bill would.
    assert first.insurance_share + second.insurance_share == 506_240
    assert_visit_adds_up_to_one_bill(visit)


def test_the_his_api_shows_the_adjustment_line_and_each_lines_rule(
    device_client: Callable[[str], tuple[APIClient, Any]],
    visit: Encounter,
    exam: PriceListItem,
    ct_scan: PriceListItem,
) -> None:
    his = device_client(DeviceKind.HIS)[0]
    charges_post(visit, (exam, 1))
    his.post(f"/api/v1/encounters/{visit.pk}/invoices")
    charges_post(visit, (ct_scan, 1))

    response = his.post(f"/api/v1/encounters/{visit.pk}/invoices")

    assert response.status_code == 201, response.content
    body = response.json()
    assert [
        (x["kind"], x["rule"], x["insurance_share"], x["patient_share"]) for x in body["lines"]
    ] == [
        ("charge", "in_scope", 428_800, 107_200),
        ("adjustment", "below_threshold", -19_360, 19_360),
    ]
    assert (body["insurance_share"], body["patient_share"], body["amount_due"]) == (
        409_440,
        126_560,
        126_560,
    )


def test_an_invoice_that_keeps_the_visit_under_the_threshold_needs_no_adjustment(
    visit: Encounter, exam: PriceListItem
) -> None:
    charges_post(visit, (exam, 1))
    issue(visit)
    charges_post(visit, (price_item(price=100_000), 1))

    second = issue(visit)

    assert shares_of(second) == [(100_000, 0, R.BELOW_THRESHOLD)]
    assert_visit_adds_up_to_one_bill(visit)


def test_with_nothing_unbilled_and_nothing_to_adjust_there_is_nothing_to_bill(
    visit: Encounter, two_invoices: tuple[Invoice, Invoice]
) -> None:
    with pytest.raises(NothingToBill):
        issue(visit)


# --- voids -------------------------------------------------------------------------------


def test_voiding_the_invoice_that_carries_the_adjustment_takes_the_adjustment_with_it(
    visit: Encounter, two_invoices: tuple[Invoice, Invoice]
) -> None:
    void(two_invoices[1])

    # The exam alone is back under the threshold, and its invoice says so already.
    assert_visit_adds_up_to_one_bill(visit)


def test_after_a_void_the_next_invoice_gives_the_difference_back(
    visit: Encounter, two_invoices: tuple[Invoice, Invoice]
) -> None:
    first, _second = two_invoices
    void(first)  # the exam's charge is billable again

    third = issue(visit)

    # The exam at 80 % (the visit is over the threshold), and the 19,360 the CT scan's
    # invoice moved to the patient goes back to the fund.
    assert shares_of(third) == [
        (77_440, 19_360, R.IN_SCOPE),
        (19_360, -19_360, R.BELOW_THRESHOLD),
    ]
    assert (third.insurance_share, third.patient_share) == (96_800, 0)
    assert_visit_adds_up_to_one_bill(visit)


def test_discharge_settles_a_give_back_against_what_the_patient_still_owes(
    visit: Encounter, two_invoices: tuple[Invoice, Invoice]
) -> None:
    first, second = two_invoices
    void(first)
    charge_void(charge=Charge.objects.get(encounter=visit, unit_price=96_800, status="active"))

    result = encounter_discharge(encounter=visit, by="test")

    # The visit is the CT scan alone: the patient owes its 20 %, not 126,560.
    settlement = Invoice.objects.filter(encounter=visit).latest("id")
    assert shares_of(settlement) == [(19_360, -19_360, R.BELOW_THRESHOLD)]
    assert settlement.total == 0
    assert invoice_balance(second).amount_due == 107_200
    assert result.amount_due == 107_200
    assert refund_owed(encounter=visit) == 0
    assert_visit_adds_up_to_one_bill(visit)


def test_a_give_back_the_patient_already_paid_is_refunded_at_discharge(
    visit: Encounter, two_invoices: tuple[Invoice, Invoice]
) -> None:
    first, second = two_invoices
    payment_post(second, second.patient_share)
    void(first)
    charge_void(charge=Charge.objects.get(encounter=visit, unit_price=96_800, status="active"))

    result = encounter_discharge(encounter=visit, by="test")

    assert result.amount_due == 0
    assert refund_owed(encounter=visit) == 19_360
    assert_visit_adds_up_to_one_bill(visit)
    settlement = Invoice.objects.filter(encounter=visit).latest("id")
    assert settlement.status == InvoiceStatus.PAID
    # Refunded (owed back) already: voiding the give-back now would take it twice.
    with pytest.raises(InvoiceCreditSpent):
        void(settlement)


# --- the invariant, without the database -------------------------------------------------

PRICES = st.integers(min_value=1_000, max_value=400_000)


@st.composite
def visit_lines(draw: st.DrawFn) -> SplitInput:
    price = draw(PRICES)
    insured = draw(st.sampled_from([price, price * 2 // 3, price * 3 // 2, None]))
    return SplitInput(draw(st.integers(1, 3)), price, insured, draw(st.booleans()))


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(visit_lines(), min_size=1, max_size=12),
    steps=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 5)), min_size=1, max_size=8),
    benefit_level=st.sampled_from([80, 95, 100]),
    correct_route=st.booleans(),
    cap=st.sampled_from([None, 0, 50_000]),
)
def test_any_invoicing_of_a_visit_adds_up_to_the_one_bill_split(
    lines: list[SplitInput],
    steps: list[tuple[int, int]],
    benefit_level: int,
    correct_route: bool,
    cap: int | None,
) -> None:
    """Bill the lines in any number of invoices, voiding any of them on the way (a void
    makes its lines billable again), then settle: the invoices that are not void add up to
    the one-bill split of the visit."""
    rules = Rules(
        benefit_level=benefit_level,
        route_ratio=Decimal(100 if correct_route else 40),
        visit_threshold=351_000,
        correct_route=correct_route,
        copay_cap_remaining=cap,
    )
    unbilled = list(range(len(lines)))
    invoices: list[tuple[list[int], int, int, int]] = []  # (line indexes, fund, patient, copay)
    for take, void_at in steps:
        if void_at < len(invoices):
            voided = invoices.pop(void_at)
            unbilled += voided[0]
        billed = [i for invoice in invoices for i in invoice[0]]
        batch, unbilled = unbilled[:take], unbilled[take:]
        _issue(lines, billed, invoices, batch, rules)
    billed = [i for invoice in invoices for i in invoice[0]]
    _issue(lines, billed, invoices, unbilled, rules)  # the rest, or discharge's settlement

    final = [i for invoice in invoices for i in invoice[0]]
    one_bill = split([lines[i] for i in final], rules)
    assert sum(invoice[1] for invoice in invoices) == sum(s.insurance for s in one_bill)
    assert sum(invoice[2] for invoice in invoices) == sum(s.patient for s in one_bill)
    assert sum(invoice[3] for invoice in invoices) == sum(s.copay for s in one_bill)


def _issue(
    lines: list[SplitInput],
    billed: list[int],
    invoices: list[tuple[list[int], int, int, int]],
    batch: list[int],
    rules: Rules,
) -> None:
    """Issue an invoice for ``batch`` as invoice_issue does, keeping only its totals."""
    result = visit_split(
        billed=VisitBilled(
            lines=[lines[i] for i in billed],
            resplit=[True] * len(billed),
            insurance=sum(invoice[1] for invoice in invoices),
            copay=sum(invoice[3] for invoice in invoices),
        ),
        new=[lines[i] for i in batch],
        rules=rules,
    )
    if not batch and result.adjustment is None:
        return
    shares = [*result.new, *([result.adjustment] if result.adjustment else [])]
    invoices.append(
        (
            batch,
            sum(s.insurance for s in shares),
            sum(s.patient for s in shares),
            sum(s.copay for s in shares),
        )
    )


# --- invoices issued before the rules were recorded (migration 0010) -----------------------


def test_an_invoice_issued_before_the_migration_is_never_re_split(
    visit: Encounter, exam: PriceListItem, ct_scan: PriceListItem
) -> None:
    charges_post(visit, (exam, 1))
    legacy = issue(visit)
    legacy.lines.update(rule="")  # as migration 0010 leaves the lines it finds

    charges_post(visit, (ct_scan, 1))
    second = issue(visit)

    # The exam still counts toward the visit's cost (the CT scan is at 80 %), but its
    # invoice keeps the shares it was issued with: no adjustment line.
    assert shares_of(second) == [(428_800, 107_200, R.IN_SCOPE)]
    assert shares_of(Invoice.objects.get(pk=legacy.pk)) == [(96_800, 0, "")]
