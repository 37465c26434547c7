"""The five-year co-pay cap (Decree 146/2018/ND-CP Art. 14): a patient with five consecutive years
of cover
co-pays nothing more in a year once that year's co-pay on in-scope care reaches six months of
base salary (6 x 2,340,000 = 14,040,000 ₫ from 2024-07-01). The fund pays the rest — on the
correct route (emergencies count as correct), from the card's five-year date, never twice
for two invoices issued at once."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth import get_user_model

from billing.insurance import Rules, Share, SplitInput, patient_copay_in_year, split
from billing.models import Invoice, Patient, Route
from billing.services.invoices import invoice_issue, invoice_void
from tests.assertions import assert_invoice_agrees_with_books
from tests.billing.builders import charges_post, encounter_new, patient_with_coverage, price_item
from tests.concurrency import run_at_once

CAP_2025 = 6 * 2_340_000
VISIT_DAY = date(2025, 3, 10)
FIVE_YEARS_FROM = date(2024, 1, 1)
THREADS = 8


def capped_rules(remaining: int) -> Rules:
    return Rules(
        benefit_level=80,
        route_ratio=100,  # type: ignore[arg-type]  # a Decimal percent; an int compares the same
        visit_threshold=351_000,
        copay_cap_remaining=remaining,
    )


def five_year_patient(*, five_years_from: date | None = FIVE_YEARS_FROM) -> Patient:
    patient = patient_with_coverage(benefit_level=80)
    patient.coverages.update(five_years_from=five_years_from)
    return patient


def visit(
    patient: Patient, price: int, *, route: str = Route.CORRECT, on: date = VISIT_DAY
) -> Invoice:
    encounter = encounter_new(patient=patient, route=route, on=on)
    charges_post(encounter, (price_item(price=price), 1))
    return invoice_issue(encounter=encounter, issued_by="test")


# --- the split itself ------------------------------------------------------------------


def test_past_the_cap_the_fund_pays_the_co_pay_too() -> None:
    lines = [SplitInput(1, 1_000_000, 1_000_000, False)]

    assert split(lines, capped_rules(50_000), visit_in_scope_total=1_000_000) == [
        Share(insurance=950_000, patient=50_000)
    ]


def test_what_is_left_of_the_cap_is_spent_line_by_line() -> None:
    lines = [SplitInput(1, 500_000, 500_000, False), SplitInput(1, 500_000, 500_000, False)]

    shares = split(lines, capped_rules(150_000), visit_in_scope_total=1_000_000)

    assert shares == [Share(400_000, 100_000), Share(450_000, 50_000)]


def test_the_cap_never_pays_for_what_insurance_does_not_cover() -> None:
    out_of_scope = SplitInput(1, 300_000, None, False)
    on_demand = SplitInput(1, 200_000, 200_000, True)
    dearer_than_insured = SplitInput(1, 150_000, 100_000, False)

    shares = split(
        [out_of_scope, on_demand, dearer_than_insured], capped_rules(0), visit_in_scope_total=0
    )

    # Past the cap the patient still pays what is outside BHYT: the whole of the first two
    # lines and the 50,000 above the insured price of the third.
    assert shares == [Share(0, 300_000), Share(0, 200_000), Share(100_000, 50_000)]


# --- on issued invoices ------------------------------------------------------------------


@pytest.mark.django_db
def test_a_five_year_patient_stops_co_paying_once_the_years_co_pay_reaches_the_cap() -> None:
    patient = five_year_patient()
    first = visit(patient, 70_000_000)  # 80 % card: co-pay 14,000,000
    assert first.patient_share == 14_000_000

    second = visit(patient, 1_000_000)  # co-pay would be 200,000; 40,000 is left of the cap
    third = visit(patient, 500_000)

    assert (second.insurance_share, second.patient_share) == (960_000, 40_000)
    assert (third.insurance_share, third.patient_share) == (500_000, 0)
    assert patient_copay_in_year(patient=patient, year=2025) == CAP_2025
    for invoice in (first, second, third):
        assert_invoice_agrees_with_books(invoice)


@pytest.mark.django_db
def test_the_cap_starts_again_each_calendar_year() -> None:
    patient = five_year_patient()
    visit(patient, 80_000_000)

    next_year = visit(patient, 1_000_000, on=date(2026, 1, 5))

    assert next_year.patient_share == 200_000


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("five_years_from", "route", "co_pays"),
    [
        (None, Route.CORRECT, "no five-year date on the card"),
        (date(2025, 6, 1), Route.CORRECT, "five years reached after the visit"),
        (FIVE_YEARS_FROM, Route.WRONG, "self-referral"),
    ],
)
def test_without_five_years_or_on_the_wrong_route_the_co_pay_is_not_capped(
    five_years_from: date | None, route: str, co_pays: str
) -> None:
    patient = five_year_patient(five_years_from=five_years_from)
    visit(patient, 80_000_000)

    later = visit(patient, 1_000_000, route=route)

    assert later.patient_share > 0, co_pays


@pytest.mark.django_db
def test_an_emergency_counts_as_the_correct_route_for_the_cap() -> None:
    patient = five_year_patient()
    visit(patient, 80_000_000)

    emergency = visit(patient, 1_000_000, route=Route.EMERGENCY)

    assert emergency.patient_share == 0


@pytest.mark.django_db
def test_a_voided_invoice_gives_its_co_pay_back_to_the_cap() -> None:
    patient = five_year_patient()
    big = visit(patient, 80_000_000)
    supervisor = get_user_model().objects.create_user(username="sup-copay")
    invoice_void(invoice=big, voided_by=supervisor, reason="billed to the wrong patient")

    after = visit(patient, 1_000_000)

    assert after.patient_share == 200_000


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("chart")
def test_invoices_issued_at_once_never_spend_the_cap_twice() -> None:
    patient = five_year_patient()
    visit(patient, 69_000_000)  # co-pay 13,800,000: 240,000 left
    encounters = []
    for _ in range(THREADS):
        encounter = encounter_new(patient=patient, on=VISIT_DAY)
        charges_post(encounter, (price_item(price=1_000_000), 1))  # co-pay 200,000 each
        encounters.append(encounter)

    outcomes = run_at_once(
        THREADS, lambda index: invoice_issue(encounter=encounters[index], issued_by="test")
    )

    assert all(isinstance(outcome, Invoice) for outcome in outcomes), outcomes
    shares = sorted(outcome.patient_share for outcome in outcomes)
    assert shares == [0] * (THREADS - 2) + [40_000, 200_000]
    assert patient_copay_in_year(patient=patient, year=2025) == CAP_2025
