"""The BHYT co-payment split (domain.md §4), as pure functions over integers and Decimals.

Per line, the fund pays ``round_half_up(in_scope_price * qty * benefit * route_ratio)``,
never more than the line; the patient pays the rest, so the two shares always add up to
the line's amount exactly. Out-of-scope items (no insurance price) and on-demand services
are the patient's alone. A visit whose in-scope total is below the threshold (15 % of the
base salary) is covered at 100 % of the route ratio.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Q

from billing.models import InsuranceCoverage, InsuranceParameters, Patient, RouteRatio
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
    shares = []
    for line in lines:
        fund = min(round_half_up(Decimal(line.in_scope_amount) * rate), line.amount)
        fund = max(fund, 0)
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
    return Rules(
        benefit_level=coverage.benefit_level,
        route_ratio=ratio.ratio_percent if ratio else Decimal(0),
        visit_threshold=parameters.visit_threshold if parameters else 0,
    )
