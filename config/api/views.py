"""Frame endpoints: staff token exchange and the health check."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from billing.services.identity import token_issue
from config.api.permissions import staff_roles


class AuthTokenThrottle(AnonRateThrottle):
    scope = "auth_token"


class AuthTokenCreateApi(APIView):
    """Exchange a staff username and password for an expiring API token."""

    authentication_classes: list[type] = []
    permission_classes: list[type] = []
    throttle_classes = [AuthTokenThrottle]

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=128, style={"input_type": "password"})

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()
        expires_at = serializers.DateTimeField()
        roles = serializers.ListField(child=serializers.CharField())

    @extend_schema(
        request=InputSerializer, responses={201: OutputSerializer}, auth=[], tags=["auth"]
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, key = token_issue(**data.validated_data)
        out = {
            "token": key,
            "expires_at": token.expires_at,
            "roles": sorted(staff_roles(token.user)),
        }
        return Response(self.OutputSerializer(out).data, status=201)


def _broker_reachable() -> tuple[bool, str]:
    if not settings.REDIS_URL:
        return True, "in-process (embedded default)"
    from config.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return False, type(exc).__name__
    return True, "redis"


@extend_schema(
    auth=[],
    tags=["health"],
    responses={
        200: inline_serializer(
            "Health",
            {
                "status": serializers.CharField(),
                "database": serializers.DictField(),
                "broker": serializers.DictField(),
            },
        )
    },
)
def healthz(request: HttpRequest) -> JsonResponse:
    """Database and broker reachability; 503 when either is down."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        db_ok, db_info = True, connection.vendor
    except Exception as exc:
        db_ok, db_info = False, type(exc).__name__
    broker_ok, broker_info = _broker_reachable()
    ok = db_ok and broker_ok
    return JsonResponse(
        {
            "status": "ok" if ok else "unavailable",
            "database": {"ok": db_ok, "info": db_info},
            "broker": {"ok": broker_ok, "info": broker_info},
        },
        status=200 if ok else 503,
    )
