"""The audit trail for auditors (role ``auditor``): read-only, newest first."""

from __future__ import annotations

import re
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from config.api import fields as api_fields
from config.api.pagination import StrictPageSize
from config.api.permissions import allow
from config.audit.models import ActorKind, AuditCategory, AuditEvent, AuditOutcome
from config.audit.selectors import audit_events
from config.identity.models import Role

IsAuditor = allow(roles=(Role.AUDITOR,))


class AuditCursorPagination(StrictPageSize, CursorPagination):
    ordering = "-id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

    def decode_cursor(self, request: Request) -> Cursor | None:
        """A cursor we did not issue is a bad parameter (400); its position is a row id."""
        invalid = serializers.ValidationError(
            {self.cursor_query_param: [self.invalid_cursor_message]}, code="invalid"
        )
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise invalid from None
        position = cursor.position if cursor is not None else None
        if position is not None and not re.fullmatch(r"[0-9]{1,18}", str(position)):
            raise invalid
        return cursor


class AuditEventOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "day",
            "seq",
            "occurred_at",
            "category",
            "action",
            "outcome",
            "actor_kind",
            "actor_id",
            "actor_label",
            "terminal",
            "target_type",
            "target_id",
            "client_address",
            "request_id",
            "detail",
            "prev_hash",
            "hash",
        ]


class AuditEventListApi(generics.ListAPIView):
    """The audit trail, newest first, cursor-paginated; filters are exact matches."""

    permission_classes = [IsAuditor]
    serializer_class = AuditEventOutputSerializer
    pagination_class = AuditCursorPagination

    class FilterSerializer(serializers.Serializer):
        day = api_fields.DateField(required=False)
        category = serializers.ChoiceField(AuditCategory.choices, required=False)
        action = serializers.CharField(required=False, max_length=64)
        outcome = serializers.ChoiceField(AuditOutcome.choices, required=False)
        actor_kind = serializers.ChoiceField(ActorKind.choices, required=False)
        actor = serializers.CharField(
            required=False, max_length=150, help_text="username or device"
        )
        target_type = serializers.CharField(required=False, max_length=64)
        target_id = serializers.CharField(required=False, max_length=64)

    @extend_schema(tags=["audit"], parameters=[FilterSerializer])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[AuditEvent]:
        params = self.FilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        return audit_events(
            day=data.get("day"),
            category=data.get("category", ""),
            action=data.get("action", ""),
            outcome=data.get("outcome", ""),
            actor=data.get("actor", ""),
            target_type=data.get("target_type", ""),
            target_id=data.get("target_id", ""),
            actor_kind=data.get("actor_kind", ""),
        )
