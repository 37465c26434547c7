"""Django admin: receipts are read-only (immutable once issued); messages are read-only
too, with recipients masked, and failed ones can be queued again (resend action)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from config.admin import ReadOnlyAdmin
from notifications.models import Message, MessageStatus, Receipt
from notifications.services.messages import message_requeue


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


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "channel",
        "template",
        "recipient_masked",
        "status",
        "attempts",
        "last_error",
        "created_at",
    ]
    list_filter = [FailedFilter, "status", "channel", "template"]
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
        "receipt",
        "invoice",
    ]
    fields = tuple(readonly_fields)
    actions = ["resend"]

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
