"""Builders for the webhook, bank-transfer and housekeeping tests (named apart from
``factories.py``, which belongs to the payment API tests).

Invoices come from ``tests.billing.factories`` (through the billing services); payments are
created through ``payment_create`` exactly as the API does; bank-feed bodies are shaped and
signed like Casso's and SePay's; Stripe events come from the fake Stripe server.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import json
import time
import uuid
from datetime import datetime
from typing import Any

import pytest
import stripe
from django.contrib.auth.models import Group
from django.db.models import Sum
from django.test import Client
from django.utils import timezone

from billing.models import Account, Invoice, JournalLine
from billing.selectors.invoices import invoice_balance
from payments.models import Payment, PaymentChannel, PaymentMethod, PaymentPurpose
from payments.providers.bank_feeds import BANK_TIMEZONE, casso_signature_header
from payments.services.payments import PaymentRequest, payment_create
from tests.billing.factories import insurance_rules_load, visit_invoice
from tests.fakes.stripe_server import FakeStripeServer, stripe_signature

CHART = importlib.import_module("billing.migrations.0003_chart_of_accounts_and_roles")
PAYMENT_ACCOUNTS = importlib.import_module("payments.migrations.0002_suspense_account")

HOSPITAL_ACCOUNT = "0011001234567"  # settings.VIETQR_ACCOUNT in these tests
CASSO_KEY = "casso-test-checksum-key"
SEPAY_KEY = "sepay-test-api-key"
STRIPE_KEY = "sk_test_vienphi"

_serial = itertools.count(1)


# --- reference data and settings -------------------------------------------------------


def reference_data_load() -> None:
    """The rows migrations load (chart of accounts with suspense 3388, role groups, BHYT
    rules): a transactional test truncates them."""
    for code, name, account_type in [*CHART.CHART, *PAYMENT_ACCOUNTS.ACCOUNTS]:
        Account.objects.get_or_create(
            code=code, defaults={"name": name, "type": account_type, "currency": "VND"}
        )
    for role in CHART.ROLES:
        Group.objects.get_or_create(name=role)
    insurance_rules_load()


@pytest.fixture
def bank_feeds_configured(settings: Any) -> None:
    settings.VIETQR_ACCOUNT = HOSPITAL_ACCOUNT
    settings.CASSO_CHECKSUM_KEY = CASSO_KEY
    settings.SEPAY_API_KEY = SEPAY_KEY


@pytest.fixture
def stripe_configured(settings: Any, fake_stripe: FakeStripeServer) -> FakeStripeServer:
    """The app pointed at the fake Stripe server, with its webhook secret."""
    settings.STRIPE_SECRET_KEY = STRIPE_KEY
    settings.STRIPE_API_BASE = fake_stripe.url
    settings.STRIPE_WEBHOOK_SECRETS = list(fake_stripe.webhook_secrets)
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    return fake_stripe


# --- invoices and payments -------------------------------------------------------------


def invoice_due(amount: int) -> Invoice:
    """An issued invoice whose patient (no insurance) owes exactly ``amount``."""
    invoice = visit_invoice(amount, benefit_level=None)
    assert invoice_balance(invoice).amount_due == amount
    return invoice


def payment_new(
    *,
    method: str,
    amount: int = 180_000,
    invoice: Invoice | None = None,
    channel: str = PaymentChannel.KIOSK,
    card_reader_id: str = "",
) -> Payment:
    """A payment started through ``payment_create``, as the API starts it."""
    return payment_create(
        request=PaymentRequest(
            purpose=PaymentPurpose.INVOICE,
            amount=amount,
            currency="VND",
            method=method,
            channel=channel,
            idempotency_key=f"test-{uuid.uuid4()}",
            invoice=invoice or invoice_due(amount),
            card_reader_id=card_reader_id,
        )
    )


def vietqr_payment(amount: int = 180_000, invoice: Invoice | None = None) -> Payment:
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


# --- Stripe deliveries -----------------------------------------------------------------


def post_stripe(
    client: Client, body: bytes, headers: dict[str, str]
) -> Any:  # django.test.Client response
    headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    return client.post("/webhooks/stripe", body, content_type="application/json", headers=headers)


def deliver_stripe(client: Client, fake: FakeStripeServer, event: dict[str, Any] | str) -> Any:
    body, headers = fake.signed_event(event)
    return post_stripe(client, body, headers)


def stripe_event(
    event_type: str, obj: dict[str, Any], *, created: int | None = None
) -> dict[str, Any]:
    """A hand-made Stripe event (for what the fake does not emit)."""
    return {
        "id": f"evt_test_{next(_serial):08d}",
        "object": "event",
        "type": event_type,
        "created": created or int(time.time()),
        "data": {"object": obj},
    }


def signed(event: dict[str, Any], secrets: list[str]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event).encode()
    return body, {"Stripe-Signature": stripe_signature(body, int(time.time()), secrets)}


# --- bank feeds ------------------------------------------------------------------------


def feed_time(moment: datetime | None = None) -> str:
    """A feed's timestamp: local Vietnam time without an offset, to the second."""
    return (moment or timezone.now()).astimezone(BANK_TIMEZONE).strftime("%Y-%m-%d %H:%M:%S")


def casso_record(
    *,
    amount: int,
    description: str,
    transaction_id: int | None = None,
    account: str = HOSPITAL_ACCOUNT,
    at: datetime | None = None,
) -> dict[str, Any]:
    """One transaction as Casso v2 sends it (a negative amount is money going out)."""
    return {
        "id": transaction_id if transaction_id is not None else 100_000 + next(_serial),
        "reference": f"FT{next(_serial):010d}",
        "description": description,
        "amount": amount,
        "runningBalance": 25_000_000,
        "transactionDateTime": feed_time(at),
        "accountNumber": account,
        "bankName": "Vietcombank",
        "bankAbbreviation": "VCB",
        "virtualAccountNumber": "",
        "virtualAccountName": "",
        "counterAccountName": "NGUYEN THI BINH",
        "counterAccountNumber": "0123456789",
        "counterAccountBankId": "970415",
        "counterAccountBankName": "VietinBank",
    }


def post_casso(
    client: Client, body: dict[str, Any], *, key: str = CASSO_KEY, timestamp_ms: int | None = None
) -> Any:
    header = casso_signature_header(
        body=body, key=key, timestamp_ms=timestamp_ms or int(time.time() * 1000)
    )
    return client.post(
        "/webhooks/bank/casso",
        json.dumps(body, ensure_ascii=False),
        content_type="application/json",
        headers={"X-Casso-Signature": header},
    )


def sepay_body(
    *,
    amount: int,
    content: str,
    transaction_id: int | None = None,
    account: str = HOSPITAL_ACCOUNT,
    direction: str = "in",
    at: datetime | None = None,
) -> dict[str, Any]:
    return {
        "id": transaction_id if transaction_id is not None else 500_000 + next(_serial),
        "gateway": "Vietcombank",
        "transactionDate": feed_time(at),
        "accountNumber": account,
        "code": None,
        "content": content,
        "transferType": direction,
        "transferAmount": amount,
        "accumulated": 25_000_000,
        "subAccount": None,
        "referenceCode": f"MBVCB.{next(_serial):010d}",
        "description": f"BankAPINotify {content}",
    }


def post_sepay(client: Client, body: dict[str, Any], *, key: str = SEPAY_KEY) -> Any:
    return client.post(
        "/webhooks/bank/sepay",
        json.dumps(body, ensure_ascii=False),
        content_type="application/json",
        headers={"Authorization": f"Apikey {key}"},
    )


def bank_memo(code: str, payer: str = "NGUYEN THI BINH") -> str:
    """A memo as banks write it: their own reference and the payer's name around our code."""
    return f"MBVCB.{next(_serial):010d}.{code}.CT tu 0123456789 {payer} toi 0011001234567"


# --- the ledger ------------------------------------------------------------------------


def account_net_debit(code: str) -> int:
    totals = JournalLine.objects.filter(account__code=code).aggregate(
        debit=Sum("debit"), credit=Sum("credit")
    )
    return (totals["debit"] or 0) - (totals["credit"] or 0)
