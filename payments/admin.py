"""Django admin for payments. Terminals are registered here (or with ``manage.py
create_terminal``); cashier sessions are read-only (they change only through the cashier
API); parked task deliveries, which need a person, are listed with a requeue action."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from billing.admin import ReadOnlyAdmin
from payments.models import CashierSession, TaskDelivery, Terminal
from payments.services.cashier.terminals import terminal_create
from payments.task_deliveries import task_delivery_requeue


@admin.register(Terminal)
class TerminalAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "card_reader_id", "cash_account", "is_active"]
    search_fields = ["code", "name"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # The code names the drawer's ledger account: fixed once created.
        return ["code", "cash_account", "created_at"] if obj else ["cash_account", "created_at"]

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [] if obj else ["cash_account"]

    def save_model(self, request: HttpRequest, obj: Terminal, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created = terminal_create(code=obj.code, name=obj.name, card_reader_id=obj.card_reader_id)
        obj.pk, obj.cash_account = created.pk, created.cash_account
        obj._state.adding = False


@admin.register(CashierSession)
class CashierSessionAdmin(admin.ModelAdmin):
    list_display = [
        "public_id",
        "terminal",
        "cashier",
        "status",
        "opening_float",
        "counted_cash",
        "variance",
        "opened_at",
    ]
    list_filter = ["status", "terminal"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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
