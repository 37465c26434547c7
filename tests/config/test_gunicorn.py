"""gunicorn as `make serve` and the systemd unit run it (gunicorn.conf.py): JSON access
lines with pay-link tokens and personal data cut out, the request id, a graceful stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests
from django.conf import settings
from django.db import connection

from tests.servers import free_port, wait_until_answering

ROOT = Path(__file__).resolve().parent.parent.parent
PAY_TOKEN = "42:1tFq9x:Zb3kP0v9aQ1yW2e3R4t5Y6u7I8o9P0aS"


def test_gunicorn_logs_json_access_lines_without_tokens_and_stops_gracefully(
    transactional_db: None, tmp_path: Path
) -> None:
    port = free_port()
    env: dict[str, Any] = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    log = (tmp_path / "gunicorn.log").open("w+")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "config.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_answering(f"{base}/healthz", server)
        response = requests.get(
            f"{base}/api/v1/pay/{PAY_TOKEN}?phone=0912345678",
            headers={"X-Request-ID": "req-gunicorn-1", "Authorization": f"PayLink {PAY_TOKEN}"},
            timeout=60,
        )
        assert response.headers["X-Request-ID"] == "req-gunicorn-1"
        # Two workers answer these; /metrics (multiprocess mode) sums both.
        session = requests.Session()
        for _ in range(20):
            requests.get(f"{base}/readyz", timeout=60)
        metrics = session.get(f"{base}/metrics", timeout=60).text
        readyz_count = sum(
            float(line.rsplit(" ", 1)[1])
            for line in metrics.splitlines()
            if line.startswith("django_http_requests_total_by_view_transport_method_total{")
            and 'view="readyz"' in line
        )
        assert readyz_count == 20
        assert "vienphi_payments_recent" in metrics
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=40) == 0
    finally:
        if server.poll() is None:
            server.kill()
    log.seek(0)
    text = log.read()
    assert PAY_TOKEN not in text
    assert "0912345678" not in text
    access = [
        json.loads(line)
        for line in text.splitlines()
        if line.startswith("{") and '"gunicorn.access"' in line
    ]
    line = next(entry for entry in access if entry["request_id"] == "req-gunicorn-1")
    assert line["path"] == "/api/v1/pay/[redacted]"
    assert line["query"] == "phone=[phone]"
    assert line["status"] == response.status_code
    assert isinstance(line["duration_ms"], float)
    assert "Shutting down: Master" in text
