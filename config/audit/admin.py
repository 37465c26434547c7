"""The audit trail in the admin: read-only, for auditors (role ``auditor``) and admins.

An auditor is a staff user (``create_staff --role auditor`` sets ``is_staff``) who sees
this list and nothing else of the admin."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from config.admin import ReadOnlyAdmin
from config.audit.models import AuditEvent
from config.identity.models import Role
from config.identity.selectors import staff_roles


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = [
        "occurred_at",
        "action",
        "outcome",
        "actor_kind",
        "actor_label",
        "terminal",
        "target_type",
        "target_id",
        "client_address",
    ]
    list_filter = ["category", "outcome", "actor_kind", "day", "action"]
    search_fields = ["actor_label", "target_id", "request_id", "hash"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False

    def _is_auditor(self, request: HttpRequest) -> bool:
        return Role.AUDITOR in staff_roles(request.user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._is_auditor(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._is_auditor(request)
