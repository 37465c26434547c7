"""Staff: read invoices, and void one (supervisor). Also the invoice body every audience
shares."""

from __future__ import annotations

from typing import Any

import django_filters
from django.contrib.auth.models import AbstractBaseUser
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.errors import InvoiceAlreadyVoid, InvoiceCreditSpent, InvoiceHasPayments
from billing.models import EInvoiceKind, EInvoiceStatus, Invoice, InvoiceStatus, ShareRule
from billing.selectors.einvoices import invoice_einvoice
from billing.selectors.invoices import InvoiceBalance, invoice_balances
from billing.services.invoices import VOID_GUARD_ERRORS, invoice_void
from config.api.permissions import IsSupervisor, allow
from config.api.schema import ErrorTable
from config.errors import NotFound
from config.identity.models import Role

IsStaff = allow(roles=(Role.CASHIER, Role.SUPERVISOR, Role.FINANCE))


class InvoiceLineOutputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=["charge", "adjustment"],
        help_text="`charge`: a service billed. `adjustment`: the visit's insurance adjustment "
        "(điều chỉnh mức hưởng BHYT), amount 0, moving the fund's share of the visit's earlier "
        "invoices to the patient (insurance_share negative) or back (patient_share negative), "
        "so that the visit's invoices add up to the visit split as one bill.",
    )
    service_code = serializers.CharField()
    name = serializers.CharField()
    unit = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.IntegerField()
    amount = serializers.IntegerField()
    insurance_share = serializers.IntegerField()
    patient_share = serializers.IntegerField()
    rule = serializers.ChoiceField(
        choices=ShareRule.choices,
        allow_null=True,
        source="rule_or_none",
        help_text="The rule that decided the line's shares: `in_scope` (the card's benefit "
        "level), `below_threshold` (visit below 15 % of the base salary: 100 %), "
        "`cap_reached` (five-year co-pay cap: the fund pays the co-pay), `on_demand` (the "
        "fund pays its share of the insured price), `out_of_scope` (the patient's alone), "
        "`above_insured_price` (the patient pays the part above the insured price), "
        "`wrong_route` (self-referral: the wrong-route ratio of the hospital's level). Null "
        "on lines issued before the rules were recorded.",
    )
    vat_rate = serializers.CharField()


class EInvoiceLookupSerializer(serializers.Serializer):
    id = serializers.CharField(
        help_text="the e-invoice's public id (`einv_` and 20 random hex digits)"
    )
    kind = serializers.ChoiceField(choices=EInvoiceKind.choices)
    state = serializers.ChoiceField(
        choices=EInvoiceStatus.choices,
        help_text="`pending` (waiting its turn; `attempts` > 0: the provider was unreachable), "
        "`sending`, `issued` (numbered and signed; `tax_authority_code` may follow later), "
        "`refused` (the provider's `error_code`/`error_message`; staff correct and resend), "
        "`withdrawn` (the invoice was voided before it went out)",
    )
    provider = serializers.CharField()
    form = serializers.CharField(help_text="mẫu số, e.g. `2`")
    template_code = serializers.CharField()
    symbol = serializers.CharField(help_text="ký hiệu, e.g. `C26TBV`")
    number = serializers.CharField()
    tax_authority_code = serializers.CharField(help_text="mã của cơ quan thuế, once received")
    lookup_code = serializers.CharField(help_text="mã tra cứu: what the buyer types")
    lookup_url = serializers.CharField(help_text="where the buyer looks it up")
    issued_at = serializers.DateTimeField(allow_null=True)
    attempts = serializers.IntegerField()
    error_code = serializers.CharField()
    error_message = serializers.CharField()
    replaces = serializers.CharField(help_text="the e-invoice a replacement replaces")


class EInvoiceOutputSerializer(EInvoiceLookupSerializer):
    corrections = EInvoiceLookupSerializer(
        many=True, help_text="adjusting e-invoices issued after the invoice was voided"
    )


class InvoiceOutputSerializer(serializers.Serializer):
    id = serializers.CharField(
        source="public_id",
        help_text="The invoice's public id (`inv_` and 20 random hex digits): what every "
        "URL and `invoice_id` field takes. Not a number and not a sequence.",
    )
    number = serializers.CharField(source="display_number")
    status = serializers.ChoiceField(choices=InvoiceStatus.choices)
    encounter_id = serializers.IntegerField()
    patient_id = serializers.IntegerField()
    currency = serializers.CharField()
    total = serializers.IntegerField()
    insurance_share = serializers.IntegerField(
        help_text="The fund's share; negative when an adjustment line moves more of the "
        "visit's earlier fund share to the patient than this invoice's lines bill the fund"
    )
    patient_share = serializers.IntegerField(
        help_text="The patient's share; negative when an adjustment gives the patient back "
        "more than this invoice's lines bill (held for the patient at discharge)"
    )
    amount_paid = serializers.SerializerMethodField()
    amount_due = serializers.SerializerMethodField()
    benefit_level = serializers.IntegerField()
    route = serializers.CharField()
    issued_at = serializers.DateTimeField()
    voided_at = serializers.DateTimeField(allow_null=True)
    lines = InvoiceLineOutputSerializer(many=True)
    einvoice = serializers.SerializerMethodField(
        help_text="The e-invoice issued through the hospital's provider, and where to look it "
        "up; null until one is queued (after payment, or at issue: EINVOICE_ISSUE_AT)"
    )

    @extend_schema_field(EInvoiceOutputSerializer(allow_null=True))
    def get_einvoice(self, invoice: Invoice) -> dict[str, Any] | None:
        return invoice_einvoice(invoice_id=invoice.pk)

    def _balance(self, invoice: Invoice) -> InvoiceBalance:
        balances: dict[int, InvoiceBalance] = self.context.setdefault("balances", {})
        if invoice.pk not in balances:
            balances.update(invoice_balances([invoice]))
        return balances[invoice.pk]

    def get_amount_paid(self, invoice: Invoice) -> int:
        return self._balance(invoice).amount_paid

    def get_amount_due(self, invoice: Invoice) -> int:
        return self._balance(invoice).amount_due


def invoice_body(invoices: list[Invoice]) -> list[dict[str, Any]]:
    """Serialize invoices with their ledger balances read in one query."""
    context = {"balances": invoice_balances(invoices)}
    return list(InvoiceOutputSerializer(invoices, many=True, context=context).data)


def _get_invoice(public_id: str) -> Invoice:
    invoice = Invoice.objects.prefetch_related("lines").filter(public_id=public_id).first()
    if invoice is None:
        raise NotFound("No such invoice.", param="id")
    return invoice


class InvoiceFilter(django_filters.FilterSet):
    patient = django_filters.NumberFilter(field_name="patient_id")
    encounter = django_filters.NumberFilter(field_name="encounter_id")
    status = django_filters.ChoiceFilter(choices=InvoiceStatus.choices)

    class Meta:
        model = Invoice
        fields = ["patient", "encounter", "status"]


@extend_schema(tags=["invoices"])
class InvoiceListApi(generics.ListAPIView):
    """Invoices, newest first (`?patient=<id>&status=issued`)."""

    permission_classes = [IsStaff]
    serializer_class = InvoiceOutputSerializer
    filterset_class = InvoiceFilter
    queryset = Invoice.objects.prefetch_related("lines").order_by("-issued_at", "-id")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        invoices = list(self.filter_queryset(self.get_queryset())[:200])
        return Response(invoice_body(invoices))


class InvoiceDetailApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(tags=["invoices"], responses={200: InvoiceOutputSerializer})
    def get(self, request: Request, public_id: str) -> Response:
        return Response(invoice_body([_get_invoice(public_id)])[0])


class InvoiceVoidApi(APIView):
    permission_classes = [IsSupervisor]

    @property
    def documented_errors(self) -> ErrorTable:
        """Billing's own refusals and those of the guards apps above it add (payments: a
        payment still in flight)."""
        own = (InvoiceAlreadyVoid, InvoiceCreditSpent, InvoiceHasPayments)
        return {"post": (*own, *VOID_GUARD_ERRORS)}

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=200)

    @extend_schema(
        tags=["invoices"], request=InputSerializer, responses={200: InvoiceOutputSerializer}
    )
    def post(self, request: Request, public_id: str) -> Response:
        """Void an invoice with no payments left on it; deposits applied to it return to
        the patient's deposit balance. Errors: `invoice_already_void`,
        `invoice_has_payments`."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = request.user
        assert isinstance(user, AbstractBaseUser)  # IsSupervisor admits staff only
        invoice = invoice_void(
            invoice=_get_invoice(public_id), voided_by=user, reason=data.validated_data["reason"]
        )
        return Response(invoice_body([_get_invoice(invoice.public_id)])[0])
