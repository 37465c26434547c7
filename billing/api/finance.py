"""Finance: the chart of accounts, journal entries, the trial balance and the export."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import django_filters
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.chart import current_pack
from billing.models import Account, AccountType, JournalEntry
from billing.selectors.beancount_export import beancount_export
from billing.selectors.ledger import journal_entries, trial_balance
from billing.selectors.ledger_export import (
    export_window,
    ledger_export_csv,
    ledger_export_xlsx,
)
from billing.selectors.misa_export import misa_export_xlsx, misa_template
from config.api import fields as api_fields
from config.api.pagination import StrictPageSize
from config.api.permissions import IsFinance


def _is_entry_id(text: str) -> bool:
    return re.fullmatch(r"[0-9]{1,19}", text) is not None and int(text) < 2**63  # bigint


class AccountOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Account
        fields = ["code", "name", "type", "currency", "is_active", "description"]


class AccountFilter(django_filters.FilterSet):
    type = django_filters.ChoiceFilter(choices=AccountType.choices)
    is_active = django_filters.BooleanFilter()

    class Meta:
        model = Account
        fields = ["type", "is_active"]


@extend_schema(tags=["ledger"])
class AccountListApi(generics.ListAPIView):
    """The chart of accounts."""

    permission_classes = [IsFinance]
    serializer_class = AccountOutputSerializer
    queryset = Account.objects.order_by("code")
    filterset_class = AccountFilter


class JournalLineOutputSerializer(serializers.Serializer):
    account_code = serializers.CharField(source="account.code")
    account_name = serializers.CharField(source="account.name")
    debit = serializers.IntegerField()
    credit = serializers.IntegerField()
    currency = serializers.CharField(source="account.currency")
    reference = serializers.CharField()
    counterparty = serializers.CharField()


class JournalEntryOutputSerializer(serializers.ModelSerializer):
    lines = JournalLineOutputSerializer(many=True)
    reverses: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(
        read_only=True
    )

    class Meta:
        model = JournalEntry
        fields = [
            "id",
            "posted_at",
            "memo",
            "source_type",
            "source_id",
            "posting_key",
            "reverses",
            "voucher_type",
            "voucher_number",
            "recorded_by",
            "lines",
        ]


class EntryCursorPagination(StrictPageSize, CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def decode_cursor(self, request: Request) -> Cursor | None:
        """A cursor we did not issue is a bad parameter (400), not a missing page (404).

        Its position is an entry id: anything else would reach the database as a filter.
        """
        invalid = serializers.ValidationError(
            {self.cursor_query_param: [self.invalid_cursor_message]}, code="invalid"
        )
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise invalid from None
        position = cursor.position if cursor is not None else None
        if position is not None and not _is_entry_id(str(position)):
            raise invalid
        return cursor


class EntryFilter(django_filters.FilterSet):
    posted_from = django_filters.IsoDateTimeFilter(
        method="noop", validators=[api_fields.moment_within_bounds]
    )
    posted_to = django_filters.IsoDateTimeFilter(
        method="noop", validators=[api_fields.moment_within_bounds]
    )
    account = django_filters.CharFilter(method="noop", help_text="Account code, e.g. 131")
    source_type = django_filters.CharFilter(method="noop")
    source_id = django_filters.CharFilter(method="noop")

    class Meta:
        model = JournalEntry
        fields: list[str] = []

    def noop(self, queryset: Any, name: str, value: Any) -> Any:
        return queryset

    def filter_queryset(self, queryset: Any) -> Any:
        data = self.form.cleaned_data
        return journal_entries(
            date_from=data.get("posted_from"),
            date_to=data.get("posted_to"),
            account_code=data.get("account") or None,
            source_type=data.get("source_type") or None,
            source_id=data.get("source_id") or None,
        )


@extend_schema(tags=["ledger"])
class JournalEntryListApi(generics.ListAPIView):
    """Journal entries, newest first, with their lines. Cursor-paginated.

    ``posted_from`` is inclusive and ``posted_to`` exclusive (ISO 8601 date-times).
    """

    permission_classes = [IsFinance]
    serializer_class = JournalEntryOutputSerializer
    pagination_class = EntryCursorPagination
    filterset_class = EntryFilter
    queryset = JournalEntry.objects.all()


class TrialBalanceRowOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    type = serializers.CharField()
    currency = serializers.CharField()
    debit_total = serializers.IntegerField()
    credit_total = serializers.IntegerField()
    debit_balance = serializers.IntegerField()
    credit_balance = serializers.IntegerField()


class TrialBalanceTotalsOutputSerializer(serializers.Serializer):
    debit = serializers.IntegerField(help_text="Sum of the accounts' debit balances.")
    credit = serializers.IntegerField(help_text="Sum of the accounts' credit balances.")


class TrialBalanceApi(APIView):
    permission_classes = [IsFinance]

    class FilterSerializer(serializers.Serializer):
        as_of = api_fields.DateTimeField(required=False)

    class OutputSerializer(serializers.Serializer):
        as_of = api_fields.DateTimeField()
        accounts = TrialBalanceRowOutputSerializer(many=True)
        totals = serializers.DictField(
            child=TrialBalanceTotalsOutputSerializer(), help_text="Per currency code."
        )
        balanced = serializers.BooleanField(help_text="Debits equal credits in every currency.")

    @extend_schema(
        tags=["ledger"],
        parameters=[FilterSerializer],
        responses={200: OutputSerializer},
    )
    def get(self, request: Request) -> Response:
        """Debit and credit totals per account up to ``as_of`` (default: now)."""
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        as_of = params.validated_data.get("as_of") or timezone.now()
        rows = trial_balance(as_of=as_of)
        totals: dict[str, dict[str, int]] = {}
        for row in rows:
            currency_totals = totals.setdefault(row.currency, {"debit": 0, "credit": 0})
            currency_totals["debit"] += row.debit_balance
            currency_totals["credit"] += row.credit_balance
        out = {
            "as_of": as_of,
            "accounts": rows,
            "totals": totals,
            "balanced": all(t["debit"] == t["credit"] for t in totals.values()),
        }
        return Response(self.OutputSerializer(out).data)


EXPORT_FORMATS = ["csv", "xlsx", "misa", "beancount"]
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class LedgerExportApi(APIView):
    permission_classes = [IsFinance]

    class FilterSerializer(serializers.Serializer):
        to = api_fields.DateField(required=False, help_text="Last local day (inclusive).")
        format = serializers.ChoiceField(choices=EXPORT_FORMATS, default="csv")

        def get_fields(self) -> dict[str, serializers.Field]:
            # ``from`` is a Python keyword, so it cannot be declared as a class attribute.
            # Added here, unbound, it gets its source (the key in validated_data) from its
            # name; renaming a bound ``from_`` field would keep the source ``from_``.
            fields = super().get_fields()
            fields["from"] = api_fields.DateField(
                required=False, help_text="First local day (inclusive)."
            )
            return fields

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if attrs.get("from") and attrs.get("to") and attrs["from"] > attrs["to"]:
                raise serializers.ValidationError({"to": "'to' is before 'from'."})
            return attrs

    @extend_schema(
        tags=["ledger"],
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, description="First local day."),
            OpenApiParameter("to", OpenApiTypes.DATE, description="Last local day (inclusive)."),
            OpenApiParameter(
                "format",
                OpenApiTypes.STR,
                enum=EXPORT_FORMATS,
                description=(
                    "`csv` or `xlsx`: one row per journal line. `misa`: MISA's voucher-import"
                    " workbook (chứng từ nghiệp vụ khác, one row per debit/credit pair) for the"
                    " deployment's regime (`ACCOUNTING_REGIME`): MISA SME under `tt99_2025`,"
                    " MISA Mimosa under `tt24_2024`. `beancount`: a beancount file (open"
                    " directives, the opening balances, one transaction per entry with its"
                    " voucher as metadata, balance assertions equal to the trial balance) that"
                    " `bean-check` accepts."
                ),
            ),
        ],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY),
            (200, XLSX_CONTENT_TYPE): OpenApiResponse(OpenApiTypes.BINARY),
            (200, "text/plain"): OpenApiResponse(OpenApiTypes.BINARY),
        },
    )
    def get(self, request: Request) -> StreamingHttpResponse | FileResponse:
        """The journal of local days ``from``..``to`` for the accountant's software.

        ``csv``/``xlsx``: one row per journal line (entry id, date, account code and name,
        debit, credit, currency, memo, source, counterparty, voucher). ``misa``: MISA's
        voucher-import workbook for the deployment's regime. ``beancount``: a journal
        ``bean-check`` accepts. Streamed: constant memory however many lines."""
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        start, end = export_window(data.get("from"), data.get("to"))
        last_day = end.date() - timedelta(days=1)  # ``end`` is the exclusive bound
        stem = f"ledger_{start.date().isoformat()}_{last_day.isoformat()}"
        if data["format"] == "xlsx":
            return FileResponse(
                ledger_export_xlsx(start=start, end=end),
                as_attachment=True,
                filename=f"{stem}.xlsx",
                content_type=XLSX_CONTENT_TYPE,
            )
        if data["format"] == "misa":
            regime = current_pack().regime
            product = misa_template(regime).product.lower().replace(" ", "-")
            return FileResponse(
                misa_export_xlsx(start=start, end=end, regime=regime),
                as_attachment=True,
                filename=f"{stem}_{product}.xlsx",
                content_type=XLSX_CONTENT_TYPE,
            )
        if data["format"] == "beancount":
            response = StreamingHttpResponse(
                beancount_export(start=start, end=end, first=start.date(), last=last_day),
                content_type="text/plain; charset=utf-8",
            )
            response["Content-Disposition"] = f'attachment; filename="{stem}.beancount"'
            return response
        response = StreamingHttpResponse(
            ledger_export_csv(start=start, end=end), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{stem}.csv"'
        return response
