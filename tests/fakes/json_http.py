"""What the fakes that answer JSON over HTTP share: a quiet handler that writes a JSON
answer, and a loopback server on an ephemeral port run by a background thread."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class JsonHandler(BaseHTTPRequestHandler):
    """``self.server.state`` is the fake's state; ``answer_json`` writes one answer."""

    def state(self) -> Any:
        return getattr(self.server, "state")  # noqa: B009 - set by LoopbackServer

    def body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def answer_json(self, status: int, answer: Any) -> None:
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: Any


class LoopbackServer:
    """Serves ``handler`` with ``state`` on 127.0.0.1 (an ephemeral port) between
    ``start()`` and ``stop()``."""

    def __init__(self, handler: type[JsonHandler], state: Any) -> None:
        self._server = _Server(("127.0.0.1", 0), handler)
        self._server.state = state
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
