"""Builders for the billing tests: price list items, patients with BHYT cover, encounters,
charges, invoices and the payment entries the payments app will post one day.

Price list items are plain data (factory_boy). Patients, encounters and charges go through
the services, so the identifiers are hashed and the prices looked up exactly as in
production.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import factory
from factory.django import DjangoModelFactory

from billing.chart import PATIENT_RECEIVABLE, STRIPE_CLEARING
from billing.models import (
    Charge,
    Encounter,
    EncounterKind,
    HospitalLevelSetting,
    Invoice,
    Patient,
    PriceListItem,
    Route,
    ServiceCategory,
    VatRate,
)
from billing.money import Money
from billing.services.encounters import ChargeInput, charges_add, encounter_open
from billing.services.invoices import invoice_issue, invoice_refresh_status
from billing.services.ledger import Posting, ledger_post
from billing.services.patients import patient_create

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
COVER_FROM = date(2020, 1, 1)
COVER_TO = date(2030, 12, 31)

_serial = itertools.count(1)


def local(day: date, hour: int = 9, minute: int = 0) -> datetime:
    """A moment on a day in the hospital's time zone."""
    return datetime.combine(day, time(hour, minute), tzinfo=HANOI)


def citizen_id_new(*, province: str = "001", century_sex: str = "0", year: str = "85") -> str:
    """A valid citizen ID not used before in this test run."""
    return f"{province}{century_sex}{year}{next(_serial):06d}"


def hospital_level_set(level: str, *, since: date = date(2019, 1, 1)) -> None:
    """The hospital's level from ``since`` on (the seeded row is provincial from 2019)."""
    HospitalLevelSetting.objects.update_or_create(
        effective_from=since, defaults={"level": level, "source": "test"}
    )


class PriceListItemFactory(DjangoModelFactory):
    """An examination priced at 100,000 ₫, fully in BHYT scope, in force since 2020."""

    class Meta:
        model = PriceListItem

    service_code = factory.Sequence(lambda n: f"SV{n:05d}")
    name = factory.LazyAttribute(lambda item: f"Dịch vụ {item.service_code}")
    unit = "lần"
    category = ServiceCategory.EXAMINATION
    price = 100_000
    insurance_price = factory.LazyAttribute(lambda item: item.price)
    on_demand = False
    vat_rate = VatRate.KCT
    currency = "VND"
    effective_from = COVER_FROM
    effective_to = None


def price_item(**fields: object) -> PriceListItem:
    """A price list row (``PriceListItemFactory`` with the model's type)."""
    item: PriceListItem = PriceListItemFactory.create(**fields)
    return item


def patient_with_coverage(
    *,
    benefit_level: int | None = 80,
    valid_from: date = COVER_FROM,
    valid_to: date = COVER_TO,
    full_name: str = "Nguyễn Văn An",
    **fields: object,
) -> Patient:
    """A registered patient, with BHYT cover at ``benefit_level`` (none when ``None``)."""
    coverage = (
        None
        if benefit_level is None
        else {"benefit_level": benefit_level, "valid_from": valid_from, "valid_to": valid_to}
    )
    code = str(fields.pop("code", f"BN{next(_serial):07d}"))
    return patient_create(code=code, full_name=full_name, coverage=coverage, **fields)


def encounter_new(
    *,
    patient: Patient | None = None,
    kind: str = EncounterKind.OUTPATIENT,
    route: str = Route.CORRECT,
    on: date | None = None,
) -> Encounter:
    """An open encounter (opened at 09:00 on ``on``, or now)."""
    return encounter_open(
        patient=patient or patient_with_coverage(),
        his_reference=f"ENC-{next(_serial):07d}",
        kind=kind,
        department="Khoa Nội",
        route=route,
        opened_at=local(on) if on else None,
    )


def charges_post(
    encounter: Encounter,
    *items: tuple[PriceListItem, int],
    service_at: datetime | None = None,
) -> list[Charge]:
    """Post ``(price item, quantity)`` pairs to the encounter."""
    return charges_add(
        encounter=encounter,
        items=[
            ChargeInput(service_code=item.service_code, quantity=quantity, service_at=service_at)
            for item, quantity in items
        ],
    )


def visit_invoice(
    *prices: int,
    benefit_level: int | None = 80,
    kind: str = EncounterKind.OUTPATIENT,
    route: str = Route.CORRECT,
    on: date | None = None,
    insurance_prices: Sequence[int | None] | None = None,
) -> Invoice:
    """Issue the invoice of a visit made of one line per price (quantity 1)."""
    encounter = encounter_new(
        patient=patient_with_coverage(benefit_level=benefit_level), kind=kind, route=route, on=on
    )
    in_scope = list(insurance_prices) if insurance_prices is not None else list(prices)
    items = [
        price_item(price=price, insurance_price=insurance_price)
        for price, insurance_price in zip(prices, in_scope, strict=True)
    ]
    charges_post(encounter, *((item, 1) for item in items))
    return invoice_issue(encounter=encounter, issued_by="test")


def payment_post(invoice: Invoice, amount: int) -> Invoice:
    """What the payments app does when a card payment of ``amount`` succeeds: Dr Stripe
    clearing, Cr the invoice's patient receivable, then refresh the invoice's status."""
    money = Money(amount, invoice.currency)
    ledger_post(
        posting_key=f"test-payment:{invoice.pk}:{next(_serial)}",
        lines=[
            Posting.dr(STRIPE_CLEARING, money),
            Posting.cr(PATIENT_RECEIVABLE, money, invoice.ledger_reference),
        ],
        source_type="payment",
        source_id=f"pay_test_{next(_serial)}",
        memo=f"Card payment of {invoice.display_number}",
    )
    invoice.refresh_from_db()
    return invoice_refresh_status(invoice=invoice)
