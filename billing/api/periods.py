"""Finance: a month of the books — its state, the close's dry run, the close (two people)
and an admin's reopening."""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import date
from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.api.finance import TrialBalanceRowOutputSerializer, TrialBalanceTotalsOutputSerializer
from billing.errors import (
    PeriodCloseBlocked,
    PeriodCloseNeedsSecondPerson,
    PeriodNotClosed,
    PeriodNotOver,
)
from billing.selectors.period_close import (
    PeriodCloseReport,
    period_close_report,
    period_state,
    period_window,
)
from billing.services.periods import period_close, period_reopen
from config.api.permissions import IsAdmin, IsFinance
from config.api.schema import ErrorTable

_MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")
MONTH_PARAMETER = OpenApiParameter(
    "month",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The month, `YYYY-MM` (the hospital's local calendar).",
)


def parse_month(text: str) -> date:
    """``2026-05`` -> 2026-05-01; anything else, or a month outside the API's dates, is
    ``400 parameter_invalid`` (param ``month``)."""
    match = _MONTH.fullmatch(text)
    month = date(int(match.group(1)), int(match.group(2)), 1) if match else None
    earliest, latest = settings.API_EARLIEST_DATETIME, settings.API_LATEST_DATE
    if month is None or not earliest <= month <= latest.replace(day=1):
        raise serializers.ValidationError(
            {"month": [f"A month YYYY-MM between {earliest:%Y-%m} and {latest:%Y-%m}."]},
            code="invalid",
        )
    return month


class PeriodEventOutputSerializer(serializers.Serializer):
    action = serializers.CharField(help_text="close_requested, closed or reopened")
    by = serializers.CharField(source="by.username")
    at = serializers.DateTimeField()
    reason = serializers.CharField()


class PeriodStateOutputSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM")
    status = serializers.ChoiceField(
        choices=["open", "pending_approval", "closed", "reopened"],
        help_text="`open`: nobody has asked to close it yet.",
    )
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField(help_text="Exclusive: the next month's first instant.")
    requested_by = serializers.CharField(allow_null=True)
    approved_by = serializers.CharField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    reopened_by = serializers.CharField(allow_null=True)
    reopened_at = serializers.DateTimeField(allow_null=True)
    reopen_reason = serializers.CharField()
    history = PeriodEventOutputSerializer(many=True)


class FindingOutputSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="Stable: `trial_balance_unbalanced`, `period_not_over`, "
        "`cashier_sessions_open`, `cash_transfers_pending` (block); `suspense_balance`, "
        "`reconciliation_items_open`, `statement_lines_unmatched`, `receipts_not_issued`, "
        "`einvoices_not_issued`, `previous_period_open` (warn); other apps may add codes."
    )
    severity = serializers.ChoiceField(choices=["block", "warn"])
    message = serializers.CharField()
    count = serializers.IntegerField()
    amount = serializers.IntegerField(allow_null=True, help_text="Minor units, when summed.")
    currency = serializers.CharField()
    examples = serializers.ListField(child=serializers.CharField(), help_text="Up to 20 ids.")
    detail = serializers.DictField()


class TrialBalanceAtCloseOutputSerializer(serializers.Serializer):
    accounts = TrialBalanceRowOutputSerializer(many=True)
    totals = serializers.DictField(
        child=TrialBalanceTotalsOutputSerializer(), help_text="Per currency code."
    )
    balanced = serializers.BooleanField()


class PeriodApi(APIView):
    permission_classes = [IsFinance]

    @extend_schema(
        tags=["ledger"],
        parameters=[MONTH_PARAMETER],
        responses={200: PeriodStateOutputSerializer},
    )
    def get(self, request: Request, month: str) -> Response:
        """A month of the books: open, waiting for a second person, closed or reopened, and
        its history (who asked, who approved, who reopened and why)."""
        return Response(PeriodStateOutputSerializer(period_state(month=parse_month(month))).data)


def _report_body(report: PeriodCloseReport) -> dict[str, Any]:
    return {
        "can_close": report.can_close,
        "trial_balance": {
            "accounts": report.trial_balance,
            "totals": report.totals,
            "balanced": report.balanced,
        },
        "findings": [asdict(f) for f in report.findings],
    }


class PeriodCloseApi(APIView):
    permission_classes = [IsFinance]
    documented_errors: ErrorTable = {
        "post": (PeriodCloseBlocked, PeriodCloseNeedsSecondPerson, PeriodNotOver)
    }

    class FilterSerializer(serializers.Serializer):
        dry_run = serializers.BooleanField(
            required=False, default=False, help_text="Only report; change nothing."
        )

    class OutputSerializer(serializers.Serializer):
        dry_run = serializers.BooleanField()
        can_close = serializers.BooleanField(help_text="No finding blocks the close.")
        period = PeriodStateOutputSerializer(help_text="The month's state after the call.")
        trial_balance = TrialBalanceAtCloseOutputSerializer(
            help_text="Per account at the month's end (entries posted before `ends_at`)."
        )
        findings = FindingOutputSerializer(many=True, help_text="Blocking ones first.")

    @extend_schema(
        tags=["ledger"],
        parameters=[MONTH_PARAMETER, FilterSerializer],
        request=None,
        responses={200: OutputSerializer},
    )
    def post(self, request: Request, month: str) -> Response:
        """Close a month, in two steps by two people (role `finance`; the second may be an
        admin). `?dry_run=true` only reports: the trial balance at the month's end per
        account, and the findings that block the close (`severity: block`) or that finance
        should know (`warn`). The first call without `dry_run` asks for the close
        (`pending_approval`), the second, by another user, closes it (`closed`); from then
        on the database refuses entries dated in the month. Refused with
        `409 period_close_blocked` (the blocking findings in `detail.findings`),
        `409 period_not_over`, `409 period_close_needs_second_person`,
        `403 period_close_forbidden`."""
        first = parse_month(month)
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        dry_run = params.validated_data["dry_run"]
        window = period_window(first)
        if not dry_run:
            period_close(month=first, by=request.user)
        report = period_close_report(window=window)
        body = {"dry_run": dry_run, "period": period_state(month=first), **_report_body(report)}
        return Response(self.OutputSerializer(body).data)


class PeriodReopenApi(APIView):
    permission_classes = [IsAdmin]
    documented_errors: ErrorTable = {"post": (PeriodNotClosed,)}

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=1000, help_text="Kept in the month's history.")

    @extend_schema(
        tags=["ledger"],
        parameters=[MONTH_PARAMETER],
        request=InputSerializer,
        responses={200: PeriodStateOutputSerializer},
    )
    def post(self, request: Request, month: str) -> Response:
        """An admin reopens a closed month, with a reason (`409 period_not_closed` if it is
        not closed). Entries may be dated in it again until it is closed anew."""
        first = parse_month(month)
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        period_reopen(month=first, by=request.user, reason=body.validated_data["reason"])
        return Response(PeriodStateOutputSerializer(period_state(month=first)).data)
