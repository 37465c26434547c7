"""The BHYT co-payment split (Law on Health Insurance Art. 22, Decree 146/2018/ND-CP Art. 14), as
pure functions over integers and Decimals.

Per line, the fund pays ``round_half_up(in_scope_price * qty * benefit * route_ratio)``,
never more than the line; the patient pays the rest, so the two shares always add up to
the line's amount exactly. Out-of-scope items (no insurance price) and on-demand services
are the patient's alone. A visit whose in-scope total is below the threshold (15 % of the
base salary) is covered at 100 % of the route ratio.

A patient with five consecutive years of cover (from the card's "đủ 5 năm liên tục" date)
whose co-pay on in-scope care in the calendar year has reached six months of base salary
co-pays nothing more that year on the correct route: ``Rules.copay_cap_remaining`` is what
is left of the cap, and the fund pays every dong of co-pay beyond it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import F, Q, Sum
from django.db.models.functions import Coalesce

from billing.models import (
    InsuranceCoverage,
    InsuranceParameters,
    InvoiceLine,
    InvoiceStatus,
    Patient,
    Route,
    RouteRatio,
)
from billing.money import round_half_up


@dataclass(frozen=True, slots=True)
class SplitInput:
    quantity: int
    unit_price: int
    insurance_unit_price: int | None
    on_demand: bool

    @property
    def amount(self) -> int:
        return self.unit_price * self.quantity

    @property
    def in_scope_amount(self) -> int:
        if self.insurance_unit_price is None or self.on_demand:
            return 0
        return self.insurance_unit_price * self.quantity


@dataclass(frozen=True, slots=True)
class Share:
    insurance: int
    patient: int


@dataclass(frozen=True, slots=True)
class Rules:
    benefit_level: int  # percent; 0 when the patient has no valid cover
    route_ratio: Decimal  # percent
    visit_threshold: int  # VND
    # What the patient may still co-pay this year before the fund pays it all; None: no cap.
    copay_cap_remaining: int | None = None

    @classmethod
    def uninsured(cls) -> Rules:
        return cls(benefit_level=0, route_ratio=Decimal(0), visit_threshold=0)


def split(lines: Sequence[SplitInput], rules: Rules, *, visit_in_scope_total: int) -> list[Share]:
    """The fund's and the patient's share of each line.

    ``visit_in_scope_total`` is the in-scope cost of the whole visit (it decides the
    low-cost-visit rule), which may include lines billed earlier."""
    if rules.benefit_level == 0 or rules.route_ratio == 0:
        return [Share(0, line.amount) for line in lines]
    level = Decimal(rules.benefit_level)
    if rules.route_ratio == 100 and 0 < visit_in_scope_total < rules.visit_threshold:
        level = Decimal(100)
    rate = level / 100 * rules.route_ratio / 100
    remaining = rules.copay_cap_remaining
    shares = []
    for line in lines:
        fund = min(round_half_up(Decimal(line.in_scope_amount) * rate), line.amount)
        fund = max(fund, 0)
        if remaining is not None and line.in_scope_amount > 0:
            copay = max(min(line.in_scope_amount, line.amount) - fund, 0)
            allowed = min(copay, remaining)
            fund += copay - allowed  # past the cap, the fund pays the co-pay too
            remaining -= allowed
        shares.append(Share(fund, line.amount - fund))
    return shares


def rules_for(*, patient: Patient, route: str, encounter_kind: str, on: date) -> Rules:
    """The dated rules in force ``on`` a day for this patient, route and kind of visit."""
    coverage = (
        InsuranceCoverage.objects.filter(patient=patient, valid_from__lte=on, valid_to__gte=on)
        .order_by("-valid_from")
        .first()
    )
    if coverage is None:
        return Rules.uninsured()
    parameters = (
        InsuranceParameters.objects.filter(effective_from__lte=on)
        .order_by("-effective_from")
        .first()
    )
    ratio = (
        RouteRatio.objects.filter(effective_from__lte=on, route=route)
        .filter(Q(encounter_kind=encounter_kind) | Q(encounter_kind=""))
        .order_by("-effective_from", "-encounter_kind")
        .first()
    )
    capped = (
        parameters is not None
        and coverage.five_years_from is not None
        and coverage.five_years_from <= on
        and route in (Route.CORRECT, Route.EMERGENCY)
    )
    return Rules(
        benefit_level=coverage.benefit_level,
        route_ratio=ratio.ratio_percent if ratio else Decimal(0),
        visit_threshold=parameters.visit_threshold if parameters else 0,
        copay_cap_remaining=(
            max(parameters.copay_cap - patient_copay_in_year(patient=patient, year=on.year), 0)
            if capped and parameters is not None
            else None
        ),
    )


def patient_copay_in_year(*, patient: Patient, year: int) -> int:
    """What the patient co-paid on in-scope care in the invoices (not void) of visits that
    began in ``year``: each in-scope line's insured cost less the fund's share."""
    # The line keeps the price billed; the insured price and on-demand flag are its charge's.
    in_scope = Q(charge__insurance_unit_price__isnull=False, charge__on_demand=False)
    lines = InvoiceLine.objects.filter(
        in_scope,
        invoice__patient=patient,
        invoice__encounter__opened_at__year=year,
    ).exclude(invoice__status=InvoiceStatus.VOID)
    total = lines.aggregate(
        copay=Coalesce(
            Sum(F("charge__insurance_unit_price") * F("quantity") - F("insurance_share")), 0
        )
    )["copay"]
    return max(int(total), 0)
