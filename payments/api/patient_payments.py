"""The desk: a patient's recent payments with their refunds. A fully paid invoice leaves the
look-up's open invoices, so a refund a supervisor approves later (from the queue) is found
here and paid out."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from billing.api.finance import EntryCursorPagination
from billing.models import Patient
from config.api import fields as api_fields
from config.api.permissions import IsCashier
from config.errors import NotFound
from payments.api.payments import StaffPaymentSerializer
from payments.api.refunds import RefundListItemSerializer
from payments.models import Payment
from payments.selectors.payments import payments_of_patient


class PatientPaymentsPagination(EntryCursorPagination):
    page_size = 20
    max_page_size = 100


class PatientPaymentSerializer(StaffPaymentSerializer):
    invoice_number = serializers.CharField(
        source="invoice.display_number",
        allow_null=True,
        default=None,
        help_text="the invoice's number as printed; null for an advance",
    )
    refunds = serializers.SerializerMethodField(
        help_text="its refunds in every status, oldest first, each with the `actions` the "
        "caller may take now (as `GET /payments/{id}/refunds`)"
    )

    @extend_schema_field(RefundListItemSerializer(many=True))
    def get_refunds(self, payment: Payment) -> list[dict[str, Any]]:
        context = {"user": self.context["request"].user}
        refunds = getattr(payment, "listed_refunds", None)
        if refunds is None:  # not prefetched (never by this list's own queryset)
            refunds = list(payment.refunds.order_by("created_at", "id"))
        return list(RefundListItemSerializer(refunds, many=True, context=context).data)


class PatientPaymentListApi(generics.ListAPIView):
    """A patient's payments that were taken (invoices and advances: `succeeded`,
    `partially_refunded`, `refunded`), newest first, cursor-paginated (`page_size` up to
    100, default 20); `since` (ISO 8601) keeps those taken at or after it. Each carries
    `refundable_amount`, its `actions` (`refund`), the invoice's number and its refunds with
    their own `actions` (`pay_out_cash`, `pay_out_bank_transfer`): a refund approved later
    from the supervisors' queue is paid out from here after its invoice, paid in full, left
    the look-up's open invoices. Cashiers and supervisors (any cashier's payments). Errors:
    `not_found` (404, no such patient), `parameter_invalid` (400: `since`, `cursor`,
    `page_size`)."""

    permission_classes = [IsCashier]
    serializer_class = PatientPaymentSerializer
    pagination_class = PatientPaymentsPagination
    queryset = Payment.objects.none()  # for the schema only: get_queryset lists the patient's

    class FilterSerializer(serializers.Serializer):
        since = api_fields.DateTimeField(
            required=False, help_text="only payments taken at or after this moment"
        )

    @extend_schema(tags=["payments"], parameters=[FilterSerializer])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Payment]:
        params = self.FilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        patient_id = self.kwargs["pk"]
        if not Patient.objects.filter(pk=patient_id).exists():
            raise NotFound("No such patient.", param="id")
        return payments_of_patient(patient_id=patient_id, since=params.validated_data.get("since"))
