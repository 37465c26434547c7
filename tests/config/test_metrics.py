"""/metrics: Prometheus text with django-prometheus' HTTP metrics and the business gauges
read from the tables; only with the metrics token or from an allowed network."""

from __future__ import annotations

import re
from typing import Any

import pytest
from rest_framework.test import APIClient

from payments.models import OutboxEvent, Payment
from tests.payments.builders.payments import paid_by_transfer, payable_invoice, vietqr_payment

pytestmark = pytest.mark.django_db


def _value(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        match = re.match(r"^([a-zA-Z_:]+)(\{(.*)\})? (\S+)$", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(3) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match.group(4))
    return None


def test_metrics_from_this_machine_show_http_and_business_signals(
    anon_client: APIClient,
) -> None:
    paid = paid_by_transfer(amount=180_000, invoice=payable_invoice(180_000))
    vietqr_payment(amount=50_000)
    anon_client.get("/healthz")

    response = anon_client.get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    text = response.content.decode()
    assert (
        _value(
            text,
            "vienphi_payments_recent",
            status="succeeded",
            channel=paid.channel,
            method="vietqr",
        )
        == 1
    )
    assert _value(text, "vienphi_payments_recent", status="pending", method="vietqr") == 1
    waiting = OutboxEvent.objects.filter(published_at__isnull=True).count()
    assert _value(text, "vienphi_outbox_waiting") == waiting
    assert _value(text, "vienphi_tasks_parked") == 0
    assert _value(text, "vienphi_cashier_sessions_pending_approval") == 0
    assert _value(text, "vienphi_receipt_delay_seconds", quantile="0.5") is not None
    assert _value(text, "django_http_requests_total_by_view_transport_method_total", view="healthz")
    assert "django_http_requests_latency_seconds_by_view_method_bucket" in text
    assert Payment.objects.count() == 2


def test_metrics_refuse_other_networks_without_the_token(
    anon_client: APIClient, settings: Any
) -> None:
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    settings.METRICS_TOKEN = "metrics-secret-token"

    refused = anon_client.get("/metrics")
    wrong = anon_client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope")
    allowed = anon_client.get("/metrics", HTTP_AUTHORIZATION="Bearer metrics-secret-token")
    from_network = anon_client.get("/metrics", REMOTE_ADDR="10.1.2.3")

    assert (refused.status_code, wrong.status_code) == (403, 403)
    assert refused.json()["error"]["code"] == "permission_denied"
    assert (allowed.status_code, from_network.status_code) == (200, 200)
