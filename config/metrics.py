"""``/metrics`` in Prometheus' text format: django-prometheus' HTTP metrics (by view, method
and status, with latency histograms) summed over the gunicorn workers through
prometheus-client's multiprocess mode, and the business signals each app computes from its
tables at scrape time (``metrics_collector_register`` from its ``AppConfig.ready``).

Access: a scraper sends ``Authorization: Bearer <METRICS_TOKEN>``, or scrapes from an
address in ``METRICS_ALLOWED_NETWORKS`` (default: this machine only). Anyone else gets 403.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from config.request_context import client_address

_COLLECTORS: list[Collector] = []


def metrics_collector_register(collector: Collector) -> None:
    """Adds a collector of business metrics, read fresh at every scrape."""
    if all(type(existing) is not type(collector) for existing in _COLLECTORS):
        _COLLECTORS.append(collector)


def metrics_window() -> timedelta:
    return timedelta(minutes=settings.METRICS_WINDOW_MINUTES)


def recent(rows: QuerySet[Any], *, field: str, since: datetime) -> QuerySet[Any]:
    """``rows`` created since ``since``, found through the primary key: ids grow with time,
    so the newest row older than ``since`` bounds the window without an index on ``field``."""
    older = rows.model._default_manager.filter(**{f"{field}__lt": since}).order_by("-pk")
    boundary = older.values_list("pk", flat=True).first()
    return rows if boundary is None else rows.filter(pk__gt=boundary)


def gauge(name: str, documentation: str, labels: Iterable[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"vienphi_{name}", documentation, labels=list(labels))


def oldest_age_seconds(rows: QuerySet[Any], field: str) -> float:
    oldest = rows.order_by(field).values_list(field, flat=True).first()
    return 0.0 if oldest is None else max((timezone.now() - oldest).total_seconds(), 0.0)


def _allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        sent = request.headers.get("Authorization", "")
        if sent.startswith("Bearer ") and hmac.compare_digest(sent[7:].strip(), token):
            return True
    address = client_address(request)
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net) for net in settings.METRICS_ALLOWED_NETWORKS)


class _Business(Collector):
    def collect(self) -> Iterable[Any]:
        for collector in _COLLECTORS:
            yield from collector.collect()


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return JsonResponse(
            {
                "error": {
                    "code": "permission_denied",
                    "message": "Metrics need the metrics token or an allowed network.",
                }
            },
            status=403,
        )
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        http = generate_latest(registry)
    else:
        http = generate_latest(REGISTRY)
    business_registry = CollectorRegistry()
    business_registry.register(_Business())
    body = http + generate_latest(business_registry)
    return HttpResponse(body, content_type="text/plain; version=0.0.4; charset=utf-8")


class FrameCollector(Collector):
    """What the frame knows: parked task deliveries (they need a person)."""

    def collect(self) -> Iterable[Any]:
        from config.task_deliveries.models import TaskDelivery

        parked = gauge("tasks_parked", "Task deliveries parked, waiting for a person")
        parked.add_metric([], TaskDelivery.objects.filter(parked_at__isnull=False).count())
        yield parked
