"""Django admin: receipts are read-only (immutable once issued); messages are read-only
too, with recipients masked, and failed ones can be queued again (resend action). The
messages' *Volume* page counts them per channel and day, with the Zalo messages that fell
back; the Zalo connection shows its expiry and quota, never a token."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils import timezone

from config.admin import ReadOnlyAdmin
from notifications.models import Message, MessageStatus, Receipt, ZaloToken
from notifications.selectors import message_volume
from notifications.services.messages import message_requeue

VOLUME_DAYS = 30


@admin.register(Receipt)
class ReceiptAdmin(ReadOnlyAdmin):
    list_display = ["display_number", "kind", "channel", "amount", "currency", "issued_at"]
    list_filter = ["kind", "channel", "symbol"]
    search_fields = ["verification_code", "payment__public_id"]
    # The content holds the buyer's name: shown only on the detail page, never in lists.
    fields = [
        "kind",
        "channel",
        "form",
        "symbol",
        "number",
        "issued_at",
        "amount",
        "currency",
        "verification_code",
        "payment",
        "refund",
        "reverses",
        "content",
    ]


class FailedFilter(admin.SimpleListFilter):
    title = "delivery"
    parameter_name = "delivery"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("failed", "Failed (needs a person)"), ("pending", "Queued or sending")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Message]) -> QuerySet[Message]:
        if self.value() == "failed":
            return queryset.filter(status=MessageStatus.FAILED)
        if self.value() == "pending":
            return queryset.filter(status__in=[MessageStatus.QUEUED, MessageStatus.SENDING])
        return queryset


class FallbackFilter(admin.SimpleListFilter):
    title = "fallback"
    parameter_name = "fallback"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("fell_back", "Fell back to another channel"),
            ("instead", "Sent instead of a Zalo message"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Message]) -> QuerySet[Message]:
        if self.value() == "fell_back":
            return queryset.filter(fallback__isnull=False)
        if self.value() == "instead":
            return queryset.filter(fallback_of__isnull=False)
        return queryset


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "channel",
        "template",
        "recipient_masked",
        "status",
        "attempts",
        "fallback_of",
        "last_error",
        "created_at",
    ]
    list_filter = [FailedFilter, FallbackFilter, "status", "channel", "template", "created_at"]
    date_hierarchy = "created_at"
    # Never the recipient or the body in clear (the body of a pay-link SMS is a credential).
    readonly_fields = [
        "channel",
        "template",
        "recipient_masked",
        "status",
        "attempts",
        "provider_message_id",
        "last_error",
        "next_attempt_at",
        "created_at",
        "sent_at",
        "delivered_at",
        "read_at",
        "fallback_of",
        "receipt",
        "invoice",
    ]
    fields = tuple(readonly_fields)
    actions = ["resend"]

    def get_urls(self) -> list[URLPattern]:
        volume = path(
            "volume/",
            self.admin_site.admin_view(self.volume_view),
            name="notifications_message_volume",
        )
        return [volume, *super().get_urls()]

    def volume_view(self, request: HttpRequest) -> HttpResponse:
        """Messages per channel per day over the last ``VOLUME_DAYS`` days."""
        today = timezone.localdate()
        rows = message_volume(since=today - timedelta(days=VOLUME_DAYS - 1), until=today)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Messages per channel and day (last {VOLUME_DAYS} days)",
            "rows": rows,
            "zalo": ZaloToken.objects.first(),
        }
        return TemplateResponse(request, "admin/notifications/message/volume.html", context)

    @admin.display(description="recipient")
    def recipient_masked(self, message: Message) -> str:
        return message.recipient_masked

    @admin.action(description="Resend the selected failed messages")
    def resend(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        queued = sum(message_requeue(message=message) for message in queryset)
        skipped = queryset.count() - queued
        self.message_user(
            request,
            f"{queued} message(s) queued again"
            + (f"; {skipped} skipped (only failed messages are resent)" if skipped else "."),
            messages.SUCCESS,
        )


@admin.register(ZaloToken)
class ZaloTokenAdmin(ReadOnlyAdmin):
    """The Official Account's connection: never the tokens themselves."""

    list_display = [
        "app_id",
        "version",
        "expires_at",
        "needs_authorization",
        "remaining_quota",
        "daily_quota",
        "refreshed_at",
    ]
    fields = [
        "app_id",
        "version",
        "expires_at",
        "refreshed_at",
        "needs_authorization",
        "last_error",
        "lease_until",
        "daily_quota",
        "remaining_quota",
        "quota_seen_at",
    ]
