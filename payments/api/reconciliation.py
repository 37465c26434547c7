"""The reconciliation items finance works, the day's summary and the daily close."""

from __future__ import annotations

from datetime import date
from typing import Any

import django_filters
from django.contrib.auth.models import User
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.api.finance import EntryCursorPagination
from billing.errors import EncounterClosed
from config.api import fields as api_fields
from config.api.permissions import IsFinance
from config.api.schema import ErrorTable
from config.errors import NotFound
from payments.errors import (
    IllegalTransition,
    ReconItemStateConflict,
    ReconMatchInvalid,
)
from payments.models import (
    CashDeposit,
    Payment,
    ReconChannel,
    ReconItem,
    ReconKind,
    ReconStatus,
    Refund,
    RefundOwedPayout,
    StatementLine,
)
from payments.selectors.reconciliation import (
    recon_daily,
    recon_item_due_by,
    recon_item_get,
    recon_items,
    recon_summary,
)
from payments.services.reconciliation import recon_item_match, recon_item_write_off
from payments.services.settlement_accounts import in_transit_accounts


class StatementLineOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    booked_on = api_fields.DateField()
    direction = serializers.CharField()
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    bank_reference = serializers.CharField()
    description = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]


class ReconItemOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    kind = serializers.ChoiceField(choices=ReconKind.choices)
    channel = serializers.ChoiceField(choices=ReconChannel.choices)
    status = serializers.ChoiceField(choices=ReconStatus.choices)
    direction = serializers.CharField()
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    source_type = serializers.CharField()
    source_id = serializers.CharField()
    match_code = serializers.CharField()
    expected_on = api_fields.DateField()
    due_by = serializers.SerializerMethodField()
    holding_account = serializers.CharField()
    statement_line = StatementLineOutputSerializer(allow_null=True)
    note = serializers.CharField()
    write_off_requested = serializers.SerializerMethodField()
    settled_at = api_fields.DateTimeField(allow_null=True)
    settled_by = serializers.CharField(source="settled_by.username", allow_null=True)

    def get_due_by(self, item: ReconItem) -> date:
        return recon_item_due_by(item=item)

    def get_write_off_requested(self, item: ReconItem) -> bool:
        return item.write_off_requested_by_id is not None


class ReconItemFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ReconStatus.choices, method="noop")
    kind = django_filters.ChoiceFilter(choices=ReconKind.choices, method="noop")
    channel = django_filters.ChoiceFilter(choices=ReconChannel.choices, method="noop")
    expected_from = django_filters.DateFilter(
        method="noop", validators=[api_fields.day_within_bounds]
    )
    expected_to = django_filters.DateFilter(
        method="noop", validators=[api_fields.day_within_bounds]
    )

    class Meta:
        model = ReconItem
        fields: list[str] = []

    def noop(self, queryset: Any, name: str, value: Any) -> Any:
        return queryset

    def filter_queryset(self, queryset: Any) -> Any:
        data = self.form.cleaned_data
        return recon_items(
            status=data.get("status") or None,
            kind=data.get("kind") or None,
            channel=data.get("channel") or None,
            expected_from=data.get("expected_from"),
            expected_to=data.get("expected_to"),
        )


@extend_schema(tags=["reconciliation"])
class ReconItemListApi(generics.ListAPIView):
    """Reconciliation items, newest first, cursor-paginated; filters `status`, `kind`,
    `channel`, `expected_from`, `expected_to` (dates, both inclusive)."""

    permission_classes = [IsFinance]
    serializer_class = ReconItemOutputSerializer
    pagination_class = EntryCursorPagination
    filterset_class = ReconItemFilter
    queryset = ReconItem.objects.all()


def _user(request: Request) -> User:
    assert isinstance(request.user, User)  # the finance role admits staff only
    return request.user


class ReconItemMatchApi(APIView):
    permission_classes = [IsFinance]
    documented_errors: ErrorTable = {
        "post": (ReconItemStateConflict, IllegalTransition, EncounterClosed)
    }

    class InputSerializer(serializers.Serializer):
        statement_line = serializers.IntegerField(required=False)
        payment = serializers.CharField(required=False, help_text="pay_…")
        refund = serializers.CharField(
            required=False,
            help_text="a refund's public id, or a discharge leftover's paid back (rp_…)",
        )
        deposit = serializers.CharField(required=False, help_text="cd_…")
        item = serializers.IntegerField(required=False, help_text="another item")
        note = serializers.CharField(max_length=300)

    @extend_schema(
        tags=["reconciliation"], request=InputSerializer, responses={200: ReconItemOutputSerializer}
    )
    def post(self, request: Request, pk: int) -> Response:
        """Match an item by hand, with a note: an expected item to a bank line (also one
        booked as unexpected), money held in suspense to a payment still waiting (it
        completes), or to the payment, refund, deposit or item it was. Errors:
        `recon_match_invalid`, `recon_item_state_conflict` (409)."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values: dict[str, Any] = data.validated_data
        targets = [
            k for k in ("statement_line", "payment", "refund", "deposit", "item") if k in values
        ]
        if len(targets) != 1:
            raise ReconMatchInvalid(
                "Give exactly one of statement_line, payment, refund, deposit, item."
            )
        item = recon_item_get(pk=pk)
        target = targets[0]
        kwargs: dict[str, Any] = {}
        if target == "statement_line":
            line = StatementLine.objects.filter(pk=values[target]).first()
            kwargs["statement_line"] = _found(line, target)
        elif target == "payment":
            kwargs["payment"] = _found(
                Payment.objects.filter(public_id=values[target]).first(), target
            )
        else:
            source: dict[str, tuple[str, Any]] = {
                "refund": ("refund", Refund),
                "deposit": ("cash_deposit", CashDeposit),
            }
            if target == "refund" and values[target].startswith(DISCHARGE_REFUND_PREFIX):
                source["refund"] = ("refund_owed_payout", RefundOwedPayout)
            if target == "item":
                other = ReconItem.objects.filter(pk=values[target]).first()
            else:
                source_type, model = source[target]
                _found(model.objects.filter(public_id=values[target]).first(), target)
                other = ReconItem.objects.filter(
                    source_type=source_type, source_id=values[target]
                ).first()
            kwargs["other"] = _found(other, target)
        item = recon_item_match(item=item, by=_user(request), note=values["note"], **kwargs)
        return Response(ReconItemOutputSerializer(recon_item_get(pk=item.pk)).data)


# The public ids of discharge leftovers paid back (``RefundOwedPayout``).
DISCHARGE_REFUND_PREFIX = "rp_"


def _found(value: Any, param: str) -> Any:
    if value is None:
        raise NotFound(f"No such {param.replace('_', ' ')}.", param=param)
    return value


class ReconItemWriteOffApi(APIView):
    permission_classes = [IsFinance]
    documented_errors: ErrorTable = {"post": (ReconItemStateConflict,)}

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=300)

    @extend_schema(
        tags=["reconciliation"], request=InputSerializer, responses={200: ReconItemOutputSerializer}
    )
    def post(self, request: Request, pk: int) -> Response:
        """Write an item off with a reason. Above
        `RECONCILIATION_WRITE_OFF_APPROVAL_THRESHOLD` the first call records the request
        (`write_off_requested: true`) and another person of finance approves it by calling
        again (`write_off_approval_by_requester`, 403, for the same person)."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item = recon_item_write_off(
            item=recon_item_get(pk=pk), by=_user(request), reason=data.validated_data["reason"]
        )
        return Response(ReconItemOutputSerializer(recon_item_get(pk=item.pk)).data)


class DayParameters(serializers.Serializer):
    date = api_fields.DateField()


DATE = OpenApiParameter("date", str, required=True, description="YYYY-MM-DD")


class ReconSummaryApi(APIView):
    permission_classes = [IsFinance]

    @extend_schema(tags=["reconciliation"], parameters=[DATE], responses={200: dict})
    def get(self, request: Request) -> Response:
        """The day per channel (expected, matched, missing, unexpected, in suspense), the
        three balances (drawers' counted cash, bank statement, provider payouts) and what
        is still in transit (clearing and cash-in-transit accounts) at the day's end."""
        params = DayParameters(data=request.query_params)
        params.is_valid(raise_exception=True)
        return Response(
            recon_summary(
                day=params.validated_data["date"], in_transit_accounts=in_transit_accounts()
            )
        )


class ReconDailyApi(APIView):
    permission_classes = [IsFinance]

    @extend_schema(tags=["reconciliation"], parameters=[DATE], responses={200: dict})
    def get(self, request: Request) -> Response:
        """Whether the day is fully reconciled: nothing expected on it or before still
        open, and every bank line up to it explained."""
        params = DayParameters(data=request.query_params)
        params.is_valid(raise_exception=True)
        return Response(recon_daily(day=params.validated_data["date"]))
