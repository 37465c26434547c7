"""The BHYT co-payment split (Law on Health Insurance Art. 22): benefit levels, the cost actually
incurred up to the insured price, the low-cost-visit threshold on the correct route only, on-demand
and out-of-scope lines, dated wrong-route ratios by the hospital's level, the rule code of each
line, and exact integer shares that add up to the line. The visit billed in several invoices is in
test_visit_split.py, the five-year cap in test_copay_cap.py."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.identifiers import insurance_id_parse
from billing.insurance import Rules, Share, SplitInput, route_ratio_in_force, rules_for, split
from billing.models import (
    EncounterKind,
    HospitalLevel,
    Invoice,
    Route,
    RouteRatio,
    ServiceCategory,
    ShareRule,
)
from billing.services.invoices import invoice_issue
from tests.assertions import assert_invoice_agrees_with_books
from tests.billing.builders import (
    charges_post,
    encounter_new,
    hospital_level_set,
    patient_with_coverage,
    price_item,
    visit_invoice,
)

THRESHOLD_2024 = 351_000  # 15 % of 2,340,000 ₫ (Decree 73/2024/ND-CP)
CORRECT_ROUTE = Decimal(100)
R = ShareRule


def rules(
    benefit_level: int,
    route_ratio: Decimal = CORRECT_ROUTE,
    *,
    correct_route: bool = True,
    threshold: int = THRESHOLD_2024,
) -> Rules:
    return Rules(
        benefit_level=benefit_level,
        route_ratio=route_ratio,
        visit_threshold=threshold,
        correct_route=correct_route,
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


def amounts(shares: list[Share]) -> list[tuple[int, int]]:
    return [(s.insurance, s.patient) for s in shares]


def issued(*items: tuple[int, int | None, bool], benefit_level: int = 80, **visit: Any) -> Invoice:
    """The invoice of a visit made of ``(price, insured price, on demand)`` lines."""
    encounter = encounter_new(patient=patient_with_coverage(benefit_level=benefit_level), **visit)
    charges_post(
        encounter,
        *(
            (price_item(price=price, insurance_price=insured, on_demand=on_demand), 1)
            for price, insured, on_demand in items
        ),
    )
    return invoice_issue(encounter=encounter, issued_by="test")


def line_shares(invoice: Invoice) -> list[tuple[int, int, str]]:
    return [(x.insurance_share, x.patient_share, x.rule) for x in invoice.lines.order_by("id")]


# --- the worked examples of the insurance rules -----------------------------------------------


def test_a_300000_visit_on_an_80_percent_card_costs_the_patient_nothing() -> None:
    assert split([line(300_000)], rules(80)) == [Share(300_000, 0, R.BELOW_THRESHOLD, 0)]


def test_a_1000000_visit_on_an_80_percent_card_is_split_800000_and_200000() -> None:
    assert split([line(1_000_000)], rules(80)) == [Share(800_000, 200_000, R.IN_SCOPE, 200_000)]


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


@pytest.mark.django_db
def test_rule_1_the_fund_pays_on_the_cost_incurred_never_above_the_insured_price() -> None:
    # Charged 40,000 for a service insured at 50,600, in a visit over the threshold: the fund
    # pays 80 % of the 40,000 actually incurred, not of 50,600 (nor all of it).
    invoice = issued((40_000, 50_600, False), (1_000_000, 1_000_000, False), on=date(2025, 3, 10))

    assert line_shares(invoice)[0] == (32_000, 8_000, R.IN_SCOPE)
    assert_invoice_agrees_with_books(invoice)


@pytest.mark.django_db
def test_rule_2_a_wrong_route_bed_day_below_the_threshold_is_not_covered_in_full() -> None:
    # Self-referred inpatient at a provincial hospital: the ratio is 100 % since 2021, but
    # the below-15 % rule is for the correct route only (Decree 146/2018 Art. 14(1)).
    hospital_level_set(HospitalLevel.PROVINCIAL)
    invoice = issued(
        (321_000, 321_000, False),
        kind=EncounterKind.INPATIENT,
        route=Route.WRONG,
        on=date(2025, 3, 10),
    )

    assert (invoice.insurance_share, invoice.patient_share) == (256_800, 64_200)
    assert line_shares(invoice) == [(256_800, 64_200, R.WRONG_ROUTE)]
    assert_invoice_agrees_with_books(invoice)


@pytest.mark.django_db
def test_rule_5_an_on_demand_exam_is_paid_on_its_insured_price() -> None:
    invoice = issued((300_000, 50_600, True), on=date(2025, 3, 10))

    assert (invoice.insurance_share, invoice.patient_share) == (40_480, 259_520)
    assert line_shares(invoice) == [(40_480, 259_520, R.ON_DEMAND)]
    assert_invoice_agrees_with_books(invoice)


@pytest.mark.django_db
def test_rule_5_an_on_demand_service_outside_the_list_stays_the_patients() -> None:
    invoice = issued((300_000, None, True), on=date(2025, 3, 10))

    assert line_shares(invoice) == [(0, 300_000, R.OUT_OF_SCOPE)]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("level", "kind", "fund"),
    [
        (HospitalLevel.CENTRAL, EncounterKind.INPATIENT, 320_000),  # 40 % of 80 %
        (HospitalLevel.CENTRAL, EncounterKind.OUTPATIENT, 0),
        (HospitalLevel.PROVINCIAL, EncounterKind.INPATIENT, 800_000),
        (HospitalLevel.PROVINCIAL, EncounterKind.OUTPATIENT, 0),
        (HospitalLevel.DISTRICT, EncounterKind.INPATIENT, 800_000),
        (HospitalLevel.DISTRICT, EncounterKind.OUTPATIENT, 800_000),
    ],
)
def test_rule_6_the_wrong_route_ratio_follows_the_hospitals_level(
    level: str, kind: str, fund: int
) -> None:
    hospital_level_set(level)

    invoice = issued(
        (1_000_000, 1_000_000, False), kind=kind, route=Route.WRONG, on=date(2024, 5, 2)
    )

    assert (invoice.insurance_share, invoice.patient_share) == (fund, 1_000_000 - fund)
    assert_invoice_agrees_with_books(invoice)


@pytest.mark.django_db
def test_rule_6_the_hospitals_level_is_dated() -> None:
    hospital_level_set(HospitalLevel.CENTRAL)
    hospital_level_set(HospitalLevel.PROVINCIAL, since=date(2024, 1, 1))
    bed_day = (1_000_000, 1_000_000, False)

    before = issued(bed_day, kind=EncounterKind.INPATIENT, route=Route.WRONG, on=date(2023, 12, 31))
    after = issued(bed_day, kind=EncounterKind.INPATIENT, route=Route.WRONG, on=date(2024, 1, 1))

    assert (before.insurance_share, after.insurance_share) == (320_000, 800_000)


# --- benefit levels, scope, rounding -----------------------------------------------------


@pytest.mark.parametrize(("benefit_level", "patient_pays"), [(100, 0), (95, 50_000), (80, 200_000)])
def test_each_benefit_level_sets_the_patient_share(benefit_level: int, patient_pays: int) -> None:
    [share] = split([line(1_000_000)], rules(benefit_level))

    assert (share.insurance, share.patient) == (1_000_000 - patient_pays, patient_pays)


@pytest.mark.parametrize(
    ("card", "patient_pays"),
    [("CC1010123456789", 0), ("HN3010123456789", 50_000), ("DN4010123456789", 200_000)],
)
def test_the_benefit_digit_of_a_legacy_card_sets_the_patient_share(
    card: str, patient_pays: int
) -> None:
    level = insurance_id_parse(card).benefit_level
    assert level is not None

    [share] = split([line(1_000_000)], rules(level))

    assert share.patient == patient_pays


def test_a_visit_under_the_threshold_is_covered_in_full_whatever_the_level() -> None:
    assert amounts(split([line(200_000), line(150_000)], rules(80))) == [(200_000, 0), (150_000, 0)]
    # 351,000 is not *below* 15 % of the base salary.
    assert amounts(split([line(351_000)], rules(80))) == [(280_800, 70_200)]


def test_the_threshold_judges_the_cost_incurred_and_leaves_out_on_demand_care() -> None:
    # 340,000 charged for services insured at 400,000: the visit's cost is 340,000 (under).
    assert amounts(split([line(340_000, insurance_price=400_000)], rules(80))) == [(340_000, 0)]
    # An on-demand exam neither counts toward the visit's cost nor is covered in full.
    visit = [line(300_000), line(500_000, insurance_price=50_600, on_demand=True)]
    assert split(visit, rules(80)) == [
        Share(300_000, 0, R.BELOW_THRESHOLD, 0),
        Share(40_480, 459_520, R.ON_DEMAND, 10_120),
    ]


def test_out_of_scope_lines_are_the_patients_alone() -> None:
    shares = split([line(1_000_000), line(250_000, out_of_scope=True)], rules(80))

    assert shares == [
        Share(800_000, 200_000, R.IN_SCOPE, 200_000),
        Share(0, 250_000, R.OUT_OF_SCOPE, 0),
    ]


def test_the_difference_above_the_insurance_price_is_the_patients() -> None:
    [share] = split([line(600_000, 2, insurance_price=500_000)], rules(80))

    # fund: 80 % of 2 x 500,000; patient: 20 % of that (the co-pay) plus 2 x 100,000 above
    assert share == Share(800_000, 400_000, R.ABOVE_INSURED_PRICE, 200_000)


def test_an_uninsured_patient_pays_everything() -> None:
    assert split([line(1_000_000)], Rules.uninsured()) == [Share(0, 1_000_000, R.OUT_OF_SCOPE)]


def test_self_referred_co_pay_never_counts_toward_the_cap() -> None:
    [share] = split([line(1_000_000)], rules(80, Decimal(40), correct_route=False))

    assert share == Share(320_000, 680_000, R.WRONG_ROUTE, 0)


def test_the_fund_share_is_rounded_half_up_once_per_line() -> None:
    half_way = Rules(benefit_level=100, route_ratio=Decimal(50), visit_threshold=0)

    # 5 x 50 % = 2.5 → 3 (half up, not to even); 7 x 95 % = 6.65 → 7; 3 x 80 % = 2.4 → 2
    assert amounts(split([line(5)], half_way)) == [(3, 2)]
    assert amounts(split([line(7)], rules(95, threshold=0))) == [(7, 0)]
    assert amounts(split([line(3)], rules(80, threshold=0))) == [(2, 1)]


# --- dated rules: base salary, threshold, route ratios by level --------------------------


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
    ("level", "kind", "on", "ratio", "confirmed"),
    [
        ("central", "inpatient", date(2019, 1, 1), 40, True),
        ("central", "outpatient", date(2024, 1, 1), 0, True),
        ("provincial", "inpatient", date(2020, 12, 31), 60, True),
        ("provincial", "inpatient", date(2021, 1, 1), 100, True),
        ("provincial", "outpatient", date(2025, 6, 30), 0, True),
        ("district", "outpatient", date(2019, 1, 1), 100, True),
        ("district", "inpatient", date(2024, 1, 1), 100, True),
        ("central", "inpatient", date(2025, 7, 1), 40, False),
        ("provincial", "inpatient", date(2025, 7, 1), 100, False),
        ("provincial", "outpatient", date(2025, 7, 1), 0, False),
        ("district", "outpatient", date(2025, 7, 1), 100, False),
        ("provincial", "outpatient", date(2026, 7, 1), 50, False),
        ("central", "outpatient", date(2026, 7, 1), 50, False),
    ],
)
def test_the_seeded_wrong_route_ratios_cover_every_level_since_2019(
    level: str, kind: str, on: date, ratio: int, confirmed: bool
) -> None:
    hospital_level_set(level)

    row = route_ratio_in_force(route=Route.WRONG, encounter_kind=kind, on=on)

    assert row is not None
    assert (row.ratio_percent, row.confirmed) == (ratio, confirmed)
    assert row.source
    assert confirmed or "(check)" in row.note  # an unconfirmed row says so in the admin


@pytest.mark.django_db
def test_no_generic_wrong_route_row_is_left_to_override_the_levels() -> None:
    assert not RouteRatio.objects.filter(route=Route.WRONG, hospital_level="").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "on", "insurance_share"),
    [
        # Outpatient self-referral at a provincial hospital: nothing before 2026-07-01, half
        # of the benefit after (Decree 188/2025/ND-CP); inpatient 100 % since 2021.
        (EncounterKind.OUTPATIENT, date(2025, 7, 1), 0),
        (EncounterKind.OUTPATIENT, date(2026, 7, 1), 400_000),
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
    invoice = visit_invoice(300_000, benefit_level=80, route=Route.WRONG, on=date(2026, 7, 1))

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


# --- rounding properties: shares add up exactly ---------------------------------------

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
    """The fund's share written out from the law's rule, independently of the code."""
    if visit_rules.benefit_level == 0 or item.insurance_unit_price is None:
        return 0
    base = min(item.unit_price, item.insurance_unit_price) * item.quantity
    visit_cost = sum(
        min(x.unit_price, x.insurance_unit_price) * x.quantity
        for x in lines
        if x.insurance_unit_price is not None and not x.on_demand
    )
    low_cost = visit_rules.correct_route and 0 < visit_cost < visit_rules.visit_threshold
    level = 100 if low_cost and not item.on_demand else visit_rules.benefit_level
    exact = Decimal(base) * level / 100 * visit_rules.route_ratio / 100
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@settings(max_examples=100, deadline=None)
@given(
    lines=st.lists(split_lines(), min_size=1, max_size=40),
    benefit_level=st.sampled_from([80, 95, 100]),
    route_ratio=RATIOS,
    correct_route=st.booleans(),
    threshold=st.sampled_from([0, 270_000, 351_000]),
)
def test_shares_are_non_negative_integers_that_add_up_to_each_line(
    lines: list[SplitInput],
    benefit_level: int,
    route_ratio: Decimal,
    correct_route: bool,
    threshold: int,
) -> None:
    visit_rules = rules(
        benefit_level, route_ratio, correct_route=correct_route, threshold=threshold
    )

    shares = split(lines, visit_rules)

    assert len(shares) == len(lines)
    for item, share in zip(lines, shares, strict=True):
        assert type(share.insurance) is int
        assert type(share.patient) is int
        assert share.insurance >= 0
        assert share.patient >= 0
        assert share.insurance + share.patient == item.amount
        assert share.insurance == expected_fund(item, visit_rules, lines)
        assert share.rule in ShareRule.values
        assert 0 <= share.copay <= share.patient
        assert correct_route or share.copay == 0
    assert sum(s.insurance + s.patient for s in shares) == sum(x.amount for x in lines)


@pytest.mark.django_db
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
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
                category=ServiceCategory.LAB,
            )
            items.append((item, quantity))
        charges_post(encounter, *items)

        invoice = invoice_issue(encounter=encounter, issued_by="test")

        assert invoice.total == sum(price * quantity for price, quantity, _ in prices)
        assert all(x.rule for x in invoice.lines.all())
        assert_invoice_agrees_with_books(invoice)
        transaction.set_rollback(True)
