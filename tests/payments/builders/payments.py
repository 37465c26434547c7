"""Payments for the payments tests: payable invoices; payments started through
``payment_create`` exactly as the API starts them, pending or already succeeded on each rail;
the patient paying at the fake Stripe server; and over HTTP the POST that starts a payment,
a phone holding a pay link, and settings pointing the app at the fake Stripe server."""

from __future__ import annotations

import contextlib
import itertools
import uuid
from typing import Any

import stripe
from django.test import override_settings
from rest_framework.test import APIClient

from billing.chart import VIETQR_CLEARING
from billing.models import Encounter, Invoice, Patient
from billing.selectors.invoices import invoice_balance
from payments.models import Payment, PaymentChannel, PaymentMethod, PaymentPurpose, PaymentStatus
from payments.paylinks import pay_link_token
from payments.services.payments import PaymentRequest, payment_create
from payments.services.transitions import payment_transition
from tests.billing.builders import visit_invoice
from tests.device_clients import DeviceClient
from tests.fakes.stripe_server import FakeStripeServer

PAYMENTS_URL = "/api/v1/payments"
STRIPE_KEY = "sk_test_vienphi"
_keys = itertools.count(1)


def new_key(prefix: str = "test") -> str:
    """A fresh Idempotency-Key, as a client would make one per payment attempt."""
    return f"{prefix}-{next(_keys)}-{uuid.uuid4().hex[:12]}"


def payable_invoice(patient_share: int = 1_000_000) -> Invoice:
    """An issued invoice whose patient (no BHYT cover) owes exactly ``patient_share``."""
    invoice = visit_invoice(patient_share, benefit_level=None)
    assert invoice_balance(invoice).amount_due == patient_share
    return invoice


# --- through the service -----------------------------------------------------------------


def payment_request(
    *,
    method: str,
    amount: int,
    channel: str,
    invoice: Invoice | None = None,
    encounter: Encounter | None = None,
    **fields: Any,
) -> PaymentRequest:
    """What the API hands the service: a payment of ``invoice``, or an advance for
    ``encounter``, with a fresh idempotency key (``fields``: the rest of the request)."""
    return PaymentRequest(
        purpose=PaymentPurpose.INVOICE if invoice is not None else PaymentPurpose.DEPOSIT,
        amount=amount,
        currency="VND",
        method=method,
        channel=channel,
        idempotency_key=new_key(method),
        invoice=invoice,
        encounter=encounter,
        **fields,
    )


def payment_new(
    *,
    method: str,
    amount: int = 180_000,
    invoice: Invoice | None = None,
    encounter: Encounter | None = None,
    channel: str = PaymentChannel.KIOSK,
    **fields: Any,
) -> Payment:
    """A payment started through ``payment_create``, as the API starts it: of ``invoice``, an
    advance for ``encounter``, or else of a new invoice owing exactly ``amount``."""
    if invoice is None and encounter is None:
        invoice = payable_invoice(amount)
    return payment_create(
        request=payment_request(
            method=method,
            amount=amount,
            channel=channel,
            invoice=invoice,
            encounter=encounter,
            **fields,
        )
    )


def vietqr_payment(amount: int = 180_000, invoice: Invoice | None = None) -> Payment:
    """A VietQR bank transfer waiting for the bank feed (pending, with its memo code)."""
    payment = payment_new(method=PaymentMethod.VIETQR, amount=amount, invoice=invoice)
    assert payment.memo_code
    return payment


def card_payment(amount: int = 180_000) -> Payment:
    """A phone (Stripe Elements) card payment: pending, with a PaymentIntent at the fake."""
    return payment_new(method=PaymentMethod.CARD, amount=amount, channel=PaymentChannel.PHONE)


def kiosk_card_payment(fake: FakeStripeServer, amount: int = 180_000) -> tuple[Payment, str]:
    """A kiosk card-reader payment: processing, its reader asked to collect the card."""
    reader = fake.add_reader()
    payment = payment_new(method=PaymentMethod.CARD_PRESENT, amount=amount, card_reader_id=reader)
    return payment, reader


def paid_by_card(
    fake: FakeStripeServer,
    *,
    amount: int,
    invoice: Invoice | None = None,
    encounter: Encounter | None = None,
) -> Payment:
    """A phone card payment: intent created by the app, paid with a test card at the fake
    Stripe, then recorded as succeeded (what the webhook would do)."""
    payment = payment_new(
        method=PaymentMethod.CARD,
        amount=amount,
        invoice=invoice,
        encounter=encounter,
        channel=PaymentChannel.PHONE,
    )
    intent = stripe_client(fake).v1.payment_intents.confirm(
        payment.provider_reference, params={"payment_method": "pm_card_visa"}
    )
    assert intent.status == "succeeded"
    payment, _ = payment_transition(payment=payment, to=PaymentStatus.SUCCEEDED)
    return payment


def paid_by_transfer(
    *,
    amount: int,
    invoice: Invoice | None = None,
    encounter: Encounter | None = None,
    channel: str = PaymentChannel.DESK,
    **fields: Any,
) -> Payment:
    """A VietQR bank transfer that the bank feed confirmed: succeeded through the state
    machine (ledger posted, outbox event written)."""
    payment = payment_new(
        method=PaymentMethod.VIETQR,
        amount=amount,
        invoice=invoice,
        encounter=encounter,
        channel=channel,
        **fields,
    )
    payment, _ = payment_transition(
        payment=payment, to=PaymentStatus.SUCCEEDED, debit_account=VIETQR_CLEARING
    )
    return payment


# --- at the fake Stripe ------------------------------------------------------------------


def stripe_client(fake: FakeStripeServer) -> stripe.StripeClient:
    return stripe.StripeClient(STRIPE_KEY, base_addresses={"api": fake.url})


def patient_pays_by_card(
    fake: FakeStripeServer, payment: Payment, card: str = "pm_card_visa"
) -> None:
    """What Stripe Elements does in the patient's browser: confirm the intent with a card."""
    # A decline raises; the intent is then back to requires_payment_method, as at Stripe.
    with contextlib.suppress(stripe.CardError):
        stripe_client(fake).v1.payment_intents.confirm(
            payment.provider_reference, params={"payment_method": card}
        )


def stripe_at(fake: FakeStripeServer, **extra: Any) -> override_settings:
    """Settings pointing the app's Stripe client at the fake server."""
    return override_settings(
        STRIPE_SECRET_KEY=STRIPE_KEY,
        STRIPE_PUBLISHABLE_KEY="pk_test_vienphi",
        STRIPE_API_BASE=fake.url,
        **extra,
    )


# --- over HTTP ---------------------------------------------------------------------------


def pay(
    client: APIClient,
    *,
    key: str | None = None,
    invoice: Invoice | None = None,
    amount: Any = None,
    method: str = "vietqr",
    looked_up: bool = True,
    **body: Any,
) -> Any:
    """``POST /api/v1/payments`` with an Idempotency-Key (a fresh one unless ``key``; pass
    ``key=""`` to send none). ``invoice`` fills ``invoice_id``; ``amount`` is sent as given.
    A kiosk pays only for a patient it looked up: unless ``looked_up=False`` it looks up the
    invoice's (or the advance's encounter's) patient first, as the kiosk screen does."""
    if invoice is not None:
        body.setdefault("invoice_id", invoice.public_id)
    if looked_up and isinstance(client, DeviceClient) and client.is_kiosk:
        patient = _patient_of(invoice, body.get("encounter_id"))
        if patient is not None:
            kiosk_looked_up_patient(client, patient)
    if amount is not None:
        body["amount"] = amount
    body["method"] = method
    headers = {} if key == "" else {"Idempotency-Key": key or new_key()}
    return client.post(PAYMENTS_URL, body, format="json", headers=headers)


def pay_link_client(invoice: Invoice) -> APIClient:
    """A phone that opened the SMS pay link of ``invoice`` (``Authorization: PayLink ...``)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"PayLink {pay_link_token(invoice=invoice)}")
    return client


def kiosk_looked_up(kiosk: APIClient, invoice: Invoice) -> None:
    """The kiosk looks up the invoice's patient (by patient code), as before making a link."""
    kiosk_looked_up_patient(
        kiosk, Invoice.objects.select_related("patient").get(pk=invoice.pk).patient
    )


def kiosk_looked_up_patient(kiosk: APIClient, patient: Patient) -> None:
    """The kiosk looks ``patient`` up by patient code (``POST /api/v1/kiosk/lookup``)."""
    response = kiosk.post("/api/v1/kiosk/lookup", {"patient_code": patient.code}, format="json")
    assert response.status_code == 200, response.content


def _patient_of(invoice: Invoice | None, encounter_id: Any) -> Patient | None:
    if invoice is not None:
        return Invoice.objects.select_related("patient").get(pk=invoice.pk).patient
    if type(encounter_id) is not int:
        return None
    encounter = Encounter.objects.select_related("patient").filter(pk=encounter_id).first()
    return encounter.patient if encounter is not None else None
