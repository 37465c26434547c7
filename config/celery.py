"""The Celery app. Tasks are autodiscovered in every installed app's ``tasks`` module."""

from __future__ import annotations

import os
import time
from typing import Any

from celery import Celery
from celery.beat import PersistentScheduler
from celery.signals import (
    before_task_publish,
    task_postrun,
    task_prerun,
    worker_init,
    worker_ready,
)
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("vienphi")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Database connections in the worker are reused across tasks the way Django reuses them
# across requests. Celery's Django fix-up closes them before and after every task unless
# told otherwise (it cannot know whether a connection is still good: celery#9824), and a
# new PostgreSQL connection per task costs a server process, its set-up and every prepared
# statement (bench/README.md, receipts). Instead, around each task, Django's own
# ``close_old_connections`` closes a connection that saw an error and is unusable or is
# older than ``CONN_MAX_AGE`` (0 closes it every time, as before: tests, SQLite), and
# ``CONN_HEALTH_CHECKS`` tests a reused one before its first query (a broken one is
# replaced). The fix-up then closes them only every 1,000 tasks (its count is
# of task starts and ends).
app.conf.update({"CELERY_DB_REUSE_MAX": 1000})


# The request id travels with the tasks a request causes: a header of each message sent
# while it is bound, bound again in the worker around the task (config.request_context).
REQUEST_ID_HEADER = "vienphi_request_id"
_bound_contexts: dict[str, Any] = {}


@before_task_publish.connect
def _send_request_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    from config.request_context import current_request_id

    request_id = current_request_id()
    if headers is not None and request_id and not headers.get(REQUEST_ID_HEADER):
        headers[REQUEST_ID_HEADER] = request_id


@task_prerun.connect
@task_postrun.connect
def _database_connections_checked(task: Any = None, **_: Any) -> None:
    if task is not None and task.request.is_eager:
        return  # in-process: the caller's connection, in the caller's hands
    close_old_connections()


@task_prerun.connect
def _bind_request_id(task_id: str = "", task: Any = None, **_: Any) -> None:
    from config.request_context import acceptable_request_id, bound

    if task is None or task.request.is_eager:
        return  # in-process: the caller's request id is bound already
    request_id = acceptable_request_id(getattr(task.request, REQUEST_ID_HEADER, None))
    if not request_id:
        return
    context = bound(request_id=request_id)
    context.__enter__()
    _bound_contexts[task_id] = context


@task_postrun.connect
def _unbind_request_id(task_id: str = "", **_: Any) -> None:
    context = _bound_contexts.pop(task_id, None)
    if context is not None:
        context.__exit__(None, None, None)


@worker_init.connect
def _fonts_parsed(**_: Any) -> None:
    """The PDF fonts parsed before the pool starts (``config.pdf.fonts_parse``): a
    receipt's task right after a start does not wait for them."""
    from config.pdf import fonts_parse

    fonts_parse()


@worker_ready.connect
def _worker_ready(**kwargs: Any) -> None:
    from config.heartbeats import worker_heartbeat_start

    worker_heartbeat_start(**kwargs)


class HeartbeatScheduler(PersistentScheduler):
    """Beat's scheduler, recording a heartbeat (at most every 5 s) each time it ticks, so
    ``/readyz`` can tell that beat is running."""

    _last_beat = 0.0

    def tick(self, *args: Any, **kwargs: Any) -> float:
        from config.heartbeats import BEAT, heartbeat_record

        delay: float = super().tick(*args, **kwargs)
        now = time.monotonic()
        if now - self._last_beat >= 5:
            heartbeat_record(BEAT)
            self._last_beat = now
        return delay
