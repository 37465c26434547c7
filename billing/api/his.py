"""The hospital information system (device kind ``his``): patients, encounters, charges,
invoices and discharge."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.api.invoices import InvoiceOutputSerializer, invoice_body
from billing.errors import (
    ChargeAlreadyInvoiced,
    ChargeAlreadyVoided,
    ChargeReferenceConflict,
    CitizenIdTaken,
    EncounterClosed,
    EncounterReferenceConflict,
    InsuranceNumberTaken,
    NothingToBill,
    PatientCodeExists,
)
from billing.models import Charge, Encounter, EncounterKind, Patient, PreferredChannel, Route
from billing.selectors.invoices import deposit_balance, refund_owed
from billing.services.deposits import encounter_discharge
from billing.services.encounters import ChargeInput, charge_void, charges_add, encounter_open
from billing.services.invoices import invoice_issue
from billing.services.patients import patient_create, patient_update
from config.api import fields as api_fields
from config.api.permissions import IsHis
from config.api.schema import ErrorTable
from config.errors import NotFound


def _get(model: Any, pk: int, name: str) -> Any:
    obj = model.objects.filter(pk=pk).first()
    if obj is None:
        raise NotFound(f"No such {name}.", param="id")
    return obj


def _device_label(request: Request) -> str:
    return f"device:{getattr(request.user, 'name', '?')}"


class CoverageSerializer(serializers.Serializer):
    benefit_level = serializers.ChoiceField(choices=[100, 95, 80])
    valid_from = api_fields.DateField()
    valid_to = api_fields.DateField()
    route = serializers.ChoiceField(choices=Route.choices, default=Route.CORRECT)
    five_years_from = api_fields.DateField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The card's 'Thời điểm đủ 5 năm liên tục': from then the year's co-pay is "
        "capped at six months of base salary.",
    )


class PatientOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    full_name = serializers.CharField()
    date_of_birth = api_fields.DateField(allow_null=True)
    citizen_id_masked = serializers.CharField()
    insurance_id_kind = serializers.CharField()
    insurance_id_masked = serializers.CharField()
    preferred_channel = serializers.ChoiceField(
        choices=PreferredChannel.choices, allow_blank=True, help_text="empty: no preference"
    )
    coverages = CoverageSerializer(many=True)


class PatientFieldsSerializer(serializers.Serializer):
    full_name = serializers.CharField(max_length=200)
    date_of_birth = api_fields.DateField(required=False, allow_null=True)
    # Not trimmed, and `\Z` (Python's `$` also matches before a final newline): a phone
    # with a trailing newline or space is refused, not quietly altered.
    phone = serializers.RegexField(
        r"^\+?[0-9 ]{8,15}\Z", required=False, allow_blank=True, trim_whitespace=False
    )
    email = serializers.EmailField(required=False, allow_blank=True)
    preferred_channel = serializers.ChoiceField(
        choices=PreferredChannel.choices,
        required=False,
        allow_blank=True,
        help_text="How the patient wants the hospital's messages (zalo, sms, email); it goes "
        "first when it can carry the message (Zalo needs the phone and an approved template). "
        "Empty: the hospital's order (MESSAGE_CHANNELS).",
    )
    citizen_id = serializers.CharField(required=False, allow_blank=True, max_length=20)
    insurance_number = serializers.CharField(required=False, allow_blank=True, max_length=20)
    coverage = CoverageSerializer(required=False)

    def validate_date_of_birth(self, value: date | None) -> date | None:
        if value is not None and value > timezone.localdate():
            raise serializers.ValidationError("The date of birth is in the future.")
        return value


class PatientCreateApi(APIView):
    permission_classes = [IsHis]
    documented_errors: ErrorTable = {
        "post": (CitizenIdTaken, InsuranceNumberTaken, PatientCodeExists)
    }

    class InputSerializer(PatientFieldsSerializer):
        code = serializers.CharField(max_length=32)

    @extend_schema(tags=["his"], request=InputSerializer, responses={201: PatientOutputSerializer})
    def post(self, request: Request) -> Response:
        """Register a patient. Errors: `patient_code_exists`, `citizen_id_taken`,
        `invalid_citizen_id`, `invalid_insurance_number`."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        patient = patient_create(**data.validated_data)
        return Response(PatientOutputSerializer(patient).data, status=201)


class PatientUpdateApi(APIView):
    permission_classes = [IsHis]
    documented_errors: ErrorTable = {
        "patch": (CitizenIdTaken, InsuranceNumberTaken, PatientCodeExists)
    }

    class InputSerializer(PatientFieldsSerializer):
        code = serializers.CharField(max_length=32, required=False)

    @extend_schema(tags=["his"], request=InputSerializer, responses={200: PatientOutputSerializer})
    def patch(self, request: Request, pk: int) -> Response:
        patient = _get(Patient, pk, "patient")
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        patient = patient_update(patient=patient, **data.validated_data)
        return Response(PatientOutputSerializer(patient).data)


class EncounterOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    patient_id = serializers.IntegerField()
    his_reference = serializers.CharField()
    kind = serializers.CharField()
    department = serializers.CharField()
    route = serializers.CharField()
    status = serializers.CharField()
    opened_at = api_fields.DateTimeField()
    closed_at = api_fields.DateTimeField(allow_null=True)


class EncounterCreateApi(APIView):
    permission_classes = [IsHis]
    documented_errors: ErrorTable = {"post": (EncounterReferenceConflict,)}

    class InputSerializer(serializers.Serializer):
        patient_id = serializers.IntegerField()
        his_reference = serializers.CharField(max_length=64)
        kind = serializers.ChoiceField(choices=EncounterKind.choices)
        department = serializers.CharField(max_length=100)
        route = serializers.ChoiceField(
            choices=Route.choices,
            default=Route.CORRECT,
            help_text="`correct`: the registered facility, a referral, a re-visit appointment, "
            "or district-level thông tuyến (Circular 30/2020/TT-BYT Art. 6): the low-cost "
            "threshold and the five-year cap apply. `wrong`: self-referral, paid at the "
            "wrong-route ratio of the hospital's level, without them. An emergency visit is "
            "always `emergency`.",
        )
        opened_at = api_fields.DateTimeField(required=False)

    @extend_schema(
        tags=["his"], request=InputSerializer, responses={201: EncounterOutputSerializer}
    )
    def post(self, request: Request) -> Response:
        """Open an encounter; idempotent on `his_reference`."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        patient = _get(Patient, fields.pop("patient_id"), "patient")
        encounter = encounter_open(patient=patient, **fields)
        return Response(EncounterOutputSerializer(encounter).data, status=201)


class ChargeOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    encounter_id = serializers.IntegerField()
    his_reference = serializers.CharField(allow_null=True)
    service_code = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.IntegerField()
    insurance_unit_price = serializers.IntegerField(allow_null=True)
    amount = serializers.IntegerField()
    status = serializers.CharField()
    service_at = api_fields.DateTimeField()
    reverses_id = serializers.IntegerField(allow_null=True)


class ChargeItemSerializer(serializers.Serializer):
    service_code = serializers.CharField(max_length=32)
    quantity = serializers.IntegerField(help_text="1 to CHARGE_MAX_QUANTITY (default 10,000)")
    service_at = api_fields.DateTimeField(required=False, help_text="Default: now")
    his_reference = serializers.CharField(max_length=64, required=False)


class ChargeCreateApi(APIView):
    permission_classes = [IsHis]
    documented_errors: ErrorTable = {"post": (ChargeReferenceConflict, EncounterClosed)}

    class InputSerializer(serializers.Serializer):
        # DRF's ListSerializer takes min_length with many=True; the stubs lag. The most
        # lines per request is a setting, checked by the service (too_many_charge_lines).
        charges = ChargeItemSerializer(many=True, min_length=1)  # type: ignore[call-arg]

    @extend_schema(
        tags=["his"], request=InputSerializer, responses={201: ChargeOutputSerializer(many=True)}
    )
    def post(self, request: Request, pk: int) -> Response:
        """Post charges (all or none), priced from the price list in force at the time of
        service. Errors: `unknown_service_code`, `no_price_in_force`, `invalid_quantity`,
        `too_many_charge_lines`,
        `encounter_closed`, `charge_reference_conflict`."""
        encounter = _get(Encounter, pk, "encounter")
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        items = [ChargeInput(**item) for item in data.validated_data["charges"]]
        charges = charges_add(encounter=encounter, items=items)
        return Response(ChargeOutputSerializer(charges, many=True).data, status=201)


class ChargeVoidApi(APIView):
    permission_classes = [IsHis]
    documented_errors: ErrorTable = {
        "post": (ChargeAlreadyInvoiced, ChargeAlreadyVoided, EncounterClosed)
    }

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=200, required=False, default="")

    @extend_schema(tags=["his"], request=InputSerializer, responses={201: ChargeOutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        """Void an unbilled charge; returns the reversal. Errors: `charge_already_voided`,
        `charge_already_invoiced`, `encounter_closed`."""
        charge = _get(Charge, pk, "charge")
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        reversal = charge_void(charge=charge, reason=data.validated_data["reason"])
        return Response(ChargeOutputSerializer(reversal).data, status=201)


class InvoiceIssueApi(APIView):
    permission_classes = [IsHis]
    documented_errors: ErrorTable = {"post": (NothingToBill,)}

    @extend_schema(tags=["his"], request=None, responses={201: InvoiceOutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        """Bill the encounter's unbilled charges. Error: `nothing_to_bill`."""
        encounter = _get(Encounter, pk, "encounter")
        invoice = invoice_issue(encounter=encounter, issued_by=_device_label(request))
        return Response(invoice_body([invoice])[0], status=201)


class DischargeApi(APIView):
    permission_classes = [IsHis]
    documented_errors: ErrorTable = {"post": (EncounterClosed,)}

    class OutputSerializer(serializers.Serializer):
        encounter = EncounterOutputSerializer()
        invoices = serializers.ListField(child=serializers.DictField())
        deposits_applied = serializers.IntegerField()
        amount_due = serializers.IntegerField()
        refund_owed = serializers.IntegerField()
        deposit_balance = serializers.IntegerField()

    @extend_schema(tags=["his"], request=None, responses={200: OutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        """Discharge: bill what is unbilled, apply advances, close the encounter. The
        answer says what is still due or what is owed back to the patient."""
        encounter = _get(Encounter, pk, "encounter")
        result = encounter_discharge(encounter=encounter, by=_device_label(request))
        return Response(
            {
                "encounter": EncounterOutputSerializer(result.encounter).data,
                "invoices": invoice_body(result.invoices),
                "deposits_applied": result.deposits_applied,
                "amount_due": result.amount_due,
                "refund_owed": refund_owed(encounter=result.encounter),
                "deposit_balance": deposit_balance(encounter=result.encounter),
            }
        )
