"""Servers a test starts in a process of their own (gunicorn): a free port to bind, and the
wait until the server answers.

The wait is bounded only to stop a test whose server never comes up, not to time it:
gunicorn imports Django and the whole app before its worker answers, about two seconds on
an idle machine and several times that on the shared 2-CPU machine under load (a 30 s
bound failed there). Each probe gets a long timeout too: a worker still booting holds a
request that the master already accepted.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable

import requests

START_TIMEOUT = 300.0  # seconds: a hang, not a slow start
PROBE_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_answering(
    url: str,
    server: subprocess.Popen[bytes] | subprocess.Popen[str],
    *,
    headers: dict[str, str] | None = None,
    output: Callable[[], str] = lambda: "",
) -> None:
    """Polls ``url`` until ``server`` answers it (any status); fails, with ``output()``, if
    the server exits first or does not answer within ``START_TIMEOUT``."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            requests.get(url, headers=headers, timeout=PROBE_TIMEOUT)
            return
        except requests.RequestException:
            pass
        assert server.poll() is None, f"the server exited ({server.returncode}): {output()}"
        assert time.monotonic() < deadline, f"no answer from {url} in {START_TIMEOUT:.0f} s"
        time.sleep(0.2)
