"""The five-year co-pay cap (Decree 146/2018/ND-CP Art. 14): a patient with five consecutive years
of cover
co-pays nothing more in a year once that year's co-pay on in-scope care reaches six months of
base salary (6 x 2,340,000 = 14,040,000 ₫ from 2024-07-01). The fund pays the rest — on the
correct route (emergencies count as correct), from the card's five-year date, never twice
for two invoices issued at once."""

from __future__ import annotations

import importlib
from datetime import date
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.contrib.auth import get_user_model

from billing.insurance import Rules, Share, SplitInput, patient_copay_in_year, split
from billing.models import EncounterKind, Invoice, InvoiceLine, Patient, Route, ShareRule
from billing.services.invoices import invoice_issue, invoice_void
from tests.assertions import assert_invoice_agrees_with_books
from tests.billing.builders import charges_post, encounter_new, patient_with_coverage, price_item
from tests.concurrency import run_at_once

CAP_2025 = 6 * 2_340_000
VISIT_DAY = date(2025, 3, 10)
FIVE_YEARS_FROM = date(2024, 1, 1)
THREADS = 8
RULES_BY_VISIT_MIGRATION = importlib.import_module(
    "billing.migrations.0010_insurance_rules_by_level_and_visit"
)


def capped_rules(remaining: int) -> Rules:
    return Rules(
        benefit_level=80,
        route_ratio=Decimal(100),
        visit_threshold=0,  # the low-cost rule out of the way
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

    assert split(lines, capped_rules(50_000)) == [
        Share(insurance=950_000, patient=50_000, rule=ShareRule.CAP_REACHED, copay=50_000)
    ]


def test_what_is_left_of_the_cap_is_spent_line_by_line() -> None:
    lines = [SplitInput(1, 500_000, 500_000, False), SplitInput(1, 500_000, 500_000, False)]

    shares = split(lines, capped_rules(150_000))

    assert [(s.insurance, s.patient, s.copay) for s in shares] == [
        (400_000, 100_000, 100_000),
        (450_000, 50_000, 50_000),
    ]
    assert [s.rule for s in shares] == [ShareRule.IN_SCOPE, ShareRule.CAP_REACHED]


def test_the_cap_never_pays_for_what_insurance_does_not_cover() -> None:
    out_of_scope = SplitInput(1, 300_000, None, False)
    on_demand = SplitInput(1, 300_000, 200_000, True)
    dearer_than_insured = SplitInput(1, 150_000, 100_000, False)

    shares = split([out_of_scope, on_demand, dearer_than_insured], capped_rules(0))

    # Past the cap the patient still pays what is outside BHYT: the whole out-of-scope line,
    # the on-demand price above the insured price, the 50,000 above the insured price.
    assert [(s.insurance, s.patient) for s in shares] == [
        (0, 300_000),
        (200_000, 100_000),
        (100_000, 50_000),
    ]
    assert [s.copay for s in shares] == [0, 0, 0]


def test_self_referred_care_is_never_capped() -> None:
    wrong_route = Rules(
        benefit_level=80,
        route_ratio=Decimal(100),
        visit_threshold=0,
        correct_route=False,
        copay_cap_remaining=0,
    )

    [share] = split([SplitInput(1, 1_000_000, 1_000_000, False)], wrong_route)

    assert share == Share(800_000, 200_000, ShareRule.WRONG_ROUTE, 0)


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
def test_rule_4_self_referred_co_pay_does_not_bring_the_patient_closer_to_the_cap() -> None:
    patient = five_year_patient()
    # Self-referred outpatient at a provincial hospital in 2025: the fund pays nothing, and
    # the 20,000,000 paid is not co-pay on correct-route care.
    wrong = visit(patient, 20_000_000, route=Route.WRONG)
    assert (wrong.insurance_share, wrong.patient_share) == (0, 20_000_000)

    ct_scan = visit(patient, 536_000)

    assert (ct_scan.insurance_share, ct_scan.patient_share) == (428_800, 107_200)
    assert patient_copay_in_year(patient=patient, year=2025) == 107_200


@pytest.mark.django_db
def test_out_of_scope_and_above_insured_price_payments_do_not_count_toward_the_cap() -> None:
    patient = five_year_patient()
    encounter = encounter_new(patient=patient, on=VISIT_DAY)
    charges_post(
        encounter,
        (price_item(price=30_000_000, insurance_price=None), 1),
        (price_item(price=2_000_000, insurance_price=1_000_000), 1),
    )

    invoice = invoice_issue(encounter=encounter, issued_by="test")

    assert invoice.patient_share == 30_000_000 + 1_000_000 + 200_000
    assert patient_copay_in_year(patient=patient, year=2025) == 200_000


@pytest.mark.django_db
def test_a_self_referred_inpatient_stay_is_not_capped_though_its_ratio_is_100() -> None:
    patient = five_year_patient()
    visit(patient, 80_000_000)  # the year's cap is reached
    encounter = encounter_new(
        patient=patient, kind=EncounterKind.INPATIENT, route=Route.WRONG, on=VISIT_DAY
    )
    charges_post(encounter, (price_item(price=1_000_000), 1))

    stay = invoice_issue(encounter=encounter, issued_by="test")

    assert (stay.insurance_share, stay.patient_share) == (800_000, 200_000)


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


@pytest.mark.django_db
def test_the_migration_counts_earlier_invoices_co_pay_on_the_correct_route_only() -> None:
    patient = five_year_patient()
    correct = visit(patient, 1_000_000)
    wrong = visit(patient, 1_000_000, route=Route.WRONG)
    InvoiceLine.objects.filter(invoice__patient=patient).update(rule="", copay=0)

    RULES_BY_VISIT_MIGRATION.copay_backfill(django_apps, None)

    assert [x.copay for x in correct.lines.all()] == [200_000]
    assert [x.copay for x in wrong.lines.all()] == [0]
    assert patient_copay_in_year(patient=patient, year=2025) == 200_000
