"""Django admin for devices: listed, and revoked with an action. Created with ``manage.py
create_device`` (the key is printed once); staff users are Django's own users and groups."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from config.identity.models import Device
from config.identity.services import device_revoke


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    """Devices are created with ``manage.py create_device`` (the key is printed once)."""

    list_display = ["name", "kind", "key_hint", "card_reader_id", "revoked_at", "last_seen_at"]
    list_filter = ["kind"]
    fields = ["name", "kind", "key_hint", "card_reader_id", "created_at", "revoked_at"]
    readonly_fields = ["name", "kind", "key_hint", "created_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Revoke the selected devices' keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[Device]) -> None:
        for device in queryset:
            device_revoke(device=device, by=request.user)
        self.message_user(request, f"{queryset.count()} device(s) revoked.", messages.SUCCESS)
