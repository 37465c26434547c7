"""POST /webhooks/bank/casso and /webhooks/bank/sepay: authenticated by each feed's scheme,
stored once per bank transaction, and matched to the VietQR payment named in the memo."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client

from billing.chart import VIETQR_CLEARING
from billing.models import InvoiceStatus, JournalEntry
from payments.models import Payment, PaymentStatus, ReconciliationItem, WebhookEvent
from payments.providers import bank_feeds
from tests.assertions import balance
from tests.data import vectors
from tests.payments.builders.payments import vietqr_payment
from tests.payments.builders.webhooks import (
    CASSO_KEY,
    bank_memo,
    casso_record,
    post_casso,
    post_sepay,
    sepay_body,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("bank_feeds_configured")]


def bank_entries() -> int:
    return JournalEntry.objects.filter(source_type="bank_transfer").count()


def assert_paid(payment: Payment) -> None:
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.invoice is not None
    assert payment.invoice.status == InvoiceStatus.PAID
    assert JournalEntry.objects.filter(source_id=payment.public_id).count() == 1


# --- Casso -----------------------------------------------------------------------------


@pytest.fixture
def casso_vector() -> dict[str, Any]:
    return vectors("webhook_vectors.json")["casso_v2"]


def post_vector(client: Client, vector: dict[str, Any], body: dict[str, Any]) -> Any:
    return client.post(
        "/webhooks/bank/casso",
        json.dumps(body),
        content_type="application/json",
        headers=vector["header"],
    )


def test_the_official_casso_vector_is_accepted_and_its_test_transfer_is_not_booked(
    settings, casso_vector: dict[str, Any], monkeypatch: pytest.MonkeyPatch
):
    settings.CASSO_CHECKSUM_KEY = casso_vector["checksum_key"]
    signed_at_ms = int(casso_vector["header"]["X-Casso-Signature"].split(",")[0][2:])
    # The signature is checked against the clock (300 s): stand at the vector's moment.
    monkeypatch.setattr(bank_feeds, "time", SimpleNamespace(time=lambda: signed_at_ms / 1000 + 5))

    response = post_vector(Client(), casso_vector, casso_vector["body"])

    assert response.status_code == 200
    assert response.json() == {"success": True}
    # Casso's "test webhook" (transaction id 0) is recorded but moves no money.
    event = WebhookEvent.objects.get(provider="casso", event_id="0")
    assert event.outcome == "ignored: Casso test delivery"
    assert bank_entries() == 0
    assert not ReconciliationItem.objects.exists()


def test_the_official_casso_vector_replayed_later_is_refused_as_stale(
    settings, casso_vector: dict[str, Any]
):
    settings.CASSO_CHECKSUM_KEY = casso_vector["checksum_key"]

    response = post_vector(Client(), casso_vector, casso_vector["body"])

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"


def test_the_official_casso_vector_with_a_changed_amount_is_refused(
    settings, casso_vector: dict[str, Any], monkeypatch: pytest.MonkeyPatch
):
    settings.CASSO_CHECKSUM_KEY = casso_vector["checksum_key"]
    signed_at_ms = int(casso_vector["header"]["X-Casso-Signature"].split(",")[0][2:])
    monkeypatch.setattr(bank_feeds, "time", SimpleNamespace(time=lambda: signed_at_ms / 1000))
    body = json.loads(json.dumps(casso_vector["body"]))
    body["data"]["amount"] = 5_990_000

    assert post_vector(Client(), casso_vector, body).status_code == 400
    assert not WebhookEvent.objects.exists()


def test_a_signed_casso_transfer_with_the_memo_code_pays_the_qr_payment():
    payment = vietqr_payment(amount=350_000)
    assert payment.memo_code is not None
    # Banks lower-case, surround and accent memos; the payer's name is in it too.
    memo = bank_memo(payment.memo_code.lower(), payer="Nguyễn Thị Bình")
    body = {"error": 0, "data": casso_record(amount=350_000, description=memo)}

    response = post_casso(Client(), body)

    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert_paid(payment)
    assert balance(VIETQR_CLEARING) == 350_000
    assert WebhookEvent.objects.get().outcome == f"succeeded: {payment.public_id}"


def test_a_casso_body_with_several_transactions_stores_and_applies_each():
    first, second = vietqr_payment(amount=100_000), vietqr_payment(amount=200_000)
    assert first.memo_code is not None
    assert second.memo_code is not None
    body = {
        "error": 0,
        "data": [
            casso_record(amount=100_000, description=bank_memo(first.memo_code)),
            casso_record(amount=200_000, description=bank_memo(second.memo_code)),
        ],
    }

    assert post_casso(Client(), body).status_code == 200

    assert_paid(first)
    assert_paid(second)
    assert WebhookEvent.objects.filter(provider="casso").count() == 2


@pytest.mark.parametrize(
    "signing",
    [{"key": "not-our-key"}, {"timestamp_ms": 1_000_000_000_000}],
    ids=["wrong_key", "stale_timestamp"],
)
def test_a_casso_delivery_not_signed_by_casso_now_is_refused(signing: dict[str, Any]):
    payment = vietqr_payment()
    assert payment.memo_code is not None
    body = {"error": 0, "data": casso_record(amount=180_000, description=payment.memo_code)}

    response = post_casso(Client(), body, **signing)

    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "invalid_signature",
            "message": "The X-Casso-Signature does not verify.",
        }
    }
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.PENDING
    assert not WebhookEvent.objects.exists()


def test_a_casso_delivery_without_a_signature_header_is_refused():
    body = {"error": 0, "data": casso_record(amount=180_000, description="VP2345A")}

    response = Client().post("/webhooks/bank/casso", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"


def test_a_casso_body_that_is_not_json_is_a_400_in_our_error_format():
    response = Client().post(
        "/webhooks/bank/casso",
        b"{not json",
        content_type="application/json",
        headers={"X-Casso-Signature": "t=1,v1=00"},
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"


def test_a_signed_casso_body_with_an_unreadable_transfer_names_the_field():
    record = casso_record(amount=180_000, description="x")
    record["amount"] = "180000"

    response = post_casso(Client(), {"error": 0, "data": record})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parameter_invalid"
    assert response.json()["error"]["param"] == "data.amount"


def test_money_going_out_of_the_account_is_recorded_and_ignored():
    record = casso_record(amount=-500_000, description="chi tra nha cung cap")

    assert post_casso(Client(), {"error": 0, "data": record}).status_code == 200

    assert WebhookEvent.objects.get().outcome == "ignored: outgoing transfer"
    assert bank_entries() == 0


def test_without_a_casso_key_the_endpoint_answers_503(settings):
    settings.CASSO_CHECKSUM_KEY = ""
    body = {"error": 0, "data": casso_record(amount=1, description="x")}

    response = post_casso(Client(), body, key=CASSO_KEY)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "provider_not_configured"


# --- SePay -----------------------------------------------------------------------------


def test_a_sepay_transfer_with_our_api_key_pays_the_qr_payment_and_answers_success():
    payment = vietqr_payment(amount=420_000)
    assert payment.memo_code is not None

    response = post_sepay(
        Client(), sepay_body(amount=420_000, content=bank_memo(payment.memo_code))
    )

    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert_paid(payment)


@pytest.mark.parametrize(
    "authorization",
    [None, "Apikey wrong-key", "Bearer sepay-test-api-key", "sepay-test-api-key"],
    ids=["absent", "wrong_key", "wrong_scheme", "no_scheme"],
)
def test_a_sepay_delivery_without_our_api_key_is_refused(authorization: str | None):
    payment = vietqr_payment()
    assert payment.memo_code is not None
    body = sepay_body(amount=180_000, content=payment.memo_code)
    headers = {"Authorization": authorization} if authorization else {}

    response = Client().post(
        "/webhooks/bank/sepay", json.dumps(body), content_type="application/json", headers=headers
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    assert response["WWW-Authenticate"] == "Apikey"
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.PENDING
    assert not WebhookEvent.objects.exists()


def test_the_bank_webhooks_need_no_csrf_token_and_no_login():
    client = Client(enforce_csrf_checks=True)

    response = post_sepay(client, sepay_body(amount=10_000, content="ck"))

    assert response.status_code == 200


def test_sepay_retrying_a_delivery_is_acknowledged_and_books_the_money_once():
    payment = vietqr_payment()
    assert payment.memo_code is not None
    body = sepay_body(amount=180_000, content=bank_memo(payment.memo_code))
    client = Client()

    answers = [post_sepay(client, body) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert all(a.json() == {"success": True} for a in answers)
    assert_paid(payment)
    assert WebhookEvent.objects.count() == 1
    assert balance(VIETQR_CLEARING) == 180_000
    # The retried deliveries are not "a second transfer for a paid QR".
    assert not ReconciliationItem.objects.exists()


def test_a_sepay_outgoing_transfer_is_ignored():
    body = sepay_body(amount=90_000, content="hoan tien", direction="out")

    assert post_sepay(Client(), body).status_code == 200

    assert WebhookEvent.objects.get().outcome == "ignored: outgoing transfer"
    assert bank_entries() == 0


def test_a_sepay_body_with_an_unknown_transfer_type_is_a_400():
    body = sepay_body(amount=90_000, content="x", direction="sideways")

    response = post_sepay(Client(), body)

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "transferType"


# --- personal data ---------------------------------------------------------------------


def test_the_payers_name_in_the_memo_never_reaches_the_logs(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)
    payment = vietqr_payment()
    assert payment.memo_code is not None
    client = Client()

    post_sepay(
        client,
        sepay_body(amount=180_000, content=bank_memo(payment.memo_code, payer="TRAN VAN KHOA")),
    )
    post_sepay(client, sepay_body(amount=50_000, content="TRAN VAN KHOA chuyen tien"))
    post_casso(
        client,
        {"error": 0, "data": casso_record(amount=70_000, description="TRAN VAN KHOA ck")},
    )

    assert ReconciliationItem.objects.count() == 2  # the memo is kept for finance...
    logged = caplog.text + " ".join(str(r.args) for r in caplog.records)
    assert "KHOA" not in logged  # ...but never logged
    assert "NGUYEN THI BINH" not in logged  # nor the counter-account name


@pytest.mark.parametrize("first", ["casso", "sepay"])
def test_one_transfer_reported_by_both_feeds_is_booked_once(first: str):
    payment = vietqr_payment(amount=350_000)
    assert payment.memo_code is not None
    memo = bank_memo(payment.memo_code)
    record = casso_record(amount=350_000, description=memo)
    casso = {"error": 0, "data": record}
    sepay = sepay_body(amount=350_000, content=memo)
    sepay["referenceCode"] = record["reference"]  # the bank's own reference
    deliveries = [lambda: post_casso(Client(), casso), lambda: post_sepay(Client(), sepay)]
    if first == "sepay":
        deliveries.reverse()

    answers = [deliver() for deliver in deliveries]

    assert [answer.status_code for answer in answers] == [200, 200]
    assert_paid(payment)
    assert balance(VIETQR_CLEARING) == 350_000  # not 700,000
    assert not ReconciliationItem.objects.exists()
    second = WebhookEvent.objects.get(provider="sepay" if first == "casso" else "casso")
    assert second.outcome.startswith(f"ignored: the same bank transfer was reported by {first}")


def test_transfers_without_a_bank_reference_are_still_applied():
    payment = vietqr_payment(amount=120_000)
    assert payment.memo_code is not None
    body = sepay_body(amount=120_000, content=bank_memo(payment.memo_code))
    body["referenceCode"] = ""

    assert post_sepay(Client(), body).status_code == 200
    assert_paid(payment)
