"""Z-reports: per session and per terminal and day, as JSON or a printable A4 PDF."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import fields as api_fields
from config.api.permissions import allow
from config.api.schema import ErrorTable
from config.identity.models import Role
from config.identity.selectors import staff_roles
from payments.api.cashier import staff
from payments.errors import (
    SessionNotCounted,
)
from payments.models import COUNTED_SESSION_STATUSES
from payments.selectors.cashier_sessions import session_get, terminal_get
from payments.selectors.z_report import session_report, terminal_day_report
from payments.services.cashier.report_pdf import report_pdf
from payments.services.cashier.sessions import session_check_owner

FORMAT = OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "pdf"])
RESPONSES = {
    (200, "application/json"): OpenApiResponse(OpenApiTypes.OBJECT),
    (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY),
}


class FormatSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=["json", "pdf"], default="json")


def _answer(report: dict[str, Any], fmt: str, filename: str) -> Response | HttpResponse:
    if fmt == "pdf":
        response = HttpResponse(report_pdf(report=report), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{filename}.pdf"'
        return response
    return Response(report)


class SessionReportApi(APIView):
    permission_classes = [allow(roles=(Role.CASHIER, Role.FINANCE))]
    documented_errors: ErrorTable = {"get": (SessionNotCounted,)}

    @extend_schema(tags=["cashier"], parameters=[FORMAT], responses=RESPONSES)
    def get(self, request: Request, public_id: str) -> Response | HttpResponse:
        """The session's Z-report once its drawer is counted (`session_not_counted`, 409,
        before: the close is blind). A cashier reads their own; supervisors and finance
        any. `agrees` says the records and the ledger give the same figures."""
        params = FormatSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        session = session_get(public_id=public_id)
        user = staff(request)
        if Role.FINANCE not in staff_roles(user):
            session_check_owner(session=session, user=user)
        if session.status not in COUNTED_SESSION_STATUSES:
            raise SessionNotCounted(detail={"status": session.status})
        return _answer(
            session_report(session=session),
            params.validated_data["format"],
            f"z-report-{session.public_id}",
        )


class TerminalDayReportApi(APIView):
    permission_classes = [allow(roles=(Role.SUPERVISOR, Role.FINANCE))]

    class FilterSerializer(FormatSerializer):
        date = api_fields.DateField(required=False, help_text="local day; default today")

    @extend_schema(
        tags=["cashier"],
        parameters=[FORMAT, OpenApiParameter("date", OpenApiTypes.DATE)],
        responses=RESPONSES,
    )
    def get(self, request: Request, code: str) -> Response | HttpResponse:
        """The terminal's Z-report for a local day: counted sessions summed, each session's
        report, and the sessions still open (not in the totals)."""
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        terminal = terminal_get(code=code, param="code")
        day = params.validated_data.get("date") or timezone.localdate()
        return _answer(
            terminal_day_report(terminal=terminal, day=day),
            params.validated_data["format"],
            f"z-report-{terminal.code}-{day.isoformat()}",
        )
