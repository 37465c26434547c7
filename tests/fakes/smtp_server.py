"""A fake SMTP server (RFC 5321, the subset Django's SMTP backend speaks without TLS):
``EHLO``/``HELO``, ``MAIL``, ``RCPT``, ``DATA``, ``RSET``, ``NOOP``, ``QUIT``. It keeps
every message it accepts and can be told to answer the next ``RCPT`` with a reply code
(``fail_next_recipient(451)`` temporary, ``(550)`` permanent)."""

from __future__ import annotations

import email
import socketserver
import threading
from dataclasses import dataclass, field
from email.message import Message
from typing import cast


@dataclass
class FakeSmtp:
    host: str = "127.0.0.1"
    port: int = 0
    messages: list[Message] = field(default_factory=list)
    _faults: list[int] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next_recipient(self, code: int, times: int = 1) -> None:
        with self._lock:
            self._faults.extend([code] * times)

    def recipient_reply(self) -> int:
        with self._lock:
            return self._faults.pop(0) if self._faults else 250

    def accept(self, data: bytes) -> None:
        with self._lock:
            self.messages.append(email.message_from_bytes(data))


class _Session(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())
        self.wfile.flush()

    def handle(self) -> None:
        smtp = cast(_Server, self.server).smtp
        self.reply("220 fake-smtp ESMTP ready")
        while raw := self.rfile.readline():
            verb = raw.decode("ascii", "replace").strip().split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.reply("250-fake-smtp")
                self.reply("250 8BITMIME")
            elif verb in ("HELO", "MAIL", "RSET", "NOOP"):
                self.reply("250 OK")
            elif verb == "RCPT":
                code = smtp.recipient_reply()
                self.reply(f"{code} {'OK' if code == 250 else 'refused for the test'}")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                smtp.accept(self._data())
                self.reply("250 OK queued")
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("502 Command not implemented")

    def _data(self) -> bytes:
        lines: list[bytes] = []
        while (line := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
            lines.append(line[1:] if line.startswith(b"..") else line)
        return b"".join(lines)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    smtp: FakeSmtp


class FakeSmtpServer:
    """``with FakeSmtpServer() as smtp: smtp.port`` (loopback, ephemeral port)."""

    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Session)
        self.state = FakeSmtp(port=self._server.server_address[1])
        self._server.smtp = self.state
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeSmtp:
        self._thread.start()
        return self.state

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
