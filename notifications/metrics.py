"""Receipts' and messages' signals for /metrics (``config.metrics``), read at each scrape:
the time from a payment's success to its receipt (quantiles over the recent window),
succeeded payments still without a receipt, and messages failed or overdue by channel."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, F
from django.utils import timezone
from prometheus_client.registry import Collector

from config.metrics import gauge, metrics_window, recent
from notifications.models import Message, MessageStatus, Receipt
from payments.models import CAPTURED_STATUSES, Payment

# A succeeded payment without its receipt after this long is late (the task normally
# issues it within seconds of the commit).
RECEIPT_LATE_AFTER = timedelta(minutes=2)


def _quantile(sorted_values: list[float], q: float) -> float:
    index = min(round(q * (len(sorted_values) - 1)), len(sorted_values) - 1)
    return sorted_values[index]


class NotificationsCollector(Collector):
    def collect(self) -> Iterable[Any]:
        now = timezone.now()
        since = now - metrics_window()

        receipts = recent(Receipt.objects.all(), field="issued_at", since=since).filter(
            refund__isnull=True, payment__succeeded_at__isnull=False
        )
        delays = sorted(
            max(delay.total_seconds(), 0.0)
            for delay in receipts.annotate(delay=F("issued_at") - F("payment__succeeded_at"))
            .values_list("delay", flat=True)
            .iterator()
        )
        delay = gauge(
            "receipt_delay_seconds",
            "Seconds from a payment's success to its receipt, over the recent window",
            ["quantile"],
        )
        for q in (0.5, 0.99, 1.0):
            delay.add_metric([str(q)], _quantile(delays, q) if delays else 0.0)
        yield delay

        late = gauge("payments_without_receipt", "Succeeded payments whose receipt is late")
        succeeded = recent(Payment.objects.all(), field="created_at", since=now - timedelta(days=1))
        late.add_metric(
            [],
            succeeded.filter(
                status__in=CAPTURED_STATUSES,
                succeeded_at__lt=now - RECEIPT_LATE_AFTER,
                receipts__isnull=True,
            ).count(),
        )
        yield late

        failed = gauge(
            "messages_failed_recent", "Messages failed in the recent window", ["channel"]
        )
        for row in (
            recent(Message.objects.all(), field="created_at", since=since)
            .filter(status=MessageStatus.FAILED)
            .values("channel")
            .annotate(n=Count("id"))
        ):
            failed.add_metric([row["channel"]], row["n"])
        yield failed

        overdue = gauge(
            "messages_overdue", "Messages queued past their time (a lost task)", ["channel"]
        )
        stale = now - timedelta(minutes=settings.MESSAGE_STALE_MINUTES)
        for row in (
            Message.objects.filter(status=MessageStatus.QUEUED, next_attempt_at__lt=stale)
            .values("channel")
            .annotate(n=Count("id"))
        ):
            overdue.add_metric([row["channel"]], row["n"])
        yield overdue
