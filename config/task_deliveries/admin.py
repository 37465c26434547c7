"""Parked task deliveries need a person: listed (filter *Parked*) with a requeue action for
once the cause of the failure is dealt with."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from config.admin import ReadOnlyAdmin
from config.task_deliveries.models import TaskDelivery
from config.tasks import task_delivery_requeue


class ParkedFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("parked", "Parked (needs a person)"), ("in_flight", "In flight or retrying")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "parked":
            return queryset.filter(parked_at__isnull=False)
        if self.value() == "in_flight":
            return queryset.filter(parked_at__isnull=True)
        return queryset


@admin.register(TaskDelivery)
class TaskDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["task_name", "task_id", "attempts", "parked_at", "last_error", "updated_at"]
    list_filter = [ParkedFilter, "task_name"]
    search_fields = ["task_id", "task_name"]
    actions = ["requeue"]

    @admin.action(description="Requeue the selected parked tasks")
    def requeue(self, request: HttpRequest, queryset: QuerySet[TaskDelivery]) -> None:
        parked = list(queryset.filter(parked_at__isnull=False))
        for delivery in parked:
            task_delivery_requeue(delivery=delivery)
        self.message_user(request, f"{len(parked)} task(s) requeued.", messages.SUCCESS)
