"""A fake eSMS.vn gateway: a real HTTP server speaking ``SendMultipleMessage_V4_post_json``.

It checks the credentials and the brand name like eSMS does (``CodeResult`` 101 and 104),
accepts everything else with ``{"CodeResult": "100", "SMSID": ...}`` and records it, and
can be told to fail the next requests: ``transient`` (``CodeResult`` 99), ``http503``,
``permanent`` (``CodeResult`` 146: content not matching a registered template).
Like eSMS, a repeated ``RequestId`` is answered with the first SMSID and not sent again.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.json_http import JsonHandler, LoopbackServer

API_KEY = "fake-esms-api-key"
SECRET_KEY = "fake-esms-secret-key"
BRAND_NAME = "BV-DEMO"
PATH = "/MainService.svc/json/SendMultipleMessage_V4_post_json/"


@dataclass
class FakeSmsGateway:
    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    delivered: dict[str, dict[str, Any]] = field(default_factory=dict)  # RequestId -> SMS
    _faults: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, times: int = 1, mode: str = "transient") -> None:
        with self._lock:
            self._faults.extend([mode] * times)

    def answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests.append(body)
            if body.get("ApiKey") != API_KEY or body.get("SecretKey") != SECRET_KEY:
                return 200, {"CodeResult": "101", "ErrorMessage": "Sai ApiKey hoac SecretKey"}
            if body.get("Brandname") != BRAND_NAME:
                return 200, {"CodeResult": "104", "ErrorMessage": "Brandname khong ton tai"}
            fault = self._faults.pop(0) if self._faults else None
            if fault == "http503":
                return 503, {"Message": "Service Unavailable"}
            if fault == "transient":
                return 200, {"CodeResult": "99", "ErrorMessage": "Loi khong xac dinh"}
            if fault == "permanent":
                return 200, {"CodeResult": "146", "ErrorMessage": "Sai template"}
            request_id = str(body.get("RequestId") or uuid.uuid4())
            if request_id not in self.delivered:
                self.delivered[request_id] = {**body, "SMSID": uuid.uuid4().hex}
            return 200, {"CodeResult": "100", "SMSID": self.delivered[request_id]["SMSID"]}


class _Handler(JsonHandler):
    def do_POST(self) -> None:
        gateway: FakeSmsGateway = self.state()
        raw = self.body()
        if self.path != PATH:
            status, answer = 404, {"Message": "No HTTP resource"}
        else:
            try:
                status, answer = gateway.answer(json.loads(raw))
            except ValueError:
                status, answer = 400, {"Message": "The request is invalid."}
        self.answer_json(status, answer)


class FakeSmsGatewayServer:
    """``with FakeSmsGatewayServer() as gateway: gateway.url`` (loopback, ephemeral port)."""

    def __init__(self) -> None:
        self.state = FakeSmsGateway()
        self._server = LoopbackServer(_Handler, self.state)

    @property
    def url(self) -> str:
        return f"{self._server.base_url}{PATH}"

    def __enter__(self) -> FakeSmsGateway:
        self._server.start()
        self.state.url = self.url
        return self.state

    def __exit__(self, *exc: object) -> None:
        self._server.stop()
