"""A local Sentry: accepts the SDK's envelopes (``POST /api/<project>/envelope/``) and keeps
their raw bytes, so a test reads exactly what would have left the machine."""

from __future__ import annotations

import gzip
import zlib
from typing import Any

from tests.fakes.json_http import JsonHandler, LoopbackServer


class SentryState:
    def __init__(self) -> None:
        self.envelopes: list[bytes] = []


class SentryHandler(JsonHandler):
    def do_POST(self) -> None:
        body = self.body()
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        elif encoding == "br":  # the SDK uses brotli when it is installed
            import brotli  # type: ignore[import-untyped,import-not-found,unused-ignore]

            body = brotli.decompress(body)
        elif encoding:
            raise ValueError(f"unexpected Content-Encoding {encoding!r}")
        self.state().envelopes.append(body)
        self.answer_json(200, {"id": "0" * 32})


def sentry_server() -> tuple[LoopbackServer, SentryState]:
    state = SentryState()
    return LoopbackServer(SentryHandler, state), state


def sentry_dsn(server: LoopbackServer) -> str:
    return server.base_url.replace("http://", "http://publickey@") + "/1"


__all__: list[Any] = ["SentryState", "sentry_dsn", "sentry_server"]
