"""The BHYT co-payment split (Law on Health Insurance Art. 22): benefit levels, the low-cost-visit
threshold,
route ratios by date, out-of-scope and on-demand lines, and exact integer shares
(shares add up to the line exactly)."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.identifiers import insurance_id_parse
from billing.insurance import Rules, Share, SplitInput, rules_for, split
from billing.models import EncounterKind, Route
from billing.services.invoices import invoice_issue
from tests.assertions import assert_invoice_agrees_with_books
from tests.billing.builders import (
    charges_post,
    encounter_new,
    patient_with_coverage,
    price_item,
    visit_invoice,
)

THRESHOLD_2024 = 351_000  # 15 % of 2,340,000 ₫ (Decree 73/2024/ND-CP)
CORRECT_ROUTE = Decimal(100)


def rules(benefit_level: int, route_ratio: Decimal = CORRECT_ROUTE) -> Rules:
    return Rules(
        benefit_level=benefit_level, route_ratio=route_ratio, visit_threshold=THRESHOLD_2024
    )


def line(
    price: int,
    quantity: int = 1,
    *,
    insurance_price: int | None = None,
    out_of_scope: bool = False,
    on_demand: bool = False,
) -> SplitInput:
    """A line whose insurance price is its price unless given, or none when out of scope."""
    covered = None if out_of_scope else (price if insurance_price is None else insurance_price)
    return SplitInput(quantity, price, covered, on_demand)


def split_visit(lines: list[SplitInput], visit_rules: Rules) -> list[Share]:
    return split(lines, visit_rules, visit_in_scope_total=sum(x.in_scope_amount for x in lines))


# --- the worked examples and the benefit levels ------------------------------------------


def test_a_300000_visit_on_an_80_percent_card_costs_the_patient_nothing() -> None:
    assert split_visit([line(300_000)], rules(80)) == [Share(insurance=300_000, patient=0)]


def test_a_1000000_visit_on_an_80_percent_card_is_split_800000_and_200000() -> None:
    assert split_visit([line(1_000_000)], rules(80)) == [Share(insurance=800_000, patient=200_000)]


@pytest.mark.django_db
@pytest.mark.parametrize(("price", "patient_pays"), [(300_000, 0), (1_000_000, 200_000)])
def test_the_worked_examples_hold_on_an_issued_invoice(price: int, patient_pays: int) -> None:
    invoice = visit_invoice(price, benefit_level=80)

    assert (invoice.total, invoice.insurance_share, invoice.patient_share) == (
        price,
        price - patient_pays,
        patient_pays,
    )
    assert_invoice_agrees_with_books(invoice)


@pytest.mark.parametrize(("benefit_level", "patient_pays"), [(100, 0), (95, 50_000), (80, 200_000)])
def test_each_benefit_level_sets_the_patient_share(benefit_level: int, patient_pays: int) -> None:
    [share] = split_visit([line(1_000_000)], rules(benefit_level))

    assert share == Share(insurance=1_000_000 - patient_pays, patient=patient_pays)


@pytest.mark.parametrize(
    ("card", "patient_pays"),
    [("CC1010123456789", 0), ("HN3010123456789", 50_000), ("DN4010123456789", 200_000)],
)
def test_the_benefit_digit_of_a_legacy_card_sets_the_patient_share(
    card: str, patient_pays: int
) -> None:
    level = insurance_id_parse(card).benefit_level
    assert level is not None

    [share] = split_visit([line(1_000_000)], rules(level))

    assert share.patient == patient_pays


def test_a_visit_under_the_threshold_is_covered_in_full_whatever_the_level() -> None:
    assert split_visit([line(200_000), line(150_000)], rules(80)) == [
        Share(200_000, 0),
        Share(150_000, 0),
    ]
    # 351,000 is not *below* 15 % of the base salary.
    assert split_visit([line(351_000)], rules(80)) == [Share(280_800, 70_200)]


def test_out_of_scope_and_on_demand_lines_are_the_patients_alone() -> None:
    shares = split_visit(
        [
            line(1_000_000),
            line(250_000, out_of_scope=True),  # no insurance price: out of BHYT scope
            line(500_000, on_demand=True),  # dịch vụ theo yêu cầu, even with a price
        ],
        rules(80),
    )

    assert shares == [Share(800_000, 200_000), Share(0, 250_000), Share(0, 500_000)]


def test_the_difference_above_the_insurance_price_is_the_patients() -> None:
    [share] = split_visit([line(600_000, 2, insurance_price=500_000)], rules(80))

    # fund: 80 % of 2 x 500,000; patient: 20 % of that plus 2 x 100,000 above the price
    assert share == Share(insurance=800_000, patient=400_000)


def test_an_uninsured_patient_pays_everything() -> None:
    assert split_visit([line(1_000_000)], Rules.uninsured()) == [Share(0, 1_000_000)]


def test_the_fund_share_is_rounded_half_up_once_per_line() -> None:
    half_way = Rules(benefit_level=100, route_ratio=Decimal(50), visit_threshold=0)

    # 5 x 50 % = 2.5 → 3 (half up, not to even); 7 x 95 % = 6.65 → 7; 3 x 80 % = 2.4 → 2
    assert split([line(5)], half_way, visit_in_scope_total=5) == [Share(3, 2)]
    assert split([line(7)], rules(95), visit_in_scope_total=10**9) == [Share(7, 0)]
    assert split([line(3)], rules(80), visit_in_scope_total=10**9) == [Share(2, 1)]


# --- dated rules: base salary, threshold, route ratios -------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("on", "threshold"),
    [
        (date(2024, 6, 30), 270_000),  # 15 % of 1,800,000 (Decree 24/2023/ND-CP)
        (date(2024, 7, 1), 351_000),  # 15 % of 2,340,000 (Decree 73/2024/ND-CP)
        (date(2026, 11, 26), 351_000),
    ],
)
def test_the_visit_threshold_follows_the_base_salary_in_force(on: date, threshold: int) -> None:
    patient = patient_with_coverage(benefit_level=80)

    found = rules_for(
        patient=patient, route=Route.CORRECT, encounter_kind=EncounterKind.OUTPATIENT, on=on
    )

    assert found.visit_threshold == threshold


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("on", "patient_pays"), [(date(2024, 6, 30), 60_000), (date(2024, 7, 1), 0)]
)
def test_a_300000_visit_is_over_the_old_threshold_and_under_the_new(
    on: date, patient_pays: int
) -> None:
    invoice = visit_invoice(300_000, benefit_level=80, on=on)

    assert (invoice.insurance_share, invoice.patient_share) == (
        300_000 - patient_pays,
        patient_pays,
    )
    assert_invoice_agrees_with_books(invoice)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "on", "insurance_share"),
    [
        # Outpatient self-referral: nothing before 2025-07-01, half of the benefit after.
        (EncounterKind.OUTPATIENT, date(2025, 6, 30), 0),
        (EncounterKind.OUTPATIENT, date(2025, 7, 1), 400_000),
        (EncounterKind.INPATIENT, date(2025, 6, 30), 800_000),
        (EncounterKind.INPATIENT, date(2025, 7, 1), 800_000),
    ],
)
def test_wrong_route_ratios_follow_the_rows_in_force(
    kind: str, on: date, insurance_share: int
) -> None:
    invoice = visit_invoice(1_000_000, benefit_level=80, kind=kind, route=Route.WRONG, on=on)

    assert invoice.route == Route.WRONG
    assert (invoice.insurance_share, invoice.patient_share) == (
        insurance_share,
        1_000_000 - insurance_share,
    )
    assert_invoice_agrees_with_books(invoice)


@pytest.mark.django_db
def test_the_threshold_does_not_apply_off_the_correct_route() -> None:
    invoice = visit_invoice(300_000, benefit_level=80, route=Route.WRONG, on=date(2025, 7, 1))

    assert (invoice.insurance_share, invoice.patient_share) == (120_000, 180_000)


@pytest.mark.django_db
@pytest.mark.parametrize("on", [date(2025, 6, 30), date(2025, 7, 1)])
def test_an_emergency_always_counts_as_correct_route(on: date) -> None:
    invoice = visit_invoice(
        1_000_000, benefit_level=80, kind=EncounterKind.EMERGENCY, route=Route.WRONG, on=on
    )

    assert invoice.route == Route.EMERGENCY
    assert (invoice.insurance_share, invoice.patient_share) == (800_000, 200_000)


@pytest.mark.django_db
def test_cover_that_has_expired_pays_nothing() -> None:
    patient = patient_with_coverage(
        benefit_level=100, valid_from=date(2024, 1, 1), valid_to=date(2024, 12, 31)
    )
    encounter = encounter_new(patient=patient, on=date(2025, 1, 1))
    charges_post(encounter, (price_item(price=500_000), 1))

    invoice = invoice_issue(encounter=encounter, issued_by="test")

    assert (invoice.insurance_share, invoice.patient_share, invoice.benefit_level) == (
        0,
        500_000,
        0,
    )


@pytest.mark.django_db
def test_the_threshold_counts_the_whole_visit_including_lines_billed_earlier() -> None:
    encounter = encounter_new(patient=patient_with_coverage(benefit_level=80))
    charges_post(encounter, (price_item(price=300_000), 1))
    first = invoice_issue(encounter=encounter, issued_by="test")
    charges_post(encounter, (price_item(price=100_000), 1))

    second = invoice_issue(encounter=encounter, issued_by="test")

    # 300,000 alone was under 351,000; the visit, now 400,000, is not.
    assert first.patient_share == 0
    assert (second.insurance_share, second.patient_share) == (80_000, 20_000)


# --- rounding properties: shares add up exactly ---------------------------------------------------

ODD_PRICES = st.integers(min_value=1, max_value=9_999_999)
RATIOS = st.sampled_from(
    [Decimal(0), Decimal(50), Decimal(100), Decimal("33.33"), Decimal("66.67")]
)


@st.composite
def split_lines(draw: st.DrawFn) -> SplitInput:
    price = draw(ODD_PRICES)
    insurance_price = draw(
        st.one_of(st.none(), st.integers(0, price), st.integers(price, 2 * price))
    )
    return SplitInput(
        quantity=draw(st.integers(1, 60)),
        unit_price=price,
        insurance_unit_price=insurance_price,
        on_demand=draw(st.booleans()),
    )


def expected_fund(item: SplitInput, visit_rules: Rules, lines: list[SplitInput]) -> int:
    if visit_rules.benefit_level == 0 or visit_rules.route_ratio == 0:
        return 0
    visit_in_scope = sum(x.in_scope_amount for x in lines)
    low_cost = visit_rules.route_ratio == 100 and 0 < visit_in_scope < visit_rules.visit_threshold
    level = 100 if low_cost else visit_rules.benefit_level
    exact = Decimal(item.in_scope_amount) * level / 100 * visit_rules.route_ratio / 100
    return min(int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP)), item.amount)


@settings(max_examples=100, deadline=None)
@given(
    lines=st.lists(split_lines(), min_size=1, max_size=40),
    benefit_level=st.sampled_from([80, 95, 100]),
    route_ratio=RATIOS,
    threshold=st.sampled_from([0, 270_000, 351_000]),
)
def test_shares_are_non_negative_integers_that_add_up_to_each_line(
    lines: list[SplitInput], benefit_level: int, route_ratio: Decimal, threshold: int
) -> None:
    visit_rules = Rules(
        benefit_level=benefit_level, route_ratio=route_ratio, visit_threshold=threshold
    )

    shares = split_visit(lines, visit_rules)

    assert len(shares) == len(lines)
    for item, share in zip(lines, shares, strict=True):
        assert type(share.insurance) is int
        assert type(share.patient) is int
        assert share.insurance >= 0
        assert share.patient >= 0
        assert share.insurance + share.patient == item.amount
        # The fund pays its rate of the in-scope amount, rounded half up once, capped at
        # the line; a low-cost visit on the correct route is covered at 100 %.
        assert share.insurance == expected_fund(item, visit_rules, lines)
    assert sum(s.insurance + s.patient for s in shares) == sum(x.amount for x in lines)


@pytest.mark.django_db
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    prices=st.lists(
        st.tuples(
            ODD_PRICES, st.integers(1, 25), st.sampled_from(["same", "lower", "none", "on_demand"])
        ),
        min_size=1,
        max_size=12,
    ),
    benefit_level=st.sampled_from([80, 95, 100]),
    route=st.sampled_from([Route.CORRECT, Route.WRONG]),
)
def test_issued_invoice_totals_are_the_exact_sums_of_their_line_shares(
    prices: list[tuple[int, int, str]], benefit_level: int, route: str
) -> None:
    # Each example runs in a savepoint rolled back at its end.
    with transaction.atomic():
        encounter = encounter_new(
            patient=patient_with_coverage(benefit_level=benefit_level), route=route
        )
        items = []
        for price, quantity, scope in prices:
            item = price_item(
                price=price,
                insurance_price={"same": price, "lower": price * 2 // 3, "none": None}.get(
                    scope, price
                ),
                on_demand=scope == "on_demand",
            )
            items.append((item, quantity))
        charges_post(encounter, *items)

        invoice = invoice_issue(encounter=encounter, issued_by="test")

        assert invoice.total == sum(price * quantity for price, quantity, _ in prices)
        assert_invoice_agrees_with_books(invoice)
        transaction.set_rollback(True)
