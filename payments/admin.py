"""Django admin for payments. Terminals are registered here (or with ``manage.py
create_terminal``); cashier sessions are read-only (they change only through the cashier
API)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from payments.models import CashierSession, Terminal
from payments.services.cashier.terminals import terminal_create


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
