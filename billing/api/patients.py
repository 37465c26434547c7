"""The cashier's desk: find a patient by the same identifiers a kiosk takes."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.api.invoices import InvoiceOutputSerializer, invoice_body
from billing.api.kiosk import KioskLookupApi
from billing.models import EncounterKind, EncounterStatus
from billing.selectors.patients import desk_lookup
from config.api.permissions import IsCashier


class EncounterMoneySerializer(serializers.Serializer):
    id = serializers.IntegerField(source="encounter.pk")
    kind = serializers.ChoiceField(choices=EncounterKind.choices, source="encounter.kind")
    department = serializers.CharField(source="encounter.department")
    status = serializers.ChoiceField(choices=EncounterStatus.choices, source="encounter.status")
    opened_at = serializers.DateTimeField(source="encounter.opened_at")
    closed_at = serializers.DateTimeField(source="encounter.closed_at", allow_null=True)
    deposit_balance = serializers.IntegerField(help_text="advances held (tạm ứng)")
    refund_owed = serializers.IntegerField(
        help_text="owed back to the patient after discharge (hoàn ứng)"
    )


class PatientLookupApi(APIView):
    permission_classes = [IsCashier]

    InputSerializer = KioskLookupApi.InputSerializer

    class OutputSerializer(serializers.Serializer):
        patient_id = serializers.IntegerField()
        patient_code = serializers.CharField()
        masked_name = serializers.CharField()
        deposit_balance = serializers.IntegerField()
        invoices = InvoiceOutputSerializer(many=True)
        amount_due = serializers.IntegerField()
        encounters = EncounterMoneySerializer(
            many=True,
            help_text="open encounters (they take advances) and closed ones that still hold "
            "advances or owe the patient money back",
        )

    @extend_schema(tags=["cashier"], request=InputSerializer, responses={200: OutputSerializer})
    def post(self, request: Request) -> Response:
        """Find a patient at the desk by exactly one of citizen ID, patient code or
        insurance number (in the body, never the address): the masked name, open invoices
        and the encounters that take advances or owe money back. Every look-up is in the
        audit trail without the identifier. Errors: `patient_not_found` (404),
        `invalid_citizen_id`, `invalid_insurance_number`."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        kind, value = next((k, v) for k, v in data.validated_data.items() if v)
        found = desk_lookup(user=request.user, identifier_kind=kind, value=value)
        invoices = invoice_body(found.invoices)
        out: dict[str, Any] = {
            "patient_id": found.patient.pk,
            "patient_code": found.patient.code,
            "masked_name": found.masked_name,
            "deposit_balance": found.deposit_balance,
            "invoices": invoices,
            "amount_due": sum(i["amount_due"] for i in invoices),
            "encounters": EncounterMoneySerializer(found.encounters, many=True).data,
        }
        return Response(out)
