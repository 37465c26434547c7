"""Receipts for staff, kiosks and phones: read one, fetch its PDF (kiosks print the thermal
layout), send its link again (staff and kiosks), and find the receipt of a payment. A phone
holding an invoice's pay link reads the receipts of that invoice's payments."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.authentication import DeviceKeyAuthentication, StaffTokenAuthentication
from config.api.permissions import allow
from config.api.schema import ErrorTable, idempotency_key_header
from config.errors import InvalidRequest
from config.identity.models import DeviceKind, Role
from notifications.errors import (
    ChannelUnavailable,
    ReceiptNotIssued,
    RecipientMissing,
)
from notifications.models import MessageChannel, MessageStatus, PdfLayout, Receipt, ReceiptKind
from notifications.selectors import receipt_visible
from notifications.services.messages import receipt_resend
from notifications.services.pdfs import primary_layout, receipt_pdf_get
from payments.paylinks import PayLinkAuthentication, PayLinkPrincipal
from payments.selectors.payments import payment_visible
from payments.services.idempotency import idempotent

ReceiptReaders = allow(
    roles=(Role.CASHIER, Role.SUPERVISOR, Role.FINANCE, Role.ADMIN), devices=(DeviceKind.KIOSK,)
)
READ_AUTHENTICATION = [StaffTokenAuthentication, DeviceKeyAuthentication, PayLinkAuthentication]


class ReceiptReadersOrPayLink(BasePermission):
    """Staff, kiosks, and a pay-link holder (which receipts each sees: ``receipt_visible``)."""

    message = ReceiptReaders.message

    def has_permission(self, request: Request, view: Any) -> bool:
        if isinstance(request.user, PayLinkPrincipal):
            return True
        return ReceiptReaders().has_permission(request, view)


class MessageOutputSerializer(serializers.Serializer):
    id = serializers.CharField(
        source="public_id", help_text="the message's public id (`msg_` and 20 random hex digits)"
    )
    channel = serializers.ChoiceField(choices=MessageChannel.choices)
    recipient = serializers.CharField(source="recipient_masked")
    status = serializers.ChoiceField(choices=MessageStatus.choices)
    attempts = serializers.IntegerField()
    last_error = serializers.CharField()
    created_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(
        allow_null=True, help_text="when Zalo reported it on the phone"
    )
    read_at = serializers.DateTimeField(
        allow_null=True, help_text="when Zalo reported it read (only if Zalo sends that event)"
    )
    fallback_of = serializers.CharField(
        source="fallback_of.public_id",
        allow_null=True,
        default=None,
        help_text="the Zalo message this one replaces (Zalo could not deliver it): its `id`",
    )


class ReceiptOutputSerializer(serializers.Serializer):
    id = serializers.CharField(
        source="public_id",
        help_text="The receipt's public id (`rcp_` and 20 random hex digits): what every "
        "receipt URL takes. Not a number and not a sequence.",
    )
    kind = serializers.ChoiceField(choices=ReceiptKind.choices)
    number = serializers.CharField(source="display_number")
    form = serializers.CharField()
    symbol = serializers.CharField()
    serial = serializers.IntegerField(source="number")
    issued_at = serializers.DateTimeField()
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    payment_id = serializers.CharField(source="payment.public_id")
    refund_id = serializers.CharField(source="refund.public_id", allow_null=True, default=None)
    reverses_id = serializers.CharField(
        source="reverses.public_id",
        allow_null=True,
        default=None,
        help_text="a refund receipt: the public id of the receipt it reverses (null otherwise)",
    )
    verification_code = serializers.CharField()
    content = serializers.JSONField(help_text="the frozen content printed on the receipt")
    pdf_url = serializers.SerializerMethodField()
    messages = MessageOutputSerializer(many=True)

    def get_pdf_url(self, receipt: Receipt) -> str:
        return self.context["request"].build_absolute_uri(
            reverse("receipt-pdf", kwargs={"public_id": receipt.public_id})
        )


def receipt_body(receipt: Receipt, request: Request) -> dict[str, Any]:
    receipt = (
        Receipt.objects.prefetch_related("messages__fallback_of")
        .select_related("payment", "refund", "reverses")
        .get(pk=receipt.pk)
    )
    return dict(ReceiptOutputSerializer(receipt, context={"request": request}).data)


class ReceiptDetailApi(APIView):
    authentication_classes = READ_AUTHENTICATION
    permission_classes = [ReceiptReadersOrPayLink]

    @extend_schema(tags=["receipts"], responses={200: ReceiptOutputSerializer})
    def get(self, request: Request, public_id: str) -> Response:
        """A receipt (by its public id, `rcp_…`) with its content and the messages sent for
        it (recipients masked). Staff, the kiosk that took the payment, or the holder of the
        invoice's pay link; any other receipt, and an integer id, is `404 not_found`."""
        receipt = receipt_visible(user=request.user, public_id=public_id)
        return Response(receipt_body(receipt, request))


class ReceiptPdfApi(APIView):
    authentication_classes = READ_AUTHENTICATION
    permission_classes = [ReceiptReadersOrPayLink]

    @extend_schema(
        tags=["receipts"],
        parameters=[
            OpenApiParameter(
                "layout", str, enum=PdfLayout.values, description="default: the channel's"
            )
        ],
        responses={(200, "application/pdf"): bytes},
    )
    def get(self, request: Request, public_id: str) -> HttpResponse:
        """The receipt as PDF: `layout=thermal` (80 mm roll, what kiosks print) or `a4`."""
        receipt = receipt_visible(user=request.user, public_id=public_id)
        layout = request.query_params.get("layout") or primary_layout(receipt)
        if layout not in PdfLayout.values:
            raise InvalidRequest("layout must be thermal or a4.", param="layout")
        response = HttpResponse(
            receipt_pdf_get(receipt=receipt, layout=layout), content_type="application/pdf"
        )
        response["Content-Disposition"] = f'inline; filename="{receipt.display_number}.pdf"'
        return response


class ReceiptResendApi(APIView):
    permission_classes = [ReceiptReaders]
    documented_errors: ErrorTable = {"post": (ChannelUnavailable, RecipientMissing)}

    class InputSerializer(serializers.Serializer):
        channel = serializers.ChoiceField(choices=MessageChannel.choices)

    @extend_schema(
        tags=["receipts"],
        request=InputSerializer,
        responses={202: MessageOutputSerializer},
        parameters=[
            idempotency_key_header("Unique per resend: a retried request never sends twice.")
        ],
    )
    @idempotent
    def post(self, request: Request, public_id: str) -> Response:
        """Send the receipt's link again to the patient's phone (by `zalo` or `sms`) or
        e-mail on file (a new message; `409 recipient_missing` when there is none,
        `409 channel_unavailable` when Zalo is off or has no template for it)."""
        receipt = receipt_visible(user=request.user, public_id=public_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = receipt_resend(receipt=receipt, channel=data.validated_data["channel"])
        return Response(MessageOutputSerializer(message).data, status=202)


class PaymentReceiptApi(APIView):
    authentication_classes = READ_AUTHENTICATION
    permission_classes = [ReceiptReadersOrPayLink]

    @extend_schema(tags=["receipts"], responses={200: ReceiptOutputSerializer})
    def get(self, request: Request, public_id: str) -> Response:
        """The receipt of a payment (or deposit). `404 receipt_not_issued_yet` while the
        payment has not succeeded or its receipt is still being issued: poll again."""
        user = request.user
        payment = payment_visible(user=user, public_id=public_id)
        receipt = Receipt.objects.filter(payment=payment, refund__isnull=True).first()
        if receipt is None:
            raise ReceiptNotIssued()
        visible = receipt_visible(user=user, public_id=receipt.public_id)
        return Response(receipt_body(visible, request))
