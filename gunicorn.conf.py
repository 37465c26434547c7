"""gunicorn for vienphi (``make serve``, deploy/vienphi-web.service). Every value can be set
from the environment; the defaults suit one 2-4 core server behind a reverse proxy.

Shutdown is graceful: on SIGTERM or SIGINT (Ctrl-C under honcho) the master stops
accepting, each worker finishes the requests in flight (up to ``graceful_timeout``), then
exits. Access and error logs are JSON lines with pay-link tokens and personal data cut out
(``config.gunicorn_logging``). /metrics aggregates the workers' metrics through
prometheus-client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, emptied at start).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", str(2 * (os.cpu_count() or 1) + 1)))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# A request running longer than this is killed (its worker restarted): no kiosk waits that long.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Workers are recycled now and then (bounded memory), not all at once.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "500"))
# The reverse proxy's address: only it may set X-Forwarded-Proto / X-Forwarded-For.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
if Path("/dev/shm").is_dir():  # noqa: S108 - the workers' heartbeat files on tmpfs
    worker_tmp_dir = "/dev/shm"  # noqa: S108
proc_name = "vienphi"

accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
logger_class = "config.gunicorn_logging.JsonLogger"

os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(_HERE / "var" / "prometheus"))


def on_starting(server: Any) -> None:
    """The metrics of a previous run are not this run's: start from an empty directory."""
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    """A worker's live gauges leave with it (its counters stay summed)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
