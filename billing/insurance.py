"""The BHYT co-payment split (Law on Health Insurance Art. 22, Decree 146/2018/ND-CP Art. 14), as
pure functions over integers and Decimals, and the dated rules in force for a visit.

Where each rule lives in the law (Law 25/2008/QH12 on Health Insurance, "the Law", as
amended by Law 46/2014/QH13 and Law 51/2024/QH15):

* Benefit levels 100 / 95 / 80 % of in-scope cost on the correct route: the Law Art. 22(1);
  Decree 146/2018/ND-CP Art. 14(1)(a), (e), (g).
* The fund pays on the cost actually incurred, never above the insured price: per line the
  covered base is ``min(charged price, insured price) x quantity`` (the insured price is the
  price the fund settles at: Circular 39/2018/TT-BYT; the fund pays "chi phí ... trong phạm vi
  được hưởng", the Law Art. 22(1)).
* A visit (lần khám / đợt điều trị) whose in-scope cost is below 15 % of the base salary is
  covered 100 %: the Law Art. 22(1)(b), Decree 146/2018 Art. 14(1)(d). Art. 14(1) lists the
  cases it applies to: care under Art. 26-28 of the Law (registered facility, referral,
  emergency) and Art. 22(4)-(5) (district-level "thông tuyến"; remote areas), so not
  self-referral under Art. 22(3) or (6) even where that ratio is 100 %. The threshold is
  judged on the whole visit, never on one invoice (:func:`visit_split`). (check: the same
  rule's article in Decree 188/2025/ND-CP, which replaces Decree 146 from 2025-07-01.)
* Five consecutive years of cover and a year's co-pay above 6 months of base salary: the
  fund pays the rest of the year, "except self-referral" (trừ trường hợp tự đi KCB không đúng
  tuyến): the Law Art. 22(1)(c), Decree 146/2018 Art. 14(1)(đ) and Art. 27(3); BHXH dispatch
  4055/BHXH-CSYT (2020) adds that self-referred co-pay does not count toward the cap.
* Self-referral (wrong route) is paid at a ratio of the benefit that depends on the
  hospital's level and on inpatient or outpatient care: the Law Art. 22(3) (central 40 %
  inpatient; provincial 60 % inpatient, 100 % from 2021-01-01; district 70 %, 100 % from
  2016-01-01; no outpatient cover at provincial and central level) and Art. 22(6); from
  2025-07-01 Law 51/2024 and Decree 188/2025 (outpatient 50 % at former provincial and
  central facilities from 2026-07-01). The ratios are dated rows (``RouteRatio``), never
  constants here.
* On-demand services (dịch vụ theo yêu cầu) whose service is in the insurance list: the
  fund pays its share of the insured price, the patient the rest of the on-demand price
  (Decree 70/2015/ND-CP Art. 11(4); Circular 39/2018/TT-BYT Art. 4(6), pointing to Decree
  85/2012/ND-CP Art. 20(1)(a)). On-demand care is not care "under Art. 26-28" but the Law's
  Art. 22(7) case, so the below-threshold 100 % does not apply to it (check).

Per line ``fund = round_half_up(base x level x route ratio)``, once, and the patient pays
``amount - fund``: the shares always add up to the line exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing.models import (
    CareType,
    Encounter,
    EncounterKind,
    HospitalLevelSetting,
    InsuranceCoverage,
    InsuranceParameters,
    InvoiceLine,
    InvoiceStatus,
    Patient,
    Route,
    RouteRatio,
    ShareRule,
)
from billing.money import round_half_up


@dataclass(frozen=True, slots=True)
class SplitInput:
    quantity: int
    unit_price: int
    insurance_unit_price: int | None  # None: outside the BHYT list
    on_demand: bool

    @property
    def amount(self) -> int:
        return self.unit_price * self.quantity

    @property
    def covered_base(self) -> int:
        """What the fund's share is computed on: the cost incurred, at most the insured price."""
        if self.insurance_unit_price is None:
            return 0
        return min(self.unit_price, self.insurance_unit_price) * self.quantity

    @property
    def counts_toward_threshold(self) -> bool:
        return self.insurance_unit_price is not None and not self.on_demand


@dataclass(frozen=True, slots=True)
class Share:
    insurance: int
    patient: int
    rule: str = ShareRule.IN_SCOPE
    # Co-payment that counts toward the five-year cap (correct route, in scope).
    copay: int = 0


@dataclass(frozen=True, slots=True)
class Rules:
    benefit_level: int  # percent; 0 when the patient has no valid cover
    route_ratio: Decimal  # percent
    visit_threshold: int  # VND
    # Registered facility, referral, emergency, thông tuyến: the threshold and the cap apply.
    correct_route: bool = True
    # What the patient may still co-pay this year before the fund pays it all; None: no cap.
    copay_cap_remaining: int | None = None

    @classmethod
    def uninsured(cls) -> Rules:
        return cls(benefit_level=0, route_ratio=Decimal(0), visit_threshold=0)


def _rule(line: SplitInput, rules: Rules, *, full: bool, capped: bool) -> str:
    """The one rule that explains the line, in this order of precedence."""
    if line.on_demand:
        return ShareRule.ON_DEMAND
    if not rules.correct_route:
        return ShareRule.WRONG_ROUTE
    if capped:
        return ShareRule.CAP_REACHED
    if full:
        return ShareRule.BELOW_THRESHOLD
    assert line.insurance_unit_price is not None
    if line.unit_price > line.insurance_unit_price:
        return ShareRule.ABOVE_INSURED_PRICE
    return ShareRule.IN_SCOPE


def split(lines: Sequence[SplitInput], rules: Rules) -> list[Share]:
    """The fund's and the patient's share of each line of one visit billed as one bill.

    The threshold is judged on the visit's in-scope cost (these lines); what is left of the
    co-pay cap is spent line by line, in order."""
    if rules.benefit_level == 0:
        return [Share(0, line.amount, ShareRule.OUT_OF_SCOPE) for line in lines]
    visit_base = sum(line.covered_base for line in lines if line.counts_toward_threshold)
    below = rules.correct_route and 0 < visit_base < rules.visit_threshold
    remaining = rules.copay_cap_remaining if rules.correct_route else None
    shares = []
    for line in lines:
        if line.insurance_unit_price is None:
            shares.append(Share(0, line.amount, ShareRule.OUT_OF_SCOPE))
            continue
        full = below and not line.on_demand
        level = Decimal(100 if full else rules.benefit_level)
        base = line.covered_base
        fund = round_half_up(Decimal(base) * level / 100 * rules.route_ratio / 100)
        copay = base - fund if rules.correct_route else 0
        capped = False
        if remaining is not None and copay > 0:
            allowed = min(copay, remaining)
            capped = allowed < copay
            fund += copay - allowed  # past the cap, the fund pays the co-pay too
            remaining -= allowed
            copay = allowed
        rule = _rule(line, rules, full=full, capped=capped)
        shares.append(Share(fund, line.amount - fund, rule, copay))
    return shares


@dataclass(frozen=True, slots=True)
class VisitBilled:
    """What the visit's invoices that are not void already bill."""

    lines: Sequence[SplitInput]  # every charge line, in billing order
    # Per line: issued under these rules. A line issued before (migration 0009) is kept as it
    # was issued: it counts toward the threshold but is never re-split.
    resplit: Sequence[bool]
    insurance: int  # the fund's share of the re-split lines and of the adjustment lines
    copay: int  # likewise, the co-pay counted toward the cap

    @classmethod
    def nothing(cls) -> VisitBilled:
        return cls(lines=(), resplit=(), insurance=0, copay=0)


@dataclass(frozen=True, slots=True)
class VisitSplit:
    new: list[Share]  # the shares of the lines billed now
    adjustment: Share | None  # moves the earlier lines' fund share to the patient, or back


def visit_split(*, billed: VisitBilled, new: Sequence[SplitInput], rules: Rules) -> VisitSplit:
    """Split the new lines so that the visit's invoices, with an adjustment line, add up to
    the visit split as one bill: new lines get their one-bill shares; the adjustment is what
    the earlier (re-split) lines' one-bill fund share differs from what was billed for them.
    Its amount is 0: it moves money between the fund and the patient, never adds cost."""
    shares = split([*billed.lines, *new], rules)
    earlier = [s for s, again in zip(shares, billed.resplit, strict=False) if again]
    insurance = sum(s.insurance for s in earlier) - billed.insurance
    copay = sum(s.copay for s in earlier) - billed.copay
    adjustment = None
    if insurance or copay:
        if not rules.correct_route:
            rule = ShareRule.WRONG_ROUTE
        elif any(s.rule == ShareRule.CAP_REACHED for s in shares):
            rule = ShareRule.CAP_REACHED
        else:
            rule = ShareRule.BELOW_THRESHOLD
        adjustment = Share(insurance, -insurance, rule, copay)
    return VisitSplit(new=shares[len(billed.lines) :], adjustment=adjustment)


def care_type_of(encounter_kind: str) -> str:
    return CareType.INPATIENT if encounter_kind == EncounterKind.INPATIENT else CareType.OUTPATIENT


def route_ratio_in_force(*, route: str, encounter_kind: str, on: date) -> RouteRatio | None:
    """The route-ratio row for the hospital's level on that day: among the newest rows, one
    for the exact level and care type wins over a row for every level or care type."""
    level = (
        HospitalLevelSetting.objects.filter(effective_from__lte=on)
        .order_by("-effective_from")
        .values_list("level", flat=True)
        .first()
    )
    return (
        RouteRatio.objects.filter(effective_from__lte=on, route=route)
        .filter(Q(hospital_level=level or "") | Q(hospital_level=""))
        .filter(Q(care_type=care_type_of(encounter_kind)) | Q(care_type=""))
        .order_by("-effective_from", "-hospital_level", "-care_type")
        .first()
    )


def rules_for(
    *,
    patient: Patient,
    route: str,
    encounter_kind: str,
    on: date,
    encounter: Encounter | None = None,
) -> Rules:
    """The dated rules in force ``on`` a day for this patient, route and kind of visit. The
    co-pay cap left is what the patient's other visits of the year (not ``encounter``) have
    not spent: the visit itself is split as one bill."""
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
    ratio = route_ratio_in_force(route=route, encounter_kind=encounter_kind, on=on)
    correct_route = route in (Route.CORRECT, Route.EMERGENCY)
    remaining = None
    if (
        parameters is not None
        and correct_route
        and coverage.five_years_from is not None
        and coverage.five_years_from <= on
    ):
        spent = patient_copay_in_year(patient=patient, year=on.year, exclude=encounter)
        remaining = max(parameters.copay_cap - spent, 0)
    return Rules(
        benefit_level=coverage.benefit_level,
        route_ratio=ratio.ratio_percent if ratio else Decimal(0),
        visit_threshold=parameters.visit_threshold if parameters else 0,
        correct_route=correct_route,
        copay_cap_remaining=remaining,
    )


def rules_for_visit(*, encounter: Encounter) -> Rules:
    """The rules a visit is split by: those in force on the day it began."""
    return rules_for(
        patient=encounter.patient,
        route=encounter.route,
        encounter_kind=encounter.kind,
        on=timezone.localdate(encounter.opened_at),
        encounter=encounter,
    )


def patient_copay_in_year(*, patient: Patient, year: int, exclude: Encounter | None = None) -> int:
    """What the patient co-paid on correct-route in-scope care in the invoices (not void) of
    visits that began in ``year``, as recorded on each line (adjustment lines included).
    Self-referred care, out-of-scope items, on-demand and above-insured-price differences
    never count (the Law Art. 22(1)(c))."""
    lines = InvoiceLine.objects.filter(
        invoice__patient=patient, invoice__encounter__opened_at__year=year
    ).exclude(invoice__status=InvoiceStatus.VOID)
    if exclude is not None:
        lines = lines.exclude(invoice__encounter=exclude)
    total = lines.aggregate(copay=Coalesce(Sum("copay"), 0))["copay"]
    return max(int(total), 0)
