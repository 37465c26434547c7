"""The in-memory Stripe account behind the fake server: objects, endpoints, test hooks, events.

Endpoints take parsed parameters and return Stripe-shaped JSON objects or raise ``ApiError``;
the HTTP layer, idempotency and fault injection live in ``stripe_server``.
"""

from __future__ import annotations

import copy
import json
import threading
import time
import traceback
from urllib.parse import urlencode

from tests.fakes.stripe_protocol import (
    ApiError,
    Obj,
    choice_param,
    int_param,
    invalid,
    metadata_param,
    missing,
    new_id,
    state_error,
)

API_VERSION = "2026-10-28.endive"
MAX_AMOUNT = 99_999_999  # Stripe's ceiling: eight digits in the smallest currency unit
ZERO_DECIMAL = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv"}
    | {"xaf", "xof", "xpf"}
)
CURRENCIES = ZERO_DECIMAL | {"usd", "eur", "gbp", "sgd", "thb"}
FEE_BASIS_POINTS = 290  # 2.9 %
FEE_FIXED = {"vnd": 2_000, "usd": 30, "eur": 25, "gbp": 20, "sgd": 50, "thb": 1_000}
AVAILABLE_AFTER = 2 * 86_400
TEST_CARDS: dict[str, str | None] = {  # payment method -> decline code (None: approved)
    "pm_card_visa": None,
    "pm_card_mastercard": None,
    "pm_card_chargeDeclined": "generic_decline",
    "pm_card_chargeDeclinedInsufficientFunds": "insufficient_funds",
    "pm_card_authenticationRequired": None,  # 4000 0027 6000 3184: approved after 3-D Secure
}
# Cards whose bank asks the cardholder to authenticate (3-D Secure) on every payment.
AUTHENTICATION_REQUIRED = frozenset({"pm_card_authenticationRequired"})
AUTHENTICATION_FAILED = (
    "The provided PaymentMethod has failed authentication. You can provide payment_method_data "
    "or a new PaymentMethod to attempt to fulfill this PaymentIntent again."
)
CANCELABLE = (
    "requires_payment_method",
    "requires_capture",
    "requires_confirmation",
    "requires_action",
)
CONFIRMABLE = ("requires_payment_method", "requires_confirmation")
RETRIEVABLE = {
    "payment_intents": "payment_intent",
    "charges": "charge",
    "refunds": "refund",
    "balance_transactions": "balance_transaction",
    "payouts": "payout",
    "events": "event",
    "terminal/readers": "terminal.reader",
}


def _expand(params: Obj) -> list[str]:
    expand = params.get("expand") or []
    if isinstance(expand, dict):  # expand[0]=... decoded as an indexed mapping
        expand = list(expand.values())
    return [str(e) for e in (expand if isinstance(expand, list) else [expand])]


class FakeStripeAccount:
    """One test-mode Stripe account. Every public method is safe to call from any thread."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._objects: dict[str, Obj] = {}
        self._balance_order: list[str] = []
        self._payout_of: dict[str, str] = {}
        self._events: list[Obj] = []
        self._event_bodies: dict[str, bytes] = {}
        self._context: tuple[str | None, str | None] = (None, None)
        # Where the cardholder's browser reaches this account (the fake's 3-D Secure page);
        # set by the HTTP server when it starts.
        self.public_url = ""

    # ---- inspection ----------------------------------------------------------------------
    def get(self, object_id: str) -> Obj:
        """A copy of any stored object (``pi_``, ``ch_``, ``re_``, ``txn_``, ``po_``, ``tmr_``)."""
        with self.lock:
            return copy.deepcopy(self._objects[object_id])

    def objects(self, kind: str) -> list[Obj]:
        """Copies of all stored objects whose ``object`` is ``kind``, oldest first."""
        with self.lock:
            return [copy.deepcopy(o) for o in self._objects.values() if o["object"] == kind]

    @property
    def events(self) -> list[Obj]:
        with self.lock:
            return copy.deepcopy(self._events)

    def events_of_type(self, event_type: str) -> list[Obj]:
        return [e for e in self.events if e["type"] == event_type]

    # ---- test controls: Terminal and payouts ---------------------------------------------
    def add_reader(self, reader_id: str | None = None, *, label: str = "Kiosk reader") -> str:
        reader_id = reader_id or new_id("tmr")
        with self.lock:
            self._objects[reader_id] = self._base(reader_id, "terminal.reader") | {
                "action": None, "device_type": "bbpos_wisepos_e", "label": label,
                "location": "tml_fake", "metadata": {}, "serial_number": reader_id[4:16],
                "status": "online",
            }  # fmt: skip
        return reader_id

    def complete_reader_action(
        self, reader_id: str, *, succeed: bool = True, decline_code: str = "generic_decline"
    ) -> Obj:
        """The cardholder taps: finish the reader's in-progress ``process_payment_intent``."""
        with self.lock:
            reader = self._objects[reader_id]
            action = reader["action"]
            assert action, f"{reader_id} has no action"
            assert action["status"] == "in_progress", f"{reader_id}'s action is {action['status']}"
            intent = self._objects[action["process_payment_intent"]["payment_intent"]]
            intent["payment_method"] = new_id("pm")
            if succeed:
                self._succeed(intent, "card_present")
                action["status"] = "succeeded"
                self._emit("terminal.reader.action_succeeded", reader)
            else:
                error = self._decline(intent, decline_code, "card_present")
                action.update(status="failed", failure_code=error.body["code"])
                action["failure_message"] = error.body["message"]
                self._emit("terminal.reader.action_failed", reader)
            return copy.deepcopy(reader)

    def payout_all(
        self, currency: str = "vnd", *, arrival_date: int | None = None, fail: bool = False
    ) -> Obj | None:
        """Pay out every balance transaction in ``currency`` not yet in a payout (``paid``,
        or ``failed`` with ``fail``: the money goes back to the balance, Stripe's
        ``payout.failed``). ``arrival_date``: unix seconds of the day it reaches the bank."""
        with self.lock:
            members = [
                t
                for t in self._balance_order
                if t not in self._payout_of and self._objects[t]["currency"] == currency
            ]
            if not members:
                return None
            amount = sum(self._objects[t]["net"] for t in members)
            payout_id = new_id("po")
            txn = self._balance(payout_id, -amount, currency, "payout", fee=0)
            payout = self._base(payout_id, "payout") | {
                "amount": amount, "arrival_date": arrival_date or txn["available_on"],
                "automatic": True, "balance_transaction": txn["id"], "currency": currency,
                "description": "STRIPE PAYOUT", "destination": "ba_fake",
                "failure_code": "account_closed" if fail else None,
                "failure_message": "The bank account has been closed." if fail else None,
                "metadata": {}, "method": "standard",
                "reconciliation_status": "completed", "statement_descriptor": "STRIPE",
                "status": "failed" if fail else "paid", "type": "bank_account",
            }  # fmt: skip
            self._objects[payout_id] = payout
            for t in [*members, txn["id"]]:
                self._payout_of[t] = payout_id
                self._objects[t]["status"] = "available"
            self._emit("payout.created", payout)
            self._emit("payout.failed" if fail else "payout.paid", payout)
            return copy.deepcopy(payout)

    def add_balance_adjustment(
        self, amount: int, *, kind: str = "adjustment", currency: str = "vnd", fee: int = 0
    ) -> Obj:
        """A balance movement of Stripe's own: a dispute (``kind="dispute"``, negative:
        the disputed amount withdrawn, with Stripe's dispute fee) or an adjustment."""
        with self.lock:
            source = new_id("dp" if kind == "dispute" else "adj")
            return copy.deepcopy(self._balance(source, amount, currency, kind, fee=fee))

    # ---- endpoints -----------------------------------------------------------------------
    def execute(
        self, method: str, path: str, params: Obj, *, request_id: str, idempotency_key: str | None
    ) -> tuple[int, bytes, bool]:
        """Run one endpoint; (status, JSON body, whether the idempotency layer keeps it)."""
        with self.lock:
            self._context = (request_id, idempotency_key)
            try:
                result = self._route(method, path, params)
                return 200, json.dumps(result, indent=2).encode(), True
            except ApiError as exc:
                return exc.status, exc.to_json(), exc.saved
            except Exception:  # a bug in the fake: surface it, never save it
                return 500, ApiError(500, "api_error", traceback.format_exc()).to_json(), False
            finally:
                self._context = (None, None)

    def event_body(self, event_id: str) -> bytes:
        """The event's JSON exactly as first serialised: every delivery sends these bytes."""
        with self.lock:
            return self._event_bodies[event_id]

    def _route(self, method: str, path: str, params: Obj) -> Obj:
        parts = path.strip("/").split("/")
        if method == "POST" and parts == ["v1", "payment_intents"]:
            return self._intent_create(params)
        if method == "POST" and parts[:2] == ["v1", "payment_intents"] and len(parts) == 4:
            intent = self._find("payment_intent", parts[2], "intent")
            action = {
                "confirm": self._intent_confirm,
                "cancel": self._intent_cancel,
                "capture": self._intent_capture,
            }.get(parts[3])
            if action:
                return copy.deepcopy(action(intent, params))
        if method == "POST" and parts == ["v1", "refunds"]:
            return self._refund_create(params)
        if (
            method == "POST"
            and parts[:3] == ["v1", "terminal", "readers"]
            and parts[4:] == ["process_payment_intent"]
        ):
            reader = self._find("terminal.reader", parts[3], "reader")
            return self._reader_process(reader, params)
        if (
            method == "POST"
            and parts[:3] == ["v1", "terminal", "readers"]
            and parts[4:] == ["cancel_action"]
        ):
            reader = self._find("terminal.reader", parts[3], "reader")
            reader["action"] = None  # the reader stops asking for a card
            return copy.deepcopy(reader)
        if method == "GET" and parts == ["v1", "balance_transactions"]:
            return self._balance_list(params)
        if method == "GET" and parts == ["v1", "payouts"]:
            return self._payout_list(params)
        if method == "GET" and len(parts) >= 3:
            kind = RETRIEVABLE.get("/".join(parts[1:-1]))
            if kind:
                return copy.deepcopy(self._find(kind, parts[-1]))
        raise ApiError(
            404,
            "invalid_request_error",
            f"Unrecognized request URL ({method}: {path}).",
            saved=False,
        )

    def _find(self, kind: str, object_id: str, param: str = "id") -> Obj:
        found = self._objects.get(object_id)
        if found is None or found["object"] != kind:
            raise missing(kind, object_id, param)
        return found

    # ---- resources ---------------------------------------------------------------------
    def _base(self, object_id: str, kind: str) -> Obj:
        return {"id": object_id, "object": kind, "created": int(time.time()), "livemode": False}

    def _intent_create(self, params: Obj) -> Obj:
        amount, currency = int_param(params, "amount"), str(params.get("currency", "")).lower()
        if currency not in CURRENCIES:
            raise invalid(f"Invalid currency: {currency}.", param="currency")
        if amount < 1:
            raise invalid("Amount must be at least 1.", param="amount", code="amount_too_small")
        if amount > MAX_AMOUNT:
            unit = "" if currency in ZERO_DECIMAL else " (in the smallest currency unit)"
            message = f"Amount must be no more than {MAX_AMOUNT:,} {currency.upper()}{unit}"
            raise invalid(message, param="amount", code="amount_too_large")
        types = params.get("payment_method_types") or ["card"]
        if not isinstance(types, list) or not set(types) <= {"card", "card_present"}:
            raise invalid("Invalid payment_method_types.", param="payment_method_types")
        capture = choice_param(
            params, "capture_method", ("automatic", "automatic_async", "manual"), "automatic_async"
        )
        intent_id = new_id("pi")
        intent = self._base(intent_id, "payment_intent") | {
            "amount": amount, "amount_capturable": 0, "amount_received": 0,
            "canceled_at": None, "cancellation_reason": None, "capture_method": capture,
            "client_secret": f"{intent_id}_secret_{new_id('', 25)[1:]}",
            "confirmation_method": "automatic", "currency": currency,
            "description": params.get("description"), "last_payment_error": None,
            "latest_charge": None, "metadata": metadata_param(params), "next_action": None,
            "payment_method": None, "payment_method_types": types,
            "status": "requires_payment_method",
        }  # fmt: skip
        if params.get("payment_method"):
            self._card(intent, params)  # validates before anything is stored
            intent["payment_method"] = params["payment_method"]
            intent["status"] = "requires_confirmation"
        self._objects[intent_id] = intent
        self._emit("payment_intent.created", intent)
        if params.get("confirm") == "true":
            confirm = {"return_url": params["return_url"]} if params.get("return_url") else {}
            return copy.deepcopy(self._intent_confirm(intent, confirm))
        return copy.deepcopy(intent)

    def _card(self, intent: Obj, params: Obj) -> str | None:
        method = params.get("payment_method") or intent["payment_method"]
        if not method:
            raise invalid(
                "You cannot confirm this PaymentIntent because it's missing a payment method.",
                code="payment_intent_unexpected_state",
            )
        if method not in TEST_CARDS:
            raise missing("PaymentMethod", method, "payment_method")
        if "card" not in intent["payment_method_types"]:
            raise invalid(
                "The PaymentMethod provided (card) is not allowed for this PaymentIntent.",
                param="payment_method",
                code="payment_intent_incompatible_payment_method",
            )
        return TEST_CARDS[method]

    def _intent_confirm(self, intent: Obj, params: Obj) -> Obj:
        self._require_status(intent, CONFIRMABLE, "confirm")
        decline_code = self._card(intent, params)
        intent["payment_method"] = params.get("payment_method") or intent["payment_method"]
        if decline_code:
            raise self._decline(intent, decline_code, "card")
        if intent["payment_method"] in AUTHENTICATION_REQUIRED:
            return self._require_action(intent, str(params.get("return_url") or ""))
        self._succeed(intent, "card")
        return intent

    def _require_action(self, intent: Obj, return_url: str) -> Obj:
        """The bank asks for 3-D Secure: with a ``return_url`` (Stripe.js's confirmPayment)
        the cardholder is sent to the bank's page (``redirect_to_url``, here this fake's own
        page), and comes back to ``return_url``; without one, Stripe.js would handle it
        (``use_stripe_sdk``)."""
        page = f"{self.public_url}/3ds/authenticate/{intent['id']}?client_secret="
        page += intent["client_secret"]
        if return_url:
            next_action: Obj = {
                "type": "redirect_to_url",
                "redirect_to_url": {"url": page, "return_url": return_url},
            }
        else:
            next_action = {
                "type": "use_stripe_sdk",
                "use_stripe_sdk": {"type": "three_d_secure_redirect", "stripe_js": page},
            }
        intent.update(status="requires_action", next_action=next_action, last_payment_error=None)
        self._emit("payment_intent.requires_action", intent)
        return intent

    def authenticate(self, intent_id: str, client_secret: str, *, approve: bool) -> str:
        """The cardholder answers the bank's 3-D Secure page: ``approve`` succeeds the
        payment; otherwise the intent waits for another payment method with Stripe's
        ``payment_intent_authentication_failure`` (event ``payment_intent.payment_failed``).
        Returns where the browser goes next: the ``return_url`` with Stripe's query
        (``payment_intent``, ``payment_intent_client_secret``, ``redirect_status``)."""
        with self.lock:
            intent = self._find("payment_intent", intent_id, "intent")
            if client_secret != intent["client_secret"]:
                raise invalid("The client_secret does not match.", param="client_secret")
            action = intent.get("next_action") or {}
            if intent["status"] != "requires_action" or action.get("type") != "redirect_to_url":
                raise state_error(
                    f"This PaymentIntent ({intent_id}) is not waiting for authentication.",
                    code="payment_intent_unexpected_state",
                )
            return_url = action["redirect_to_url"]["return_url"]
            intent["next_action"] = None
            if approve:
                self._succeed(intent, "card")
            else:
                error: Obj = {
                    "type": "invalid_request_error",
                    "code": "payment_intent_authentication_failure",
                    "message": AUTHENTICATION_FAILED,
                    "payment_method": {"id": intent["payment_method"], "object": "payment_method",
                                       "type": "card"},
                }  # fmt: skip
                intent.update(status="requires_payment_method", last_payment_error=error)
                self._emit("payment_intent.payment_failed", intent)
            query = urlencode(
                {
                    "payment_intent": intent_id,
                    "payment_intent_client_secret": client_secret,
                    "redirect_status": "succeeded" if approve else "failed",
                }
            )
            return return_url + ("&" if "?" in return_url else "?") + query

    def _intent_capture(self, intent: Obj, params: Obj) -> Obj:
        self._require_status(intent, ("requires_capture",), "capture")
        charge = self._objects[intent["latest_charge"]]
        txn = self._charge_balance(charge)
        charge.update(captured=True, amount_captured=charge["amount"], balance_transaction=txn)
        intent.update(status="succeeded", amount_capturable=0, amount_received=intent["amount"])
        self._emit("charge.captured", charge)
        self._emit("payment_intent.succeeded", intent)
        return intent

    def _intent_cancel(self, intent: Obj, params: Obj) -> Obj:
        self._require_status(intent, CANCELABLE, "cancel")
        reasons = ("duplicate", "fraudulent", "requested_by_customer", "abandoned")
        reason = choice_param(params, "cancellation_reason", reasons, None)
        intent.update(status="canceled", canceled_at=int(time.time()), cancellation_reason=reason)
        intent["next_action"] = None
        intent["amount_capturable"] = 0
        self._emit("payment_intent.canceled", intent)
        return intent

    def _require_status(self, intent: Obj, allowed: tuple[str, ...], verb: str) -> None:
        if intent["status"] not in allowed:
            message = (
                f"You cannot {verb} this PaymentIntent because it has a status of "
                f"{intent['status']}. This requires one of the following statuses: "
                f"{', '.join(allowed)}."
            )
            raise ApiError(
                400,
                "invalid_request_error",
                message,
                code="payment_intent_unexpected_state",
                payment_intent=copy.deepcopy(intent),
            )

    def _new_charge(self, intent: Obj, method_type: str, status: str) -> Obj:
        charge_id = new_id("ch")
        charge = self._base(charge_id, "charge") | {
            "amount": intent["amount"], "amount_captured": 0, "amount_refunded": 0,
            "balance_transaction": None, "captured": False, "currency": intent["currency"],
            "failure_code": None, "failure_message": None, "metadata": dict(intent["metadata"]),
            "paid": status == "succeeded", "payment_intent": intent["id"],
            "payment_method": intent["payment_method"],
            "payment_method_details": {"type": method_type}, "refunded": False, "status": status,
        }  # fmt: skip
        self._objects[charge_id] = charge
        intent["latest_charge"] = charge_id
        return charge

    def _succeed(self, intent: Obj, method_type: str) -> None:
        charge = self._new_charge(intent, method_type, "succeeded")
        intent["last_payment_error"] = None
        if intent["capture_method"] == "manual":
            intent.update(status="requires_capture", amount_capturable=intent["amount"])
            self._emit("charge.succeeded", charge)
            self._emit("payment_intent.amount_capturable_updated", intent)
            return
        txn = self._charge_balance(charge)
        charge.update(captured=True, amount_captured=charge["amount"], balance_transaction=txn)
        intent.update(status="succeeded", amount_received=intent["amount"])
        self._emit("charge.succeeded", charge)
        self._emit("payment_intent.succeeded", intent)

    def _decline(self, intent: Obj, decline_code: str, method_type: str) -> ApiError:
        charge = self._new_charge(intent, method_type, "failed")
        message = {
            "insufficient_funds": "Your card has insufficient funds.",
        }.get(decline_code, "Your card was declined.")
        charge.update(failure_code="card_declined", failure_message=message)
        error: Obj = {
            "type": "card_error", "code": "card_declined", "decline_code": decline_code,
            "message": message, "charge": charge["id"],
            "payment_method": {"id": intent["payment_method"], "object": "payment_method",
                               "type": method_type},
        }  # fmt: skip
        intent.update(status="requires_payment_method", last_payment_error=error)
        self._emit("charge.failed", charge)
        self._emit("payment_intent.payment_failed", intent)
        fields = {k: v for k, v in error.items() if k not in ("type", "message")}
        return ApiError(402, "card_error", message, payment_intent=copy.deepcopy(intent), **fields)

    def _refund_create(self, params: Obj) -> Obj:
        if params.get("payment_intent"):
            intent = self._find("payment_intent", params["payment_intent"], "payment_intent")
            charge_id = intent["latest_charge"] if intent["status"] == "succeeded" else None
            if charge_id is None:
                raise state_error(
                    f"This PaymentIntent ({intent['id']}) does not have a successful charge to "
                    "refund.",
                    code="charge_not_refundable",
                    param="payment_intent",
                )
            charge = self._objects[charge_id]
        elif params.get("charge"):
            charge = self._find("charge", params["charge"], "charge")
        else:
            raise invalid(
                "One of the following params should be provided for this request: "
                "payment_intent or charge."
            )
        unrefunded = charge["amount_captured"] - charge["amount_refunded"]
        if unrefunded <= 0:
            raise state_error(
                f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded"
            )
        amount = int_param(params, "amount", default=unrefunded)
        if amount < 1:
            raise invalid("Amount must be at least 1.", param="amount", code="amount_too_small")
        if amount > unrefunded:
            raise state_error(
                f"Refund amount ({amount:,} {charge['currency']}) is greater than unrefunded "
                f"amount on charge ({unrefunded:,} {charge['currency']})",
                code="amount_too_large",
                param="amount",
            )
        reasons = ("duplicate", "fraudulent", "requested_by_customer")
        refund_id = new_id("re")
        txn = self._balance(refund_id, -amount, charge["currency"], "refund", fee=0)
        refund = self._base(refund_id, "refund") | {
            "amount": amount, "balance_transaction": txn["id"], "charge": charge["id"],
            "currency": charge["currency"], "metadata": metadata_param(params),
            "payment_intent": charge["payment_intent"],
            "reason": choice_param(params, "reason", reasons, None), "status": "succeeded",
        }  # fmt: skip
        self._objects[refund_id] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        self._emit("refund.created", refund)
        self._emit("charge.refunded", charge)
        return copy.deepcopy(refund)

    def _reader_process(self, reader: Obj, params: Obj) -> Obj:
        if not params.get("payment_intent"):
            raise invalid("Missing required param: payment_intent.", param="payment_intent")
        intent = self._find("payment_intent", params["payment_intent"], "payment_intent")
        if reader["action"] and reader["action"]["status"] == "in_progress":
            raise state_error(
                "Reader is currently busy processing another request.", code="terminal_reader_busy"
            )
        self._require_status(intent, CONFIRMABLE, "process")
        if "card_present" not in intent["payment_method_types"]:
            raise invalid(
                "The PaymentIntent must allow card_present payments.",
                param="payment_intent",
                code="payment_intent_incompatible_payment_method",
            )
        reader["action"] = {
            "type": "process_payment_intent", "status": "in_progress", "failure_code": None,
            "failure_message": None, "process_payment_intent": {"payment_intent": intent["id"]},
        }  # fmt: skip
        return copy.deepcopy(reader)

    def _charge_balance(self, charge: Obj) -> str:
        amount, currency = charge["amount"], charge["currency"]
        fee = (amount * FEE_BASIS_POINTS + 5_000) // 10_000 + FEE_FIXED.get(currency, 0)
        return str(
            self._balance(charge["id"], amount, currency, "charge", fee=min(fee, amount))["id"]
        )

    def _balance(self, source: str, amount: int, currency: str, kind: str, *, fee: int) -> Obj:
        txn_id = new_id("txn")
        txn = self._base(txn_id, "balance_transaction")
        txn |= {
            "amount": amount, "available_on": txn["created"] + AVAILABLE_AFTER,
            "currency": currency, "description": None, "exchange_rate": None, "fee": fee,
            "fee_details": [{"amount": fee, "application": None, "currency": currency,
                             "description": "Stripe processing fees", "type": "stripe_fee"}]
            if fee else [],
            "net": amount - fee, "reporting_category": kind, "source": source,
            "status": "pending", "type": kind,
        }  # fmt: skip
        self._objects[txn_id] = txn
        self._balance_order.append(txn_id)
        return txn

    def _balance_list(self, params: Obj) -> Obj:
        limit = int_param(params, "limit", default=10)
        if not 1 <= limit <= 100:
            raise invalid("Invalid limit: must be between 1 and 100", param="limit")
        ids = list(reversed(self._balance_order))  # newest first, as Stripe lists
        if params.get("payout"):
            payout = self._find("payout", params["payout"], "payout")["id"]
            ids = [t for t in ids if self._payout_of.get(t) == payout]
        if params.get("type"):
            ids = [t for t in ids if self._objects[t]["type"] == params["type"]]
        if params.get("starting_after"):
            after = params["starting_after"]
            if after not in ids:
                raise missing("balance_transaction", after, "starting_after")
            ids = ids[ids.index(after) + 1 :]
        page = [copy.deepcopy(self._objects[t]) for t in ids[:limit]]
        if "data.source" in _expand(params):
            for txn in page:
                source = self._objects.get(txn["source"])
                if source is not None and source["object"] in ("charge", "refund"):
                    txn["source"] = copy.deepcopy(source)
        return {
            "object": "list",
            "data": page,
            "has_more": len(ids) > limit,
            "url": "/v1/balance_transactions",
        }

    def _payout_list(self, params: Obj) -> Obj:
        """Payouts newest first; ``status``, ``arrival_date[gte]``/``[lte]``, ``limit``,
        ``starting_after``."""
        limit = int_param(params, "limit", default=10)
        if not 1 <= limit <= 100:
            raise invalid("Invalid limit: must be between 1 and 100", param="limit")
        payouts = [o for o in reversed(self._objects.values()) if o["object"] == "payout"]
        if params.get("status"):
            payouts = [p for p in payouts if p["status"] == params["status"]]
        arrival = params.get("arrival_date") or {}
        if isinstance(arrival, dict):
            if "gte" in arrival:
                payouts = [p for p in payouts if p["arrival_date"] >= int(arrival["gte"])]
            if "lte" in arrival:
                payouts = [p for p in payouts if p["arrival_date"] <= int(arrival["lte"])]
        ids = [p["id"] for p in payouts]
        if params.get("starting_after"):
            after = params["starting_after"]
            if after not in ids:
                raise missing("payout", after, "starting_after")
            ids = ids[ids.index(after) + 1 :]
        page = [copy.deepcopy(self._objects[i]) for i in ids[:limit]]
        return {"object": "list", "data": page, "has_more": len(ids) > limit, "url": "/v1/payouts"}

    def _emit(self, event_type: str, obj: Obj) -> None:
        request_id, idem = self._context
        event = self._base(new_id("evt"), "event") | {
            "api_version": API_VERSION, "data": {"object": copy.deepcopy(obj)},
            "pending_webhooks": 1, "request": {"id": request_id, "idempotency_key": idem},
            "type": event_type,
        }  # fmt: skip
        self._events.append(event)
        self._objects[event["id"]] = event
        self._event_bodies[event["id"]] = json.dumps(event, indent=2).encode()
