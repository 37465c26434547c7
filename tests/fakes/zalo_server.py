"""A fake Zalo: ZNS template messages and the Official Account's OAuth token endpoint, a real
HTTP server speaking Zalo's published request, answer and error format, and Zalo's signed
webhook events for the tests to deliver.

* ``POST /message/template`` (header ``access_token``; JSON ``phone``, ``template_id``,
  ``template_data``, ``tracking_id``): HTTP 200 always, ``error`` 0 with ``msg_id``,
  ``sent_time`` and the quota, or Zalo's codes: -124 unknown token, -220 expired token,
  -100 not JSON, -108 phone invalid, -118 no Zalo account (``no_zalo``), -114 cannot receive
  (``cannot_receive``), -109 template unknown, -111 data empty, -112 data invalid (a missing
  or extra parameter, a value longer than its type), -115 out of quota (the number is
  (check), the fake's choice). ``fail_next(code)`` answers the next sends with a code, or
  ``"http503"``. Like Zalo as far as anyone documents it, **no deduplication** on
  ``tracking_id``: the tests prove we never send twice.
* ``POST /v4/oa/access_token`` (form, header ``secret_key``): a refresh token is single-use;
  a reused or unknown one is refused (``-14014``, an invented code: Zalo's are (check)), a
  wrong app secret too (``-14002``, invented); ``issue_code()`` makes a single-use
  authorization code for ``grant_type=authorization_code``. ``refresh_calls`` counts every call;
  ``refreshes_waiting`` is released as each arrives; ``hold_refreshes()`` keeps them waiting
  until ``release_refreshes()``.
* ``signed_event(name, msg_id)``: ``(body, headers)`` of a webhook event, signed
  ``mac=sha256(app_id + body + timestamp + OA secret key)``.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.json_http import JsonHandler, LoopbackServer

APP_ID = "1743556593977626805"
APP_SECRET = "fake-zalo-app-secret"
OA_SECRET_KEY = "fake-zalo-oa-secret-key"
OA_ID = "579745863508352884"
# The hospital's approved templates: id -> parameter -> maximum length of its type.
_HOSPITAL_AMOUNT = {"hospital_name": 30, "amount": 20}
TEMPLATES = {
    "1001": {**_HOSPITAL_AMOUNT, "invoice_code": 30, "pay_url": 200},
    "1002": {**_HOSPITAL_AMOUNT, "receipt_code": 30, "paid_at": 20, "receipt_url": 200},
    "1003": {**_HOSPITAL_AMOUNT, "refund_code": 30, "refunded_at": 20, "receipt_url": 200},
}
TEMPLATE_IDS = "pay_link=1001,receipt=1002,refund_receipt=1003"
TOKEN_LIFETIME_SECONDS = 90_000  # 25 h, as Zalo's OA tokens
CANNOT_RECEIVE = (
    "User is inactive, or reject the message, or using an outdated Zalo version, or other "
    "internal errors"
)
ERRORS = {
    -100: "Unknown error",
    -108: "Phone number invalid",
    -109: "Template ID invalid",
    -111: "Template data empty",
    -112: "Template data invalid",
    -114: CANNOT_RECEIVE,
    -115: "Out of quota",
    -118: "Zalo account not existed",
    -124: "Access token invalid",
    -220: "access_token is expired or removed",
}


@dataclass
class FakeZalo:
    url: str = ""
    daily_quota: int = 500
    remaining_quota: int = 500
    access_tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry (epoch)
    refresh_tokens: set[str] = field(default_factory=set)
    codes: set[str] = field(default_factory=set)  # authorization codes, single-use
    refresh_calls: int = 0
    sends: list[dict[str, Any]] = field(default_factory=list)  # every send request's body
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)  # accepted, by msg_id
    no_zalo: set[str] = field(default_factory=set)  # phones, 84… form
    cannot_receive: set[str] = field(default_factory=set)
    _faults: list[int | str] = field(default_factory=list)
    _refresh_gate: threading.Event = field(default_factory=threading.Event)
    refreshes_waiting: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._refresh_gate.set()

    # --- test hooks --------------------------------------------------------------------

    def issue_pair(self) -> tuple[str, str]:
        """A new access and refresh token, as the OA's first authorisation gives."""
        with self._lock:
            return self._new_pair()

    def issue_code(self) -> str:
        """An authorization code, as Zalo gives the app after the OA's admin allowed it."""
        with self._lock:
            code = secrets.token_urlsafe(16)
            self.codes.add(code)
            return code

    def expire_access_tokens(self) -> None:
        with self._lock:
            self.access_tokens = dict.fromkeys(self.access_tokens, 0.0)

    def fail_next(self, fault: int | str, times: int = 1) -> None:
        """The next ``times`` sends answer ZNS error ``fault`` (or ``"http503"``)."""
        with self._lock:
            self._faults.extend([fault] * times)

    def forget_calls(self) -> None:
        """Start counting token calls (``refresh_calls``, ``refreshes_waiting``) from zero."""
        with self._lock:
            self.refresh_calls = 0
            self.refreshes_waiting = threading.Semaphore(0)

    def hold_refreshes(self) -> None:
        self._refresh_gate.clear()

    def release_refreshes(self) -> None:
        self._refresh_gate.set()

    def signed_event(
        self,
        event_name: str,
        msg_id: str,
        *,
        app_id: str = APP_ID,
        secret: str = OA_SECRET_KEY,
        timestamp_in: str = "body",
    ) -> tuple[bytes, dict[str, str]]:
        """A webhook event as Zalo posts it: its bytes and headers."""
        now = str(int(time.time() * 1000))
        event: dict[str, Any] = {
            "event_name": event_name,
            "app_id": app_id,
            "sender": {"id": OA_ID},
            "recipient": {"id": "8361729405518237451"},
            "message": {"msg_id": msg_id, "delivery_time": now},
        }
        if timestamp_in == "body":
            event["timestamp"] = now
        body = json.dumps(event).encode()
        mac = hashlib.sha256(app_id.encode() + body + now.encode() + secret.encode()).hexdigest()
        headers = {"X-ZEvent-Signature": f"mac={mac}"}
        if timestamp_in == "header":
            headers["X-ZEvent-Timestamp"] = now
        return body, headers

    # --- the endpoints -----------------------------------------------------------------

    def _new_pair(self) -> tuple[str, str]:
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self.access_tokens[access] = time.time() + TOKEN_LIFETIME_SECONDS
        self.refresh_tokens.add(refresh)
        return access, refresh

    def send(self, token: str, raw: bytes) -> dict[str, Any]:
        with self._lock:
            try:
                body = json.loads(raw)
            except ValueError:
                return _error(-100)
            self.sends.append(body)
            expiry = self.access_tokens.get(token)
            if expiry is None:
                return _error(-124)
            if expiry <= time.time():
                return _error(-220)
            fault = self._faults.pop(0) if self._faults else None
            if isinstance(fault, int):
                return _error(fault)
            if fault == "http503":
                return {"_status": 503}
            return self._accept(body)

    def _accept(self, body: dict[str, Any]) -> dict[str, Any]:
        phone = str(body.get("phone", ""))
        if not re.fullmatch(r"(84|0)?\d{9,10}", phone):
            return _error(-108)
        if phone in self.no_zalo:
            return _error(-118)
        if phone in self.cannot_receive:
            return _error(-114)
        template = TEMPLATES.get(str(body.get("template_id", "")))
        if template is None:
            return _error(-109)
        data = body.get("template_data")
        if not data:
            return _error(-111)
        if set(data) != set(template) or any(
            not isinstance(v, str) or len(v) > template[k] for k, v in data.items()
        ):
            return _error(-112)
        if self.remaining_quota <= 0:
            return _error(-115)
        self.remaining_quota -= 1
        msg_id = secrets.token_hex(16)
        sent_time = str(int(time.time() * 1000))
        self.messages[msg_id] = {**body, "sent_time": sent_time}
        quota = {"dailyQuota": str(self.daily_quota), "remainingQuota": str(self.remaining_quota)}
        data_out = {"msg_id": msg_id, "sent_time": sent_time, "sending_mode": "1", "quota": quota}
        return {"error": 0, "message": "Success", "data": data_out}

    def token(self, secret_key: str, form: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            self.refresh_calls += 1
        self.refreshes_waiting.release()
        self._refresh_gate.wait(timeout=30)
        with self._lock:
            if secret_key != APP_SECRET or form.get("app_id") != APP_ID:
                return {"error": -14002, "error_name": "Invalid secret key"}
            grant = form.get("grant_type")
            if grant == "authorization_code":
                if form.get("code", "") not in self.codes:
                    return {"error": -14019, "error_name": "Invalid authorization code"}
                self.codes.discard(form["code"])
            elif grant == "refresh_token":
                refresh = form.get("refresh_token", "")
                if refresh not in self.refresh_tokens:
                    return {"error": -14014, "error_name": "Invalid refresh token"}
                self.refresh_tokens.discard(refresh)  # single use
            else:
                return {"error": -14003, "error_name": "Invalid parameter"}
            access, new_refresh = self._new_pair()
            # expires_in as a string, to exercise the parsing of both forms.
            return {
                "access_token": access,
                "refresh_token": new_refresh,
                "expires_in": str(TOKEN_LIFETIME_SECONDS),
            }


def _error(code: int) -> dict[str, Any]:
    return {"error": code, "message": ERRORS[code]}


class _Handler(JsonHandler):
    def do_POST(self) -> None:
        zalo: FakeZalo = self.state()
        raw = self.body()
        if self.path == "/message/template":
            answer = zalo.send(self.headers.get("access_token", ""), raw)
        elif self.path == "/v4/oa/access_token":
            form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            answer = zalo.token(self.headers.get("secret_key", ""), form)
        else:
            answer = {"_status": 404, "error": -106, "message": "Method unsupported"}
        self.answer_json(int(answer.pop("_status", 200)), answer)


class FakeZaloServer:
    """``with FakeZaloServer() as zalo: zalo.url`` (loopback, ephemeral port): the base of
    both ``ZALO_API_BASE`` and ``ZALO_OAUTH_BASE``."""

    def __init__(self) -> None:
        self.state = FakeZalo()
        self._server = LoopbackServer(_Handler, self.state)

    def __enter__(self) -> FakeZalo:
        self._server.start()
        self.state.url = self._server.base_url
        return self.state

    def __exit__(self, *exc: object) -> None:
        self.state.release_refreshes()
        self._server.stop()
