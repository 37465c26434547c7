"""The safe custodian's bank deposits."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.permissions import IsSupervisor
from config.api.schema import ErrorTable, idempotency_key_header
from payments.api.cashier import staff
from payments.errors import InsufficientDrawerCash
from payments.services.cash_deposits import cash_deposit_record
from payments.services.idempotency import idempotent


class CashDepositOutputSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    code = serializers.CharField(help_text="write it in the deposit slip's memo")
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    deposited_on = serializers.DateField()
    note = serializers.CharField()
    recorded_by = serializers.CharField(source="recorded_by.username")


class CashDepositCreateApi(APIView):
    permission_classes = [IsSupervisor]
    documented_errors: ErrorTable = {"post": (InsufficientDrawerCash,)}

    class InputSerializer(serializers.Serializer):
        amount = serializers.IntegerField()
        deposited_on = serializers.DateField(required=False)
        note = serializers.CharField(max_length=300, required=False, default="")

    @extend_schema(
        tags=["cashier"],
        request=InputSerializer,
        responses={201: CashDepositOutputSerializer},
        parameters=[idempotency_key_header("Unique per deposit.")],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        """The safe's custodian (a supervisor) takes cash from the main safe to the bank:
        the cash moves to cash in transit until the bank statement shows it (matched by the
        deposit's `code` and amount). Errors: `invalid_cash_deposit`,
        `insufficient_drawer_cash` (402, more than the safe holds)."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        deposit = cash_deposit_record(
            amount=values["amount"],
            by=staff(request),
            idempotency_key=request.headers["Idempotency-Key"],
            deposited_on=values.get("deposited_on"),
            note=values["note"],
        )
        return Response(CashDepositOutputSerializer(deposit).data, status=201)
