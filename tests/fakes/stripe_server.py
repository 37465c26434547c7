"""A small stateful fake of the Stripe API: a real HTTP server on a loopback port.

The official ``stripe`` library talks to it unchanged (``base_addresses={"api": fake.url}``).
This module is the HTTP layer: API-key check, Stripe's idempotency semantics, failure
injection and signed webhook delivery. The account behind it (PaymentIntents, charges,
refunds, Terminal readers, balance transactions, payouts, events) is ``stripe_state``.
What it implements and what it does not: tests/fakes/README.md.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import hmac
import html
import json
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import parse_qs, urlsplit

import requests

from tests.fakes.stripe_protocol import ApiError, Obj, new_id, parse_form
from tests.fakes.stripe_state import API_VERSION, FakeStripeAccount

# The stand-in for Stripe.js the browser tests load from this server (GET /v3/).
STRIPE_JS = Path(__file__).with_name("stripe_js.js")

# The bank's 3-D Secure page (Stripe's hooks.stripe.com/redirect/authenticate/… in test mode).
AUTHENTICATE_PATH = "/3ds/authenticate/"
HTML = "text/html; charset=utf-8"
AUTHENTICATION_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>3D Secure test page (fake Stripe)</title>
<style>body{{font:1rem/1.5 sans-serif;margin:1rem;color:#1a1a1a}}
button{{display:block;width:100%;min-height:2.75rem;margin:.5rem 0;font-size:1rem}}</style>
</head><body><main>
<h1>3D Secure test page</h1>
<p>Your bank asks you to confirm a payment of <strong>{amount}</strong>.</p>
{body}
</main></body></html>
"""
AUTHENTICATION_FORM = """<form method="post" action="{action}">
<input type="hidden" name="client_secret" value="{secret}">
<button type="submit" name="outcome" value="complete">Complete authentication</button>
<button type="submit" name="outcome" value="fail">Fail authentication</button>
</form>"""

FaultMode = Literal["error", "drop", "crash"]
Log = Callable[[str, "int | None"], None]


def stripe_signature(body: bytes, timestamp: int, webhook_secrets: list[str]) -> str:
    """Stripe's ``Stripe-Signature`` value: ``t=<unix>,v1=<hex HMAC-SHA256(secret,
    f"{t}.{body}")>``, one ``v1`` per secret (Stripe signs with both while a secret rolls)."""
    signed = f"{timestamp}.".encode() + body
    return f"t={timestamp}," + ",".join(
        "v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        for secret in webhook_secrets
    )


@dataclass
class LoggedRequest:
    method: str
    path: str
    idempotency_key: str | None
    outcome: str  # executed | replayed | rejected | injected_error | dropped | crashed
    status: int | None  # None when the connection was closed without an answer
    query: str = ""  # a GET's query string (list positions: ``starting_after=…``)


@dataclass
class _Saved:
    fingerprint: str
    response: tuple[int, bytes, str] | None = None  # status, body, request id; None: in flight


@dataclass
class _Fault:
    method: str
    pattern: str
    mode: FaultMode
    remaining: int
    status: int
    after: int = 0  # matching requests let through before the fault applies


class _Handler(BaseHTTPRequestHandler):
    server_version = "nginx"
    sys_version = ""

    def do_GET(self) -> None:
        cast(_HTTPServer, self.server).fake.serve(self)

    do_POST = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: ``FakeStripeServer.request_log`` is the record."""


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeStripeServer


class FakeStripeServer(FakeStripeAccount):
    """The account served over HTTP. Start it (or use it as a context manager), point
    ``StripeClient(base_addresses={"api": fake.url})`` at it, and drive it from the test."""

    def __init__(self, *, webhook_secrets: tuple[str, ...] = ("whsec_fake_stripe",)) -> None:
        super().__init__()
        self.webhook_secrets = list(webhook_secrets)
        self.webhook_url: str | None = None
        self.request_log: list[LoggedRequest] = []
        self._idempotency: dict[tuple[str, str], _Saved] = {}
        self._executions: Counter[tuple[str, str]] = Counter()
        self._faults: list[_Fault] = []
        self._latency: list[tuple[str, float]] = []
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle ---------------------------------------------------------------------
    def start(self) -> FakeStripeServer:
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        self.public_url = self.url
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> FakeStripeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._httpd is not None, "the fake Stripe server is not running"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    # ---- failure injection -------------------------------------------------------------
    def fail_next(
        self,
        path: str,
        times: int = 1,
        *,
        mode: FaultMode = "error",
        status: int = 500,
        method: str = "POST",
        after: int = 0,
    ) -> None:
        """Make the next ``times`` requests whose path matches ``path`` (fnmatch) fail
        (after letting ``after`` of them through: a list that fails on its third page).

        ``error``: answer ``status`` before reaching the endpoint (nothing executes, nothing
        is saved under the idempotency key); ``drop``: close the connection without answering,
        also before executing; ``crash``: execute and save, then close the connection — a
        lost response."""
        with self.lock:
            self._faults.append(_Fault(method.upper(), path, mode, times, status, after))

    def crash_after_executing(self, path: str, times: int = 1, *, method: str = "POST") -> None:
        self.fail_next(path, times, mode="crash", method=method)

    def set_latency(self, seconds: float, path: str = "*") -> None:
        """Delay matching requests by ``seconds`` while their idempotency key is in flight
        (a concurrent request with the same key gets 409 ``idempotency_key_in_use``)."""
        with self.lock:
            self._latency.append((path, seconds))

    def executions(self, idempotency_key: str, api_key: str | None = None) -> int:
        """How many times requests with this key actually ran an endpoint (replays excluded)."""
        with self.lock:
            return sum(
                n
                for (key, idem), n in self._executions.items()
                if idem == idempotency_key and api_key in (None, key)
            )

    def in_flight(self, idempotency_key: str) -> bool:
        """Whether a request with this key is executing right now (for concurrency tests)."""
        with self.lock:
            return any(
                idem == idempotency_key and saved.response is None
                for (_, idem), saved in self._idempotency.items()
            )

    # ---- webhooks ----------------------------------------------------------------------
    def signed_event(
        self,
        event: Obj | str,
        *,
        timestamp: int | None = None,
        webhook_secrets: list[str] | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """The event's raw body (the same bytes on every delivery) and the headers Stripe sends
        with it, signed with every secret in ``webhook_secrets``. For Django's test client:
        ``client.post(url, body, content_type="application/json", headers=headers)``."""
        body = self.event_body(event if isinstance(event, str) else event["id"])
        t = int(time.time()) if timestamp is None else timestamp
        signature = stripe_signature(body, t, webhook_secrets or self.webhook_secrets)
        return body, {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": signature,
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }

    def deliver(self, event: Obj | str, url: str | None = None) -> int:
        """POST one signed event (again, if already delivered: same id and body, fresh
        signature) to ``url`` or ``webhook_url``; returns the endpoint's status code."""
        target = url or self.webhook_url
        assert target, "no webhook URL: pass url= or set fake.webhook_url"
        body, headers = self.signed_event(event)
        return requests.post(target, data=body, headers=headers, timeout=10).status_code

    def deliver_all(
        self,
        url: str | None = None,
        *,
        times: int = 1,
        shuffle: bool = False,
        seed: int | None = None,
    ) -> list[int]:
        """Deliver every event emitted so far, each ``times`` times, optionally shuffled."""
        batch = [event["id"] for event in self.events] * times
        if shuffle:
            random.Random(seed).shuffle(batch)
        return [self.deliver(event_id, url) for event_id in batch]

    # ---- HTTP --------------------------------------------------------------------------
    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        """Answer one request: faults, API key, idempotency (replay, mismatch, in flight), run."""
        method, split = handler.command, urlsplit(handler.path)
        path = split.path
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length).decode() if length else split.query
        idem = handler.headers.get("Idempotency-Key") if method == "POST" else None

        def log(outcome: str, status: int | None) -> None:
            with self.lock:
                self.request_log.append(
                    LoggedRequest(method, path, idem, outcome, status, split.query)
                )

        if method == "GET" and path.rstrip("/") == "/v3":
            log("script", 200)
            return self._send(
                handler, 200, STRIPE_JS.read_bytes(), content_type="application/javascript"
            )
        if path.startswith(AUTHENTICATE_PATH) and method in ("GET", "POST"):
            return log("authentication_page", self._authentication_page(handler, method, path, raw))
        fault = self._take_fault(method, path)
        if fault and fault.mode == "drop":
            log("dropped", None)
            return self._drop(handler)
        if fault and fault.mode == "error":
            log("injected_error", fault.status)
            error = ApiError(fault.status, "api_error", "Injected failure (fake Stripe).")
            return self._send(handler, fault.status, error.to_json())
        try:
            params = parse_form(raw)
            header = handler.headers.get("Authorization")
            api_key = self._browser_key(method, path, params) if not header else None
            api_key = api_key or self._authenticate(header)
        except ApiError as exc:
            log("rejected", exc.status)
            return self._send(handler, exc.status, exc.to_json())
        scope = (api_key, idem) if idem else None
        if scope:
            fingerprint = json.dumps([method, path, params], sort_keys=True)
            with self.lock:
                saved = self._idempotency.get(scope)
                if saved is None:  # this request owns the key until it has a result
                    self._idempotency[scope] = _Saved(fingerprint)
            if saved is not None:
                return self._replay_or_refuse(handler, saved, fingerprint, scope[1], log)
        time.sleep(self._latency_for(path))
        request_id = new_id("req", 14)
        status, body, keep = self.execute(
            method, path, params, request_id=request_id, idempotency_key=idem
        )
        if scope:
            with self.lock:
                if keep:
                    self._executions[scope] += 1
                    self._idempotency[scope].response = (status, body, request_id)
                else:  # validation failed before the endpoint ran: Stripe saves nothing
                    del self._idempotency[scope]
        if fault and fault.mode == "crash":
            log("crashed", None)
            return self._drop(handler)
        log("executed" if keep else "rejected", status)
        self._send(handler, status, body, {"Request-Id": request_id}, idem)

    def _authentication_page(
        self, handler: BaseHTTPRequestHandler, method: str, path: str, raw: str
    ) -> int:
        """The bank's 3-D Secure page a card that requires authentication is sent to (as
        Stripe's test page: complete or fail). GET shows it; its form POSTs the answer, and
        the browser is sent back to the ``return_url`` with Stripe's query. Returns the status."""
        intent_id = path[len(AUTHENTICATE_PATH) :].strip("/")
        fields = parse_qs(raw)
        secret = (fields.get("client_secret") or [""])[0]
        try:
            if method == "POST":
                approve = (fields.get("outcome") or [""])[0] == "complete"
                location = self.authenticate(intent_id, secret, approve=approve)
                handler.send_response(303)
                handler.send_header("Location", location)
                handler.send_header("Content-Length", "0")
                handler.end_headers()
                return 303
            with self.lock:
                intent = copy.deepcopy(self._find("payment_intent", intent_id, "intent"))
        except ApiError as exc:
            page = AUTHENTICATION_PAGE.format(
                amount="", body=f"<p>{html.escape(exc.body['message'])}</p>"
            )
            self._send(handler, 400, page.encode(), content_type=HTML)
            return 400
        if secret != intent["client_secret"] or intent["status"] != "requires_action":
            page = AUTHENTICATION_PAGE.format(
                amount="", body="<p>This payment is not waiting for authentication.</p>"
            )
            self._send(handler, 400, page.encode(), content_type=HTML)
            return 400
        amount = f"{intent['amount']:,} {intent['currency'].upper()}"
        form = AUTHENTICATION_FORM.format(action=html.escape(path), secret=html.escape(secret))
        page = AUTHENTICATION_PAGE.format(amount=html.escape(amount), body=form)
        self._send(handler, 200, page.encode(), content_type=HTML)
        return 200

    def _replay_or_refuse(
        self,
        handler: BaseHTTPRequestHandler,
        saved: _Saved,
        fingerprint: str,
        idem: str,
        log: Log,
    ) -> None:
        if saved.fingerprint != fingerprint:
            error = ApiError(
                400,
                "idempotency_error",
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{idem}' if you meant to "
                "execute a different request.",
            )
            log("rejected", 400)
            return self._send(handler, 400, error.to_json(), idem=idem)
        if saved.response is None:
            error = ApiError(
                409,
                "invalid_request_error",
                "There is currently another in-progress request "
                "using this idempotency key. Try again later.",
                code="idempotency_key_in_use",
            )
            log("rejected", 409)
            return self._send(handler, 409, error.to_json(), idem=idem)
        status, body, original = saved.response
        log("replayed", status)
        headers = {"Idempotent-Replayed": "true", "Original-Request": original}
        return self._send(handler, status, body, headers | {"Request-Id": new_id("req", 14)}, idem)

    @staticmethod
    def _authenticate(header: str | None) -> str:
        scheme, _, key = (header or "").partition(" ")
        if not key:
            raise ApiError(
                401,
                "invalid_request_error",
                "You did not provide an API key. You need to "
                "provide your API key in the Authorization header, using Bearer auth (e.g. "
                "'Authorization: Bearer YOUR_SECRET_KEY').",
            )
        if scheme != "Bearer" or not key.startswith("sk_test_"):
            masked = key[:8] + "*" * max(len(key) - 12, 0) + key[-4:]
            raise ApiError(401, "invalid_request_error", f"Invalid API Key provided: {masked}")
        return key

    def _browser_key(self, method: str, path: str, params: Obj) -> str | None:
        """Stripe.js in the patient's browser calls with the publishable key and the intent's
        client secret (never the secret key): it may read that one intent and confirm it,
        nothing else. Returns the key, or None when the call carries no publishable key."""
        key = params.get("key")
        if not isinstance(key, str) or not key.startswith("pk_test_"):
            return None
        parts = path.strip("/").split("/")
        allowed = parts[:2] == ["v1", "payment_intents"] and (
            (method == "POST" and len(parts) == 4 and parts[3] == "confirm")
            or (method == "GET" and len(parts) == 3)
        )
        if not allowed:
            raise ApiError(
                401,
                "invalid_request_error",
                "This API call cannot be made with a publishable API key.",
            )
        with self.lock:
            intent = self._objects.get(parts[2])
        if intent is None or params.get("client_secret") != intent.get("client_secret"):
            raise ApiError(
                400,
                "invalid_request_error",
                "The client_secret provided does not match the client_secret associated with "
                "the PaymentIntent.",
                param="client_secret",
            )
        del params["key"], params["client_secret"]
        return key

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        with self.lock:
            for fault in self._faults:
                if fault.remaining and fault.method == method and fnmatchcase(path, fault.pattern):
                    if fault.after:
                        fault.after -= 1
                        return None
                    fault.remaining -= 1
                    return fault
        return None

    def _latency_for(self, path: str) -> float:
        with self.lock:
            return sum(seconds for pattern, seconds in self._latency if fnmatchcase(path, pattern))

    @staticmethod
    def _drop(handler: BaseHTTPRequestHandler) -> None:
        handler.close_connection = True
        with contextlib.suppress(OSError):  # the client may already have gone
            handler.connection.shutdown(socket.SHUT_RDWR)

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        headers: dict[str, str] | None = None,
        idem: str | None = None,
        content_type: str = "application/json",
    ) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        # Stripe's API answers the browser's Stripe.js from another origin.
        handler.send_header("Access-Control-Allow-Origin", "*")
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Stripe-Version", API_VERSION)
        if idem:
            handler.send_header("Idempotency-Key", idem)
        if status == 401:
            handler.send_header("WWW-Authenticate", 'Bearer realm="Stripe"')
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)
