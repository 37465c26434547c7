"""A kiosk pays only what its lookup returned: an invoice (or, for an advance, an encounter)
of a patient the same kiosk found in the last ``KIOSK_PAY_LINK_LOOKUP_MINUTES`` (the rule
pay links already follow, the same code). Everything else is one answer, byte for byte,
whether the invoice does not exist, is another patient's, is paid, was looked up by another
kiosk or too long ago; and nothing is written."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from billing.models import Invoice, LookupAudit
from billing.models.invoices import new_invoice_id
from config.identity.models import DeviceKind
from payments.models import Payment
from tests.assertions import assert_error
from tests.billing.builders import encounter_new
from tests.payments.builders.desk import paid_in_cash
from tests.payments.builders.payments import kiosk_looked_up, pay, payable_invoice

pytestmark = pytest.mark.django_db


def _pay(kiosk: Any, invoice_id: str) -> Any:
    return pay(kiosk, invoice_id=invoice_id, amount=100_000, looked_up=False)


def test_a_kiosk_pays_only_invoices_of_a_patient_it_looked_up_and_answers_the_rest_alike(
    device_client: Callable[..., tuple[Any, Any]],
) -> None:
    kiosk, device = device_client(DeviceKind.KIOSK)
    other_kiosk, _ = device_client(DeviceKind.KIOSK)
    mine, someone_elses, paid, elsewhere, stale = (payable_invoice(300_000) for _ in range(5))
    paid_in_cash(amount=300_000, invoice=paid)
    kiosk_looked_up(kiosk, mine)
    kiosk_looked_up(other_kiosk, elsewhere)
    kiosk_looked_up(kiosk, stale)
    long_ago = timezone.now() - timedelta(minutes=settings.KIOSK_PAY_LINK_LOOKUP_MINUTES + 1)
    LookupAudit.objects.filter(device=device, patient=stale.patient).update(at=long_ago)

    refused = {
        "does not exist": _pay(kiosk, new_invoice_id()),
        "another patient's": _pay(kiosk, someone_elses.public_id),
        "paid, not looked up": _pay(kiosk, paid.public_id),
        "looked up by another kiosk": _pay(kiosk, elsewhere.public_id),
        "looked up too long ago": _pay(kiosk, stale.public_id),
    }

    for answer in refused.values():
        assert_error(answer, 404, "not_found", param="invoice_id")
    assert len({(a.status_code, a.content) for a in refused.values()}) == 1, {
        why: a.content for why, a in refused.items()
    }
    others = [someone_elses, elsewhere, stale]
    assert not Payment.objects.filter(invoice__in=others).exists()
    assert _pay(kiosk, mine.public_id).status_code == 201


def test_a_looked_up_patients_paid_invoice_is_named_as_such(
    device_client: Callable[..., tuple[Any, Any]],
) -> None:
    """What the kiosk was shown it may be told about: the patient it found has a paid
    invoice, so paying it again is the usual 409, not a 404."""
    kiosk, _ = device_client(DeviceKind.KIOSK)
    paid = payable_invoice(300_000)
    paid_in_cash(amount=300_000, invoice=paid)
    kiosk_looked_up(kiosk, paid)

    assert_error(_pay(kiosk, paid.public_id), 409, "invoice_not_payable")


def test_a_kiosk_takes_an_advance_only_for_a_patient_it_looked_up(
    device_client: Callable[..., tuple[Any, Any]],
) -> None:
    kiosk, _ = device_client(DeviceKind.KIOSK)
    stay = encounter_new()
    unknown = pay(kiosk, encounter_id=10**9, amount=500_000, looked_up=False)
    not_looked_up = pay(kiosk, encounter_id=stay.pk, amount=500_000, looked_up=False)

    assert_error(unknown, 404, "not_found", param="encounter_id")
    assert (not_looked_up.status_code, not_looked_up.content) == (
        unknown.status_code,
        unknown.content,
    )
    assert pay(kiosk, encounter_id=stay.pk, amount=500_000).status_code == 201
    assert Invoice.objects.count() == 0
