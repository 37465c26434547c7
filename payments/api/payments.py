"""Payments: kiosks, phones (pay links) and the cashier's desk use the same endpoints."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.api.invoices import InvoiceOutputSerializer, invoice_body
from billing.errors import (
    EncounterClosed,
    InvalidAmount,
)
from billing.models import OPEN_INVOICE_STATUSES, Encounter, Invoice
from config.api.authentication import DeviceKeyAuthentication, StaffTokenAuthentication
from config.api.permissions import IsCashier
from config.api.schema import ErrorTable, idempotency_key_header
from config.errors import NotFound
from config.identity.models import Device, DeviceKind, Role
from config.identity.selectors import staff_roles
from payments.errors import (
    AmountExceedsDue,
    CardDeclined,
    CashierSessionClosed,
    IllegalTransition,
    InvoiceNotPayable,
    PaymentCancelNotAllowed,
)
from payments.models import (
    PayLinkRevokeReason,
    Payment,
    PaymentChannel,
    PaymentMethod,
    PaymentPurpose,
    PaymentStatus,
)
from payments.paylinks import (
    PayLinkAuthentication,
    PayLinkPrincipal,
    pay_link_issue,
    pay_link_url,
)
from payments.providers.vietqr import build_payload, qr_png, qr_svg
from payments.selectors.advance_receipts import advance_receipt_data
from payments.selectors.payments import (
    invoice_for,
    pay_link_invoice,
    payment_visible,
    payments_of_encounter,
    payments_of_invoice,
)
from payments.selectors.refunds import payment_refundable_amount
from payments.services.channels import payment_take
from payments.services.idempotency import idempotent
from payments.services.paylinks import pay_links_revoke
from payments.services.payments import payment_cancel

AUTHENTICATION = [StaffTokenAuthentication, DeviceKeyAuthentication, PayLinkAuthentication]

# The largest amount a bigint column holds; the invoice or the deposit sets the real limit.
MAX_AMOUNT = 2**63 - 1


class MinorUnitsField(serializers.IntegerField):
    """An amount as a JSON integer of minor units, nothing else: DRF's ``IntegerField``
    would also take ``"100"`` and ``100.0``, and no string or float is ever an amount."""

    def to_internal_value(self, data: Any) -> int:
        if type(data) is not int or not -MAX_AMOUNT <= data <= MAX_AMOUNT:
            raise InvalidAmount(
                "The amount must be a JSON integer of minor units (whole VND), "
                "not a string or a fraction.",
                param=self.field_name or "amount",
            )
        return data


def _datetime(value: Any) -> str | None:
    """A datetime rendered as every serializer field renders it (local time, ISO 8601)."""
    return serializers.DateTimeField().to_representation(value) if value else None


class PaymentParties(BasePermission):
    """Kiosk devices, cashiers (and supervisors), and pay-link holders."""

    message = "Only kiosks, cashiers and pay-link holders take payments."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if isinstance(user, Device):
            return user.kind == DeviceKind.KIOSK
        if isinstance(user, PayLinkPrincipal):
            return True
        return Role.CASHIER in staff_roles(user)


def next_action(payment: Payment, request: Request) -> dict[str, Any] | None:
    if payment.status not in (PaymentStatus.PENDING, PaymentStatus.PROCESSING):
        return None
    if payment.method == PaymentMethod.VIETQR:
        assert payment.memo_code is not None
        return {
            "type": "vietqr",
            "payload": build_payload(
                bank_bin=settings.VIETQR_BANK_BIN,
                account=settings.VIETQR_ACCOUNT,
                amount=payment.amount,
                memo=payment.memo_code,
            ),
            "memo_code": payment.memo_code,
            "bank_bin": settings.VIETQR_BANK_BIN,
            "account": settings.VIETQR_ACCOUNT,
            "expires_at": _datetime(payment.expires_at),
            "image_png_url": request.build_absolute_uri(
                reverse("payment-qr", kwargs={"public_id": payment.public_id, "fmt": "png"})
            ),
            "image_svg_url": request.build_absolute_uri(
                reverse("payment-qr", kwargs={"public_id": payment.public_id, "fmt": "svg"})
            ),
        }
    if payment.method == PaymentMethod.CARD:
        return {
            "type": "stripe_elements",
            "client_secret": payment.client_secret,
            "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        }
    if payment.method == PaymentMethod.CARD_PRESENT:
        return {
            "type": "card_reader",
            "reader_id": payment.card_reader_id,
            "instruction": "Chạm, cắm hoặc quẹt thẻ vào đầu đọc (tap, insert or swipe the card)",
        }
    return None


class PaymentOutputSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    status = serializers.ChoiceField(choices=PaymentStatus.choices)
    purpose = serializers.ChoiceField(choices=PaymentPurpose.choices)
    invoice_id = serializers.CharField(
        source="invoice.public_id",
        allow_null=True,
        help_text="the invoice's public id (`inv_…`); null for an advance",
    )
    encounter_id = serializers.IntegerField(allow_null=True)
    amount = serializers.IntegerField()
    amount_refunded = serializers.IntegerField()
    currency = serializers.CharField()
    method = serializers.ChoiceField(choices=PaymentMethod.choices)
    channel = serializers.ChoiceField(choices=PaymentChannel.choices)
    provider = serializers.CharField()
    provider_reference = serializers.CharField()
    failure_code = serializers.CharField()
    created_at = serializers.DateTimeField()
    succeeded_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    cashier_session = serializers.CharField(source="cashier_session.public_id", allow_null=True)
    tendered = serializers.IntegerField(allow_null=True)
    change_given = serializers.IntegerField(allow_null=True)
    next_action = serializers.SerializerMethodField()
    advance_receipt = serializers.SerializerMethodField(
        help_text="Desk advances that succeeded: print-ready advance receipt data."
    )

    def get_next_action(self, payment: Payment) -> dict[str, Any] | None:
        return next_action(payment, self.context["request"])

    def get_advance_receipt(self, payment: Payment) -> dict[str, Any] | None:
        return advance_receipt_data(payment=payment)


def _payment_body(payment: Payment, request: Request) -> dict[str, Any]:
    return dict(PaymentOutputSerializer(payment, context={"request": request}).data)


class StaffPaymentSerializer(PaymentOutputSerializer):
    """A payment in the desk's lists: also what a new refund may still take and what the
    caller may do with it, both computed here (the desk holds no refund rule)."""

    refundable_amount = serializers.SerializerMethodField(
        help_text="What a new refund may still take: the amount less what its refunds hold "
        "(paid out, requested, approved, waiting for their payout); for an advance no more "
        "than is still held for its encounter; 0 unless `succeeded` or `partially_refunded`. "
        "A refund request above it is `refund_exceeds_captured` (402)."
    )
    actions = serializers.SerializerMethodField(
        help_text="What the caller may do with this payment now: `refund` (POST "
        "/payments/{id}/refunds, for a cashier, while `refundable_amount` is above 0)."
    )

    def get_refundable_amount(self, payment: Payment) -> int:
        known: dict[int, int] = self.context.setdefault("refundable", {})
        if payment.pk not in known:
            known[payment.pk] = payment_refundable_amount(payment=payment)
        return known[payment.pk]

    def get_actions(self, payment: Payment) -> list[str]:
        refundable = self.get_refundable_amount(payment)
        user = self.context["request"].user
        return ["refund"] if refundable > 0 and Role.CASHIER in staff_roles(user) else []


def staff_payments_body(payments: Iterable[Payment], request: Request) -> list[dict[str, Any]]:
    return list(StaffPaymentSerializer(payments, many=True, context={"request": request}).data)


class PaymentCreateApi(APIView):
    authentication_classes = AUTHENTICATION
    permission_classes = [PaymentParties]
    documented_errors: ErrorTable = {
        "post": (
            AmountExceedsDue,
            CardDeclined,
            CashierSessionClosed,
            EncounterClosed,
            InvoiceNotPayable,
        )
    }

    class InputSerializer(serializers.Serializer):
        invoice_id = serializers.CharField(
            required=False, max_length=32, help_text="the invoice's public id (`inv_…`)"
        )
        encounter_id = serializers.IntegerField(required=False, help_text="for an advance")
        amount = MinorUnitsField()
        currency = serializers.CharField(max_length=3, default=settings.HOSPITAL_CURRENCY)
        method = serializers.ChoiceField(choices=PaymentMethod.choices)
        tendered = MinorUnitsField(
            required=False, help_text="cash: the notes handed over (≥ amount); change = difference"
        )

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if bool(attrs.get("invoice_id")) == bool(attrs.get("encounter_id")):
                raise serializers.ValidationError(
                    {"invoice_id": "Send exactly one of invoice_id or encounter_id."},
                    code="required",
                )
            if attrs["method"] != PaymentMethod.CASH and "tendered" in attrs:
                raise serializers.ValidationError({"tendered": "Only cash is tendered."})
            return attrs

    @extend_schema(
        tags=["payments"],
        request=InputSerializer,
        responses={201: PaymentOutputSerializer},
        parameters=[
            idempotency_key_header(
                "Unique per payment attempt; a retry with it is answered the same."
            )
        ],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        """Start a payment of an invoice (or an advance on an encounter). The server
        checks the amount against what is still payable. At the desk the payment belongs
        to the cashier's open session; cash (`tendered`, change computed) succeeds at once
        into the session's drawer; `card_present` uses the terminal's reader. A kiosk pays
        only for a patient it found by a lookup in the last `KIOSK_PAY_LINK_LOOKUP_MINUTES`
        (an invoice or encounter of anyone else is the same `not_found` as one that does not
        exist); a pay link pays its own invoice only. Errors:
        `amount_exceeds_due` (402), `invalid_amount`, `currency_mismatch`,
        `invoice_not_payable` (409), `encounter_closed` (409), `method_not_allowed_here`,
        `cashier_session_required` (desk: no open session), `cashier_session_closed` (409),
        `tendered_below_amount`,
        `no_card_reader`, `card_declined` (402), `provider_error` (502),
        `provider_not_configured` (503), `idempotency_key_missing`,
        `idempotency_key_reused` (409), `request_in_progress` (409)."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        payment = payment_take(
            payer=request.user,
            invoice_public_id=values.get("invoice_id"),
            encounter_id=values.get("encounter_id"),
            amount=values["amount"],
            currency=values["currency"],
            method=values["method"],
            tendered=values.get("tendered"),
            idempotency_key=request.headers["Idempotency-Key"],
        )
        return Response(_payment_body(payment, request), status=201)


class PaymentDetailApi(APIView):
    authentication_classes = AUTHENTICATION
    permission_classes = [PaymentParties]

    @extend_schema(tags=["payments"], responses={200: PaymentOutputSerializer})
    def get(self, request: Request, public_id: str) -> Response:
        """Status and the next action: a VietQR payload and image URLs, a client secret
        for Stripe Elements, or an instruction for the card reader."""
        return Response(
            _payment_body(payment_visible(user=request.user, public_id=public_id), request)
        )


class PaymentCancelApi(APIView):
    authentication_classes = AUTHENTICATION
    permission_classes = [PaymentParties]
    documented_errors: ErrorTable = {"post": (IllegalTransition, EncounterClosed)}

    @extend_schema(tags=["payments"], request=None, responses={200: PaymentOutputSerializer})
    @idempotent
    def post(self, request: Request, public_id: str) -> Response:
        """Cancel a payment that has not succeeded. A pay link cancels only payments made
        with a pay link (`payment_cancel_not_allowed`, 403, for one started at a kiosk or the
        desk). Error: `payment_state_conflict`."""
        payment = payment_visible(user=request.user, public_id=public_id)
        if isinstance(request.user, PayLinkPrincipal) and payment.channel != PaymentChannel.PHONE:
            raise PaymentCancelNotAllowed()
        payment = payment_cancel(payment=payment)
        return Response(_payment_body(payment, request))


class PaymentQrApi(APIView):
    authentication_classes = AUTHENTICATION
    permission_classes = [PaymentParties]

    @extend_schema(tags=["payments"], responses={(200, "image/png"): bytes})
    def get(self, request: Request, public_id: str, fmt: str) -> HttpResponse:
        """The VietQR image of a pending bank-transfer payment (PNG or SVG)."""
        payment = payment_visible(user=request.user, public_id=public_id)
        action = next_action(payment, request)
        if action is None or action["type"] != "vietqr":
            raise NotFound("This payment has no QR code to show.", param="id")
        if fmt == "svg":
            return HttpResponse(qr_svg(action["payload"]), content_type="image/svg+xml")
        return HttpResponse(qr_png(action["payload"]), content_type="image/png")


class InvoicePaymentsApi(APIView):
    permission_classes = [IsCashier]

    @extend_schema(tags=["payments"], responses={200: StaffPaymentSerializer(many=True)})
    def get(self, request: Request, public_id: str) -> Response:
        """Every payment of an invoice, oldest first, with its status and what is already
        refunded (the desk refunds from this list)."""
        invoice = Invoice.objects.filter(public_id=public_id).first()
        if invoice is None:
            raise NotFound("No such invoice.", param="id")
        return Response(staff_payments_body(payments_of_invoice(invoice_id=invoice.pk), request))


class EncounterPaymentsApi(APIView):
    permission_classes = [IsCashier]

    @extend_schema(tags=["payments"], responses={200: StaffPaymentSerializer(many=True)})
    def get(self, request: Request, pk: int) -> Response:
        """Every advance (tạm ứng) paid on an encounter, oldest first."""
        if not Encounter.objects.filter(pk=pk).exists():
            raise NotFound("No such encounter.", param="id")
        return Response(staff_payments_body(payments_of_encounter(encounter_id=pk), request))


class PayLinkCreateApi(APIView):
    """A link to pay one invoice from a phone (sent by SMS): a random bearer token, valid
    ``PAY_LINK_TTL_HOURS``, revocable."""

    permission_classes = [PaymentParties]
    documented_errors: ErrorTable = {"post": (InvoiceNotPayable,)}

    class OutputSerializer(serializers.Serializer):
        id = serializers.CharField(help_text="the link's id, to revoke it")
        token = serializers.CharField()
        url = serializers.URLField()
        expires_in_hours = serializers.IntegerField()

    @extend_schema(tags=["payments"], request=None, responses={201: OutputSerializer})
    def post(self, request: Request, public_id: str) -> Response:
        """Cashiers for any open invoice; a kiosk only for an invoice of a patient it found
        by a lookup in the last `KIOSK_PAY_LINK_LOOKUP_MINUTES` (anything else is
        `not_found`, whether or not the invoice exists). Errors: `invoice_not_payable`
        (409)."""
        user = request.user
        invoice = invoice_for(caller=user, public_id=public_id, param="id")
        if invoice.status not in OPEN_INVOICE_STATUSES:
            raise InvoiceNotPayable(detail={"status": invoice.status})
        link, token = pay_link_issue(
            invoice=invoice,
            created_by=user if isinstance(user, User) else None,
            device=user if isinstance(user, Device) else None,
        )
        return Response(
            {
                "id": link.public_id,
                "token": token,
                "url": pay_link_url(token),
                "expires_in_hours": settings.PAY_LINK_TTL_HOURS,
            },
            status=201,
        )


class PayLinkRevokeApi(APIView):
    """A cashier revokes an invoice's pay links (all of them, or the one named)."""

    permission_classes = [IsCashier]

    class InputSerializer(serializers.Serializer):
        id = serializers.CharField(required=False, help_text="one link; default: all")

    class OutputSerializer(serializers.Serializer):
        revoked = serializers.IntegerField()

    @extend_schema(tags=["payments"], request=InputSerializer, responses={200: OutputSerializer})
    def post(self, request: Request, public_id: str) -> Response:
        """Revoke the invoice's active pay links (or the one `id` names): their holders can
        no longer read or pay the invoice. `revoked` counts those that were active."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invoice = Invoice.objects.filter(public_id=public_id).first()
        if invoice is None:
            raise NotFound("No such invoice.", param="id")
        assert isinstance(request.user, User)  # the cashier permission admits staff only
        revoked = pay_links_revoke(
            invoice=invoice,
            reason=PayLinkRevokeReason.BY_STAFF,
            by=request.user,
            public_id=data.validated_data.get("id"),
        )
        return Response({"revoked": revoked})


class PayLinkInvoiceSerializer(InvoiceOutputSerializer):
    """The bill as a pay link shows it: no patient or encounter id (the HIS's integer keys,
    of no use to a phone; a pay link pays its own invoice only, never an advance)."""

    patient_id = None  # type: ignore[assignment]
    encounter_id = None  # type: ignore[assignment]


class PayLinkShowApi(APIView):
    """What a phone shows from a pay link: the bill, without any other login."""

    authentication_classes: list[type] = []
    permission_classes: list[type] = []

    @extend_schema(tags=["payments"], auth=[], responses={200: PayLinkInvoiceSerializer})
    def get(self, request: Request, token: str) -> Response:
        body = invoice_body([pay_link_invoice(token=token)])[0]
        for hidden in ("patient_id", "encounter_id"):
            body.pop(hidden, None)
        return Response(body)
