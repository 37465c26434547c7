"""Payments' signals for /metrics (``config.metrics``), read from the tables at each scrape:
payments by status, channel and method in the recent window, webhook events by provider
(received, applied, parked) and the oldest unapplied one's age, the outbox waiting,
open reconciliation items and cashier sessions waiting for a supervisor."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone
from prometheus_client.registry import Collector

from config.metrics import gauge, metrics_window, oldest_age_seconds, recent
from payments.models import CashierSession, OutboxEvent, Payment, WebhookEvent
from payments.models.cashier import CashierSessionStatus
from payments.models.webhooks import ReconciliationItem, ReconciliationStatus


class PaymentsCollector(Collector):
    def collect(self) -> Iterable[Any]:
        since = timezone.now() - metrics_window()
        window = f"the last {settings.METRICS_WINDOW_MINUTES} minutes"

        payments = gauge(
            "payments_recent",
            f"Payments created in {window}, by their status now",
            ["status", "channel", "method"],
        )
        rows = recent(Payment.objects.all(), field="created_at", since=since)
        for row in rows.values("status", "channel", "method").annotate(n=Count("id")):
            payments.add_metric([row["status"], row["channel"], row["method"]], row["n"])
        yield payments

        events = recent(WebhookEvent.objects.all(), field="received_at", since=since)
        parked_q = Q(applied_at__isnull=True, attempts__gte=settings.WEBHOOK_MAX_ATTEMPTS)
        received = gauge(
            "webhook_events_received_recent", f"Events received in {window}", ["provider"]
        )
        applied = gauge("webhook_events_applied_recent", "Of those, applied", ["provider"])
        for row in events.values("provider").annotate(
            n=Count("id"), done=Count("id", filter=Q(applied_at__isnull=False))
        ):
            received.add_metric([row["provider"]], row["n"])
            applied.add_metric([row["provider"]], row["done"])
        yield received
        yield applied
        parked = gauge(
            "webhook_events_parked", "Events that failed to apply too often", ["provider"]
        )
        for row in WebhookEvent.objects.filter(parked_q).values("provider").annotate(n=Count("id")):
            parked.add_metric([row["provider"]], row["n"])
        yield parked
        lag = gauge("webhook_unapplied_oldest_seconds", "Age of the oldest unapplied event")
        lag.add_metric(
            [],
            oldest_age_seconds(WebhookEvent.objects.filter(applied_at__isnull=True), "received_at"),
        )
        yield lag

        waiting = OutboxEvent.objects.filter(published_at__isnull=True)
        outbox = gauge("outbox_waiting", "Outbox events not yet relayed to the workers")
        outbox.add_metric([], waiting.count())
        yield outbox
        outbox_age = gauge("outbox_oldest_seconds", "Age of the oldest outbox event waiting")
        outbox_age.add_metric([], oldest_age_seconds(waiting, "created_at"))
        yield outbox_age

        items = gauge("reconciliation_items_open", "Bank money not applied automatically, open")
        items.add_metric(
            [], ReconciliationItem.objects.filter(status=ReconciliationStatus.OPEN).count()
        )
        yield items

        sessions = gauge(
            "cashier_sessions_pending_approval", "Drawer closes waiting for a supervisor"
        )
        sessions.add_metric(
            [], CashierSession.objects.filter(status=CashierSessionStatus.PENDING_APPROVAL).count()
        )
        yield sessions
