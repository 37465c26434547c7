"""Frame endpoints: staff token exchange and the health check."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from drf_spectacular.utils import OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularSwaggerView
from kombu import Connection
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from config.api.schema import ErrorSerializer
from config.api.throttling import FailClosed, RateFromSettings
from config.identity.selectors import staff_roles
from config.identity.services import token_issue

_PROBE_TIMEOUT_SECONDS = 2


class AuthTokenThrottle(FailClosed, RateFromSettings, AnonRateThrottle):
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
        request=InputSerializer,
        responses={
            201: OutputSerializer,
            401: OpenApiResponse(
                ErrorSerializer,
                description="`invalid_credentials`: wrong username or password, or the "
                "account is disabled.",
            ),
        },
        auth=[],
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, key = token_issue(**data.validated_data, request=request._request)
        out = {
            "token": key,
            "expires_at": token.expires_at,
            "roles": sorted(staff_roles(token.user)),
        }
        return Response(self.OutputSerializer(out).data, status=201)


def _database_reachable() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        return False, type(exc).__name__
    return True, connection.vendor


def _broker_reachable() -> tuple[bool, str]:
    """Connects afresh to ``settings.REDIS_URL`` with one attempt and a short timeout.

    Not through the Celery app: it keeps the broker URL it read at start-up and retries
    with back-off, so a probe through it can answer late or about another broker.
    """
    if not settings.REDIS_URL:
        return True, "in-process (embedded default)"
    try:
        with Connection(
            settings.REDIS_URL,
            connect_timeout=_PROBE_TIMEOUT_SECONDS,
            transport_options={"socket_timeout": _PROBE_TIMEOUT_SECONDS},
        ) as conn:
            conn.ensure_connection(max_retries=0, timeout=_PROBE_TIMEOUT_SECONDS)
    except Exception as exc:
        return False, type(exc).__name__
    return True, "redis"


class HealthCheckSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    info = serializers.CharField(help_text="Backend, or the error's type when down.")


class HealthApi(APIView):
    """Database and broker reachability: 200, or 503 when either is down."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        status = serializers.CharField(help_text="`ok` or `unavailable`.")
        database = HealthCheckSerializer()
        broker = HealthCheckSerializer()

    @extend_schema(
        auth=[], tags=["health"], responses={200: OutputSerializer, 503: OutputSerializer}
    )
    def get(self, request: Request) -> Response:
        db_ok, db_info = _database_reachable()
        broker_ok, broker_info = _broker_reachable()
        ok = db_ok and broker_ok
        out = {
            "status": "ok" if ok else "unavailable",
            "database": {"ok": db_ok, "info": db_info},
            "broker": {"ok": broker_ok, "info": broker_info},
        }
        return Response(self.OutputSerializer(out).data, status=200 if ok else 503)


class ApiDocsView(SpectacularSwaggerView):
    """Swagger UI from our own /static/, its inline init script let through by the CSP nonce."""

    template_name = "api/swagger_ui.html"
