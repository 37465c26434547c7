"""A real server for the HTTP path: gunicorn (as in production) serving the app on a free
port of 127.0.0.1, and curl as the client, so that no Python client sits in the measurement.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def finance_authorization() -> str:
    """An ``Authorization`` header value for a new finance user of the bench database."""
    from config.identity.models import Role
    from config.identity.services import staff_create, token_issue

    username = f"bench-finance-{time.time_ns()}"
    _, password = staff_create(username=username, role=Role.FINANCE)
    _, key = token_issue(username=username, password=password)
    return f"Token {key}"


@dataclass(frozen=True, slots=True)
class Server:
    port: int
    master_pid: int

    def worker_pid(self) -> int | None:
        """The single gunicorn worker (where requests run), from the master's children."""
        children = Path(f"/proc/{self.master_pid}/task/{self.master_pid}/children")
        try:
            pids = children.read_text().split()
        except OSError:
            return None
        return int(pids[0]) if pids else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _ready(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


@contextmanager
def gunicorn_server(*, workers: int = 1, quiet: bool = False) -> Iterator[Server]:
    """Start gunicorn (sync workers, one unless told) on the bench database; stop it on
    exit. ``quiet`` sends its output (the app's INFO log lines) to /dev/null."""
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        f"--bind=127.0.0.1:{port}",
        f"--workers={workers}",
        "--timeout=600",
        "--log-level=warning",
    ]
    output = subprocess.DEVNULL if quiet else None
    process = subprocess.Popen(  # noqa: S603 - fixed argv
        command, cwd=PROJECT_ROOT, env=os.environ.copy(), stdout=output, stderr=output
    )
    try:
        # 90 s: on the shared 2-core machine a cold start has taken over 30 s.
        deadline = time.monotonic() + 90
        while not _ready(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start serving within 90 s")
            time.sleep(0.2)
        yield Server(port=port, master_pid=process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def curl_path() -> str | None:
    return shutil.which("curl")


def curl_get(*, curl: str, port: int, path: str, authorization: str) -> int:
    """GET ``path`` with curl, discarding the body; returns the number of bytes received.

    The header goes through stdin (``-H @-``) so the token never shows in a process list.
    """
    result = subprocess.run(  # noqa: S603 - fixed argv, our own URL
        [
            curl,
            "--silent",
            "--show-error",
            "--output",
            "/dev/null",
            "--header",
            "@-",
            "--write-out",
            "%{http_code} %{size_download}",
            f"http://127.0.0.1:{port}{path}",
        ],
        input=f"Authorization: {authorization}\n",
        capture_output=True,
        text=True,
        check=True,
    )
    status, size = result.stdout.split()
    if status != "200":
        raise RuntimeError(f"GET {path} answered {status}")
    return int(size)


@contextmanager
def environment(extra: dict[str, str]) -> Iterator[None]:
    """``os.environ`` with ``extra`` set (for the servers and workers started inside),
    restored after."""
    saved = {name: os.environ.get(name) for name in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
