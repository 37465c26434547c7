"""Kiosks (device kind ``kiosk``): find a patient's open invoices from an ID card."""

from __future__ import annotations

import logging
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from billing.api.invoices import InvoiceOutputSerializer, invoice_body
from billing.selectors.patients import kiosk_lookup
from config.api.permissions import IsKiosk
from config.api.throttling import FailClosed, RateFromSettings
from config.identity.models import Device

logger = logging.getLogger(__name__)


class KioskLookupThrottle(FailClosed, RateFromSettings, SimpleRateThrottle):
    """Per device, not per address: kiosks may sit behind one NAT."""

    scope = "kiosk_lookup"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if isinstance(request.user, Device):
            return f"throttle_kiosk_lookup_{request.user.pk}"
        return None


class KioskLookupApi(APIView):
    permission_classes = [IsKiosk]
    throttle_classes = [KioskLookupThrottle]

    class InputSerializer(serializers.Serializer):
        citizen_id = serializers.CharField(required=False, max_length=20)
        patient_code = serializers.CharField(required=False, max_length=32)
        insurance_number = serializers.CharField(required=False, max_length=20)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            given = [name for name, value in attrs.items() if value]
            if len(given) != 1:
                raise serializers.ValidationError(
                    {
                        "identifier": "Send exactly one of citizen_id, patient_code, "
                        "insurance_number."
                    },
                    code="required",
                )
            return attrs

    class OutputSerializer(serializers.Serializer):
        patient_id = serializers.IntegerField()
        masked_name = serializers.CharField()
        deposit_balance = serializers.IntegerField()
        invoices = InvoiceOutputSerializer(many=True)
        amount_due = serializers.IntegerField()

    @extend_schema(tags=["kiosk"], request=InputSerializer, responses={200: OutputSerializer})
    def post(self, request: Request) -> Response:
        """Identify a patient by exactly one of citizen ID, patient code or insurance
        number; returns the masked name and the open invoices with lines and amounts due.
        Rate-limited per kiosk (429 `rate_limited`); every lookup is audit-logged without
        the identifier. Errors: `patient_not_found` (404), `invalid_citizen_id`,
        `invalid_insurance_number`."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        kind, value = next((k, v) for k, v in data.validated_data.items() if v)
        assert isinstance(request.user, Device)
        result = kiosk_lookup(device=request.user, identifier_kind=kind, value=value)
        invoices = invoice_body(result.invoices)
        return Response(
            {
                "patient_id": result.patient.pk,
                "masked_name": result.masked_name,
                "deposit_balance": result.deposit_balance,
                "invoices": invoices,
                "amount_due": sum(i["amount_due"] for i in invoices),
            }
        )
