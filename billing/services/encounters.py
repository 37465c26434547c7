"""Encounters and the charges the HIS posts to them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from billing.errors import (
    ChargeAlreadyInvoiced,
    ChargeAlreadyVoided,
    ChargeReferenceConflict,
    EncounterClosed,
    EncounterReferenceConflict,
    InvalidQuantity,
    NoPriceInForce,
    TooManyChargeLines,
    UnknownServiceCode,
)
from billing.models import (
    Charge,
    ChargeStatus,
    Encounter,
    EncounterKind,
    EncounterStatus,
    Patient,
    PriceListItem,
    Route,
)
from config.audit.services import audit_change
from config.errors import NotFound


def encounter_open(
    *,
    patient: Patient,
    his_reference: str,
    kind: str,
    department: str,
    route: str = Route.CORRECT,
    opened_at: datetime | None = None,
) -> Encounter:
    """Open an encounter. Idempotent on the HIS reference (a retried push returns the
    encounter it made); emergencies always count as correct route for insurance."""
    existing = Encounter.objects.filter(his_reference=his_reference).first()
    if existing is not None:
        if existing.patient_id != patient.pk:
            raise EncounterReferenceConflict(param="his_reference")
        return existing
    if kind == EncounterKind.EMERGENCY:
        route = Route.EMERGENCY
    encounter, _ = Encounter.objects.get_or_create(
        his_reference=his_reference,
        defaults={
            "patient": patient,
            "kind": kind,
            "department": department,
            "route": route,
            "opened_at": opened_at or timezone.now(),
        },
    )
    if encounter.patient_id != patient.pk:
        raise EncounterReferenceConflict(param="his_reference")
    return encounter


@dataclass(frozen=True, slots=True)
class ChargeInput:
    service_code: str
    quantity: int
    service_at: datetime | None = None
    his_reference: str | None = None


def _price_in_force(service_code: str, at: datetime, index: int) -> PriceListItem:
    day = timezone.localdate(at)
    item = (
        PriceListItem.objects.filter(service_code=service_code, effective_from__lte=day)
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gt=day))
        .order_by("-effective_from")
        .first()
    )
    if item is not None:
        return item
    param = f"charges[{index}].service_code"
    if not PriceListItem.objects.filter(service_code=service_code).exists():
        raise UnknownServiceCode(f"Unknown service code {service_code!r}.", param=param)
    raise NoPriceInForce(f"{service_code} has no price in force on {day}.", param=param)


def _same_charge(charge: Charge, item: ChargeInput, encounter: Encounter) -> bool:
    return (
        charge.encounter_id == encounter.pk
        and charge.service_code == item.service_code
        and charge.quantity == item.quantity
    )


@transaction.atomic
def charges_add(*, encounter: Encounter, items: Sequence[ChargeInput]) -> list[Charge]:
    """Post charges to an open encounter, all or none, each priced from the price list in
    force at its time of service. A charge whose HIS reference was already posted with the
    same content is returned as it is (a retried push), with other content refused."""
    # One request cannot post an absurd amount: its lines and each line's quantity are
    # bounded (CHARGE_MAX_LINES_PER_REQUEST, CHARGE_MAX_QUANTITY).
    if len(items) > settings.CHARGE_MAX_LINES_PER_REQUEST:
        raise TooManyChargeLines(
            f"At most {settings.CHARGE_MAX_LINES_PER_REQUEST} charges per request.",
            param="charges",
        )
    max_quantity = settings.CHARGE_MAX_QUANTITY
    encounter = Encounter.objects.select_for_update().get(pk=encounter.pk)
    if encounter.status != EncounterStatus.OPEN:
        raise EncounterClosed()
    now = timezone.now()
    charges: list[Charge] = []
    for index, item in enumerate(items):
        if type(item.quantity) is not int or not 1 <= item.quantity <= max_quantity:
            raise InvalidQuantity(
                f"Quantity must be a whole number from 1 to {max_quantity:,}.",
                param=f"charges[{index}].quantity",
            )
        if item.his_reference:
            existing = Charge.objects.filter(his_reference=item.his_reference).first()
            if existing is not None:
                if not _same_charge(existing, item, encounter):
                    raise ChargeReferenceConflict(param=f"charges[{index}].his_reference")
                charges.append(existing)
                continue
        service_at = item.service_at or now
        price = _price_in_force(item.service_code, service_at, index)
        charges.append(
            Charge.objects.create(
                encounter=encounter,
                price_item=price,
                his_reference=item.his_reference or None,
                service_code=price.service_code,
                name=price.name,
                unit=price.unit,
                category=price.category,
                quantity=item.quantity,
                unit_price=price.price,
                insurance_unit_price=price.insurance_price,
                on_demand=price.on_demand,
                vat_rate=price.vat_rate,
                currency=price.currency,
                service_at=service_at,
            )
        )
    return charges


@transaction.atomic
def charge_void(*, charge: Charge, reason: str = "") -> Charge:
    """Void an unbilled charge: it is marked voided and a reversal row (negative quantity)
    records the void. Returns the reversal."""
    encounter = Encounter.objects.select_for_update().get(pk=charge.encounter_id)
    charge = Charge.objects.select_for_update().get(pk=charge.pk)
    if charge.status == ChargeStatus.REVERSAL:
        raise NotFound("A reversal cannot be voided.", param="charge")
    if charge.status == ChargeStatus.VOIDED:
        raise ChargeAlreadyVoided()
    if encounter.status != EncounterStatus.OPEN:
        raise EncounterClosed()
    if charge.invoice is not None:
        raise ChargeAlreadyInvoiced(detail={"invoice_id": charge.invoice.public_id})
    charge.status = ChargeStatus.VOIDED
    charge.void_reason = reason[:200]
    charge.save(update_fields=["status", "void_reason"])
    reversal = Charge.objects.create(
        encounter=encounter,
        price_item_id=charge.price_item_id,
        **{**charge.service_snapshot(), "quantity": -charge.quantity},
        insurance_unit_price=charge.insurance_unit_price,
        on_demand=charge.on_demand,
        currency=charge.currency,
        service_at=timezone.now(),
        status=ChargeStatus.REVERSAL,
        reverses=charge,
        void_reason=reason[:200],
    )
    audit_change(
        "charge.void", charge, ("amount", "currency", "encounter_id"), reversal=reversal.pk
    )
    return reversal
