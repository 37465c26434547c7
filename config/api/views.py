"""Frame endpoints: staff token exchange, liveness (/healthz) and readiness (/readyz)."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from drf_spectacular.utils import OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularSwaggerView
from kombu import Connection
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from config.api.authentication import StaffTokenAuthentication
from config.api.schema import ErrorSerializer
from config.api.throttling import FailClosed, RateFromSettings
from config.heartbeats import BEAT, WORKER, heartbeat_age
from config.identity.models import ApiToken
from config.identity.selectors import staff_roles
from config.identity.services import token_issue, token_revoke

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


class AuthTokenRevokeApi(APIView):
    """Sign out: revoke the staff token this request is made with."""

    authentication_classes = [StaffTokenAuthentication]

    @extend_schema(request=None, responses={204: None}, tags=["auth"])
    def post(self, request: Request) -> Response:
        """The token that authenticates this request stops working at once (a desk signing
        out, or a supervisor's one-off approval). Another token of the same user is not
        touched."""
        assert isinstance(request.auth, ApiToken)  # StaffTokenAuthentication's answer
        token_revoke(token=request.auth, by=request.user)
        return Response(status=204)


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
    """Liveness: the process answers. It touches nothing else, so an orchestrator never
    restarts a healthy process because the database or the broker is down (``/readyz``)."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        status = serializers.CharField(help_text="Always `ok`.")

    @extend_schema(auth=[], tags=["health"], responses={200: OutputSerializer})
    def get(self, request: Request) -> Response:
        return Response({"status": "ok"})


_migrations_seen_applied = False


def _migrations_applied() -> tuple[bool, str]:
    """Every migration on disk is applied. Once seen true it stays true for the process
    (new migrations come with new code, hence a restart)."""
    global _migrations_seen_applied
    if _migrations_seen_applied:
        return True, "applied"
    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:
        return False, type(exc).__name__
    if pending:
        return False, f"{len(pending)} pending"
    _migrations_seen_applied = True
    return True, "applied"


def _heartbeat(kind: str, max_age: int) -> tuple[bool, str]:
    if not settings.REDIS_URL:
        return True, "in-process (embedded default)"
    age = heartbeat_age(kind)
    if age is None:
        return False, "never seen"
    return age <= max_age, f"last seen {int(age)}s ago"


class ReadyApi(APIView):
    """Readiness: database reachable with every migration applied, broker reachable, a
    worker's heartbeat and beat's seen recently. 200, or 503 when any is not."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        status = serializers.CharField(help_text="`ready` or `unavailable`.")
        database = HealthCheckSerializer()
        migrations = HealthCheckSerializer()
        broker = HealthCheckSerializer()
        worker = HealthCheckSerializer()
        beat = HealthCheckSerializer()

    @extend_schema(
        auth=[], tags=["health"], responses={200: OutputSerializer, 503: OutputSerializer}
    )
    def get(self, request: Request) -> Response:
        checks = {"database": _database_reachable()}
        checks["migrations"] = (
            _migrations_applied() if checks["database"][0] else (False, "database unreachable")
        )
        checks["broker"] = _broker_reachable()
        checks["worker"] = _heartbeat(WORKER, settings.READY_WORKER_MAX_AGE_SECONDS)
        checks["beat"] = _heartbeat(BEAT, settings.READY_BEAT_MAX_AGE_SECONDS)
        ok = all(passed for passed, _ in checks.values())
        out = {
            "status": "ready" if ok else "unavailable",
            **{name: {"ok": passed, "info": info} for name, (passed, info) in checks.items()},
        }
        response = Response(self.OutputSerializer(out).data, status=200 if ok else 503)
        if not ok:
            response["Retry-After"] = "5"
        return response


class ApiDocsView(SpectacularSwaggerView):
    """Swagger UI from our own /static/, its inline init script let through by the CSP nonce."""

    template_name = "api/swagger_ui.html"
