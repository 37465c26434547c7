"""The fake Stripe server, driven only through the official stripe-python client.

If these pass, a test that points the app's StripeClient at ``fake_stripe.url`` exercises the
same requests, errors, retries and idempotency replays it would meet against Stripe.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import stripe

from tests.data import vectors
from tests.fakes.stripe_server import FakeStripeServer, stripe_signature

VND_100K: dict[str, Any] = {
    "amount": 100_000,
    "currency": "vnd",
    "payment_method_types": ["card"],
    "metadata": {"payment_id": "pay_1", "invoice": "INV-7"},
    "description": "Invoice INV-7",
}


def client_for(fake: FakeStripeServer, *, retries: int = 2, key: str = "sk_test_x") -> Any:
    return stripe.StripeClient(key, base_addresses={"api": fake.url}, max_network_retries=retries)


@pytest.fixture
def client(fake_stripe: FakeStripeServer) -> Any:
    return client_for(fake_stripe)


def create(client: Any, key: str, **overrides: Any) -> Any:
    params = VND_100K | overrides
    return client.v1.payment_intents.create(params=params, options={"idempotency_key": key})


def paid_intent(client: Any, key: str, amount: int = 100_000) -> Any:
    intent = create(client, key, amount=amount)
    return client.v1.payment_intents.confirm(intent.id, params={"payment_method": "pm_card_visa"})


def error_of(exc: stripe.StripeError) -> Any:
    """The ``error`` object of Stripe's error body, as the client parsed it."""
    assert exc.error is not None, f"no error body in {exc!r}"
    return exc.error


# ---- PaymentIntents -------------------------------------------------------------------------


def test_payment_intent_is_created_with_stripe_shape_and_nested_params(client, fake_stripe):
    intent = create(client, "key-create", payment_method_types=["card_present", "card"])

    assert intent.id.startswith("pi_")
    assert intent.object == "payment_intent"
    assert intent.livemode is False
    assert isinstance(intent.created, int)
    assert intent.client_secret.startswith(f"{intent.id}_secret_")
    assert intent.status == "requires_payment_method"
    assert (intent.amount, intent.currency) == (100_000, "vnd")
    assert intent.payment_method_types == ["card_present", "card"]
    assert intent.metadata.to_dict() == {"payment_id": "pay_1", "invoice": "INV-7"}
    assert intent.description == "Invoice INV-7"
    assert client.v1.payment_intents.retrieve(intent.id).to_dict() == intent.to_dict()


def test_confirm_with_a_test_card_succeeds_with_charge_and_balance_transaction(client, fake_stripe):
    intent = paid_intent(client, "key-visa")

    assert intent.status == "succeeded"
    assert intent.amount_received == 100_000
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert (charge.status, charge.captured, charge.payment_intent) == ("succeeded", True, intent.id)
    assert charge.metadata["payment_id"] == "pay_1"
    txn = client.v1.balance_transactions.retrieve(charge.balance_transaction)
    # 2.9 % of 100,000 VND plus the fixed 2,000 VND, in whole dong
    assert (txn.type, txn.amount, txn.fee, txn.net) == ("charge", 100_000, 4_900, 95_100)
    assert (txn.source, txn.reporting_category) == (charge.id, "charge")
    assert txn.available_on > txn.created


def test_declined_card_raises_card_error_and_returns_intent_to_requires_payment_method(client):
    intent = create(client, "key-decline")

    with pytest.raises(stripe.CardError) as declined:
        client.v1.payment_intents.confirm(
            intent.id, params={"payment_method": "pm_card_chargeDeclined"}
        )

    assert declined.value.http_status == 402
    assert (declined.value.code, error_of(declined.value).decline_code) == (
        "card_declined",
        "generic_decline",
    )
    after = client.v1.payment_intents.retrieve(intent.id)
    assert after.status == "requires_payment_method"
    assert after.last_payment_error.code == "card_declined"
    retried = client.v1.payment_intents.confirm(
        intent.id, params={"payment_method": "pm_card_visa"}
    )
    assert retried.status == "succeeded"


def test_a_card_that_requires_3d_secure_goes_to_the_banks_page_and_back(client, fake_stripe):
    approved, failed = create(client, "key-3ds-1"), create(client, "key-3ds-2")
    back = "http://127.0.0.1:8000/p/plk_page?lang=vi"
    session = requests.Session()

    answers = {}
    for intent, outcome in ((approved, "complete"), (failed, "fail")):
        waiting = client.v1.payment_intents.confirm(
            intent.id,
            params={"payment_method": "pm_card_authenticationRequired", "return_url": back},
        )
        assert waiting.status == "requires_action"
        redirect = waiting.next_action.redirect_to_url
        assert (waiting.next_action.type, redirect.return_url) == ("redirect_to_url", back)
        page = session.get(redirect.url, timeout=10)
        assert page.status_code == 200
        assert "Complete authentication" in page.text
        answer = session.post(
            redirect.url.split("?")[0],
            data={"client_secret": intent.client_secret, "outcome": outcome},
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code == 303
        answers[outcome] = parse_qs(urlsplit(answer.headers["Location"]).query)
        assert answer.headers["Location"].startswith(back + "&")

    assert answers["complete"]["redirect_status"] == ["succeeded"]
    assert answers["complete"]["payment_intent"] == [approved.id]
    assert answers["complete"]["payment_intent_client_secret"] == [approved.client_secret]
    assert client.v1.payment_intents.retrieve(approved.id).status == "succeeded"
    assert answers["fail"]["redirect_status"] == ["failed"]
    after = client.v1.payment_intents.retrieve(failed.id)
    assert after.status == "requires_payment_method"
    assert after.last_payment_error.code == "payment_intent_authentication_failure"
    assert after.next_action is None
    assert [
        e["data"]["object"]["id"]
        for e in fake_stripe.events_of_type("payment_intent.payment_failed")
    ] == [failed.id]
    # The page answers once: a second answer, or a wrong secret, is refused.
    again = session.post(
        f"{fake_stripe.url}/3ds/authenticate/{approved.id}",
        data={"client_secret": approved.client_secret, "outcome": "complete"},
        allow_redirects=False,
        timeout=10,
    )
    assert again.status_code == 400


def test_cancel_works_before_success_and_is_refused_after(client):
    open_intent = create(client, "key-cancel-1")
    canceled = client.v1.payment_intents.cancel(
        open_intent.id, params={"cancellation_reason": "abandoned"}
    )
    assert (canceled.status, canceled.cancellation_reason) == ("canceled", "abandoned")

    paid = paid_intent(client, "key-cancel-2")
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.payment_intents.cancel(paid.id)
    assert refused.value.code == "payment_intent_unexpected_state"


def test_amount_above_stripe_maximum_is_rejected_and_not_saved_under_the_key(client, fake_stripe):
    with pytest.raises(stripe.InvalidRequestError) as too_large:
        create(client, "key-huge", amount=100_000_000)

    assert (too_large.value.code, too_large.value.param) == ("amount_too_large", "amount")
    assert error_of(too_large.value).type == "invalid_request_error"
    assert fake_stripe.executions("key-huge") == 0
    assert create(client, "key-huge", amount=99_999_999).amount == 99_999_999


def test_request_with_a_live_or_missing_key_is_unauthorized(fake_stripe):
    with pytest.raises(stripe.AuthenticationError) as rejected:
        client_for(fake_stripe, key="sk_live_abcdefgh1234").v1.payment_intents.create(
            params=VND_100K
        )
    assert rejected.value.http_status == 401
    assert error_of(rejected.value).type == "invalid_request_error"
    assert "sk_live_" in error_of(rejected.value).message
    assert fake_stripe.objects("payment_intent") == []


# ---- idempotency ---------------------------------------------------------------------------


def test_same_key_and_parameters_replay_the_first_response_and_execute_once(client, fake_stripe):
    first = create(client, "key-replay")
    second = create(client, "key-replay")

    assert second.id == first.id
    assert second.last_response.body == first.last_response.body
    assert second.last_response.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.last_response.headers
    assert fake_stripe.executions("key-replay") == 1
    assert len(fake_stripe.objects("payment_intent")) == 1


def test_same_key_with_different_parameters_is_an_idempotency_error(client, fake_stripe):
    create(client, "key-mismatch")

    with pytest.raises(stripe.IdempotencyError) as mismatch:
        create(client, "key-mismatch", amount=200_000)

    assert mismatch.value.http_status == 400
    assert "key-mismatch" in mismatch.value.user_message
    assert fake_stripe.executions("key-mismatch") == 1


def test_keys_are_scoped_per_api_key(fake_stripe):
    one = create(client_for(fake_stripe, key="sk_test_hospital_a"), "shared-key")
    other = create(client_for(fake_stripe, key="sk_test_hospital_b"), "shared-key")

    assert one.id != other.id
    assert fake_stripe.executions("shared-key", api_key="sk_test_hospital_a") == 1
    assert fake_stripe.executions("shared-key") == 2


def test_a_card_error_is_replayed_too_not_executed_again(client, fake_stripe):
    intent = create(client, "key-pi")
    confirm = {"payment_method": "pm_card_chargeDeclined"}
    errors = []
    for _ in range(2):
        with pytest.raises(stripe.CardError) as declined:
            client.v1.payment_intents.confirm(
                intent.id, params=confirm, options={"idempotency_key": "key-confirm"}
            )
        errors.append(declined.value)

    assert errors[0].http_body == errors[1].http_body
    assert (errors[1].headers or {}).get("Idempotent-Replayed") == "true"
    assert fake_stripe.executions("key-confirm") == 1
    assert len(fake_stripe.objects("charge")) == 1


def test_retries_after_injected_500s_succeed_with_one_execution(fake_stripe, fast_stripe_retries):
    fake_stripe.fail_next("/v1/payment_intents", times=2, status=500)

    intent = create(client_for(fake_stripe, retries=2), "key-500")

    attempts = [r for r in fake_stripe.request_log if r.path == "/v1/payment_intents"]
    assert [r.outcome for r in attempts] == ["injected_error", "injected_error", "executed"]
    assert {r.idempotency_key for r in attempts} == {"key-500"}
    assert fake_stripe.executions("key-500") == 1
    assert fake_stripe.objects("payment_intent")[0]["id"] == intent.id


def test_a_dropped_connection_is_retried_with_the_same_key(fake_stripe, fast_stripe_retries):
    fake_stripe.fail_next("/v1/payment_intents", mode="drop")

    intent = create(client_for(fake_stripe, retries=2), "key-drop")

    assert [r.outcome for r in fake_stripe.request_log] == ["dropped", "executed"]
    assert fake_stripe.executions("key-drop") == 1
    assert intent.status == "requires_payment_method"


def test_a_lost_response_then_a_retry_with_the_same_key_returns_the_original(fake_stripe):
    no_retries = client_for(fake_stripe, retries=0)
    fake_stripe.crash_after_executing("/v1/payment_intents")

    with pytest.raises(stripe.APIConnectionError):
        create(no_retries, "key-lost")
    recovered = create(no_retries, "key-lost")

    assert [p["id"] for p in fake_stripe.objects("payment_intent")] == [recovered.id]
    assert recovered.last_response.headers["Idempotent-Replayed"] == "true"
    assert fake_stripe.executions("key-lost") == 1


def test_the_client_retry_after_a_lost_response_gets_the_replay(fake_stripe, fast_stripe_retries):
    fake_stripe.crash_after_executing("/v1/payment_intents/*/confirm")
    intent = create(client_for(fake_stripe), "key-intent")

    confirmed = client_for(fake_stripe).v1.payment_intents.confirm(
        intent.id,
        params={"payment_method": "pm_card_visa"},
        options={"idempotency_key": "key-lost-confirm"},
    )

    assert confirmed.status == "succeeded"
    assert confirmed.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(fake_stripe.objects("charge")) == 1


def test_a_request_while_the_same_key_is_in_flight_gets_409(fake_stripe):
    fake_stripe.set_latency(0.8, "/v1/payment_intents")  # room for a loaded machine
    first: list[Any] = []
    slow = threading.Thread(target=lambda: first.append(create(client_for(fake_stripe), "k")))
    slow.start()
    while not fake_stripe.in_flight("k") and slow.is_alive():
        threading.Event().wait(0.01)

    with pytest.raises(stripe.APIError) as in_use:
        create(client_for(fake_stripe, retries=0), "k")
    slow.join()

    assert (in_use.value.http_status, error_of(in_use.value).code) == (
        409,
        "idempotency_key_in_use",
    )
    assert create(client_for(fake_stripe, retries=0), "k").id == first[0].id
    assert fake_stripe.executions("k") == 1


# ---- Terminal (server-driven card readers) -------------------------------------------------


def terminal_intent(client: Any, key: str) -> Any:
    return create(client, key, payment_method_types=["card_present"])


def test_terminal_reader_success_completes_the_intent_and_emits_webhooks(client, fake_stripe):
    reader_id = fake_stripe.add_reader("tmr_kiosk_1")
    intent = terminal_intent(client, "key-terminal")

    reader = client.v1.terminal.readers.process_payment_intent(
        reader_id, params={"payment_intent": intent.id}
    )
    assert reader.object == "terminal.reader"
    assert reader.action.status == "in_progress"
    assert reader.action.process_payment_intent.payment_intent == intent.id

    fake_stripe.complete_reader_action(reader_id)

    assert client.v1.payment_intents.retrieve(intent.id).status == "succeeded"
    (succeeded,) = fake_stripe.events_of_type("terminal.reader.action_succeeded")
    assert succeeded["data"]["object"]["action"]["status"] == "succeeded"
    (paid,) = fake_stripe.events_of_type("payment_intent.succeeded")
    assert paid["data"]["object"]["id"] == intent.id
    assert paid["data"]["object"]["metadata"]["payment_id"] == "pay_1"
    assert [t["type"] for t in fake_stripe.objects("balance_transaction")] == ["charge"]


def test_terminal_reader_failure_leaves_the_intent_payable(client, fake_stripe):
    reader_id = fake_stripe.add_reader()
    intent = terminal_intent(client, "key-terminal-fail")
    client.v1.terminal.readers.process_payment_intent(
        reader_id, params={"payment_intent": intent.id}
    )

    fake_stripe.complete_reader_action(reader_id, succeed=False)

    (failed,) = fake_stripe.events_of_type("terminal.reader.action_failed")
    assert failed["data"]["object"]["action"]["failure_code"] == "card_declined"
    assert client.v1.payment_intents.retrieve(intent.id).status == "requires_payment_method"
    assert fake_stripe.objects("balance_transaction") == []


def test_processing_on_an_unregistered_or_busy_reader_is_refused(client, fake_stripe):
    intent = terminal_intent(client, "key-terminal-404")
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.terminal.readers.process_payment_intent(
            "tmr_nowhere", params={"payment_intent": intent.id}
        )
    assert (unknown.value.http_status, unknown.value.code) == (404, "resource_missing")

    reader_id = fake_stripe.add_reader()
    process = client.v1.terminal.readers.process_payment_intent
    process(reader_id, params={"payment_intent": intent.id})
    with pytest.raises(stripe.InvalidRequestError) as busy:
        process(reader_id, params={"payment_intent": terminal_intent(client, "key-other").id})
    assert busy.value.code == "terminal_reader_busy"


# ---- refunds, balance transactions, payouts ------------------------------------------------


def test_refunds_can_never_exceed_the_captured_amount(client, fake_stripe):
    intent = paid_intent(client, "key-refund")
    refunds = client.v1.refunds

    partial = refunds.create(params={"payment_intent": intent.id, "amount": 30_000})
    assert (partial.object, partial.status, partial.amount) == ("refund", "succeeded", 30_000)
    with pytest.raises(stripe.InvalidRequestError) as too_much:
        refunds.create(params={"payment_intent": intent.id, "amount": 70_001})
    assert (too_much.value.code, too_much.value.param) == ("amount_too_large", "amount")

    rest = refunds.create(params={"payment_intent": intent.id})
    assert rest.amount == 70_000
    with pytest.raises(stripe.InvalidRequestError) as again:
        refunds.create(params={"payment_intent": intent.id, "amount": 1})
    assert again.value.code == "charge_already_refunded"

    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (100_000, True)
    refund_txn = client.v1.balance_transactions.retrieve(partial.balance_transaction)
    assert (refund_txn.type, refund_txn.amount, refund_txn.net) == ("refund", -30_000, -30_000)
    assert len(fake_stripe.events_of_type("charge.refunded")) == 2
    assert len(fake_stripe.events_of_type("refund.created")) == 2


def test_balance_transactions_are_listed_by_payout_page_by_page(client, fake_stripe):
    intents = [paid_intent(client, f"key-payout-{n}", amount=50_000 * n) for n in (1, 2, 3)]
    client.v1.refunds.create(params={"payment_intent": intents[0].id, "amount": 10_000})
    payout = fake_stripe.payout_all()
    assert payout is not None
    paid_intent(client, "key-after-payout")  # belongs to the next payout

    page = client.v1.balance_transactions.list(params={"payout": payout["id"], "limit": 2})
    listed = list(page.auto_paging_iter())

    assert page.has_more is True
    assert len(page.data) == 2
    assert sorted(t.type for t in listed) == ["charge", "charge", "charge", "payout", "refund"]
    moved = [t for t in listed if t.type != "payout"]
    assert sum(t.net for t in moved) == payout["amount"]
    # 2.9 % of 50,000 / 100,000 / 150,000 VND plus 2,000 VND each; a refund carries no fee
    assert sum(t.fee for t in moved) == (1_450 + 2_000) + (2_900 + 2_000) + (4_350 + 2_000)
    assert next(t for t in listed if t.type == "payout").amount == -payout["amount"]
    assert client.v1.payouts.retrieve(payout["id"]).status == "paid"


# ---- webhooks ------------------------------------------------------------------------------


@pytest.fixture
def webhook_receiver() -> Iterator[SimpleNamespace]:
    """A bare endpoint that records what it is sent (the app's /webhooks/stripe comes later)."""
    received: list[tuple[bytes, str]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((body, self.headers["Stripe-Signature"]))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_address[1]}/", received=received)
    server.shutdown()
    server.server_close()


def test_signed_events_verify_with_construct_event_and_a_tampered_body_does_not(
    client, fake_stripe
):
    paid_intent(client, "key-webhook")
    (event,) = fake_stripe.events_of_type("payment_intent.succeeded")
    body, headers = fake_stripe.signed_event(event)
    secret = fake_stripe.webhook_secrets[0]

    verified = stripe.Webhook.construct_event(body, headers["Stripe-Signature"], secret)
    assert (verified.id, verified.type) == (event["id"], "payment_intent.succeeded")
    assert verified.data.object.metadata["payment_id"] == "pay_1"
    assert event["id"].startswith("evt_")
    assert event["request"]["idempotency_key"] is not None

    tampered = body.replace(b'"amount": 100000', b'"amount": 1')
    assert tampered != body
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(tampered, headers["Stripe-Signature"], secret)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, headers["Stripe-Signature"], "whsec_other")


def test_during_a_secret_rotation_either_secret_verifies(client):
    fake = FakeStripeServer(webhook_secrets=("whsec_old", "whsec_new"))
    with fake:
        create(client_for(fake), "key-rotation")
        body, headers = fake.signed_event(fake.events[0])

    for secret in ("whsec_old", "whsec_new"):
        assert stripe.Webhook.construct_event(body, headers["Stripe-Signature"], secret)


def test_every_event_delivered_three_times_shuffled_arrives_signed_and_identical(
    client, fake_stripe, webhook_receiver
):
    paid = paid_intent(client, "key-deliver")
    client.v1.refunds.create(params={"payment_intent": paid.id, "amount": 5_000})
    emitted = fake_stripe.events

    statuses = fake_stripe.deliver_all(webhook_receiver.url, times=3, shuffle=True, seed=7)

    assert statuses == [200] * 3 * len(emitted)
    ids = []
    for body, signature in webhook_receiver.received:
        event = stripe.Webhook.construct_event(body, signature, fake_stripe.webhook_secrets[0])
        assert body == fake_stripe.signed_event(event.id)[0]  # redelivery: the same bytes
        ids.append(event.id)
    assert sorted(ids) == sorted([e["id"] for e in emitted] * 3)
    assert ids[: len(emitted)] != [e["id"] for e in emitted]  # not in emission order


def test_the_published_stripe_vector_verifies_with_the_clock_at_its_timestamp(
    monkeypatch,
):
    vector = vectors("webhook_vectors.json")["stripe"]
    payload, secret = vector["payload"].encode(), vector["secret"]
    header = vector["header"]["Stripe-Signature"]
    # the verifier reads time.time() from stripe._webhook's own `time` import: set only that clock
    clock = SimpleNamespace(time=lambda: vector["timestamp"] + 60)
    monkeypatch.setattr(stripe._webhook, "time", clock)

    event = stripe.Webhook.construct_event(payload, header, secret)

    assert (event.id, event.type) == ("evt_test", "payment_intent.succeeded")
    assert stripe_signature(payload, vector["timestamp"], [secret]) == header
    clock.time = lambda: vector["timestamp"] + 301  # outside Stripe's 300 s tolerance
    with pytest.raises(stripe.SignatureVerificationError, match="tolerance"):
        stripe.Webhook.construct_event(payload, header, secret)
