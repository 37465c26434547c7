"""Builders for the webhook, bank-transfer and housekeeping tests: Stripe events signed and
delivered as Stripe delivers them (most come from the fake Stripe server), and bank-feed
bodies shaped and signed like Casso's and SePay's. (The settings fixtures
``bank_feeds_configured`` and ``stripe_configured`` are in ``tests/payments/conftest.py``.)"""

from __future__ import annotations

import itertools
import json
import time
from datetime import datetime
from typing import Any

from django.test import Client
from django.utils import timezone

from payments.providers.bank_feeds import BANK_TIMEZONE, casso_signature_header
from tests.fakes.stripe_server import FakeStripeServer, stripe_signature

HOSPITAL_ACCOUNT = "0011001234567"  # settings.VIETQR_ACCOUNT in these tests
CASSO_KEY = "casso-test-checksum-key"
SEPAY_KEY = "sepay-test-api-key"

_serial = itertools.count(1)


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
