"""Refunds: a cashier requests, a supervisor approves above the threshold, the desk pays
out bank-transfer refunds and cash refunds (from the cashier's open session's drawer); a
refund still waiting can be canceled."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.permissions import IsCashier, IsSupervisor
from config.api.schema import ErrorTable, idempotency_key_header
from config.identity.models import Role
from config.identity.selectors import staff_roles
from payments.errors import (
    CashierSessionClosed,
    InsufficientDrawerCash,
    PayoutMethodNotAllowed,
    RefundAlreadyPaidOut,
    RefundExceedsCaptured,
    RefundNotAllowed,
    RefundStateConflict,
)
from payments.models import PayoutMethod, Refund, RefundReason, RefundStatus
from payments.selectors.cashier_sessions import session_open_of
from payments.selectors.payments import payment_visible
from payments.selectors.refunds import refund_get, refund_payout_methods, refunds_of_payment
from payments.services.cashier.payouts import refund_pay_out
from payments.services.idempotency import idempotent
from payments.services.refunds import refund_cancel, refund_decide, refund_request

_KEY = idempotency_key_header("Unique per refund attempt.")


class RefundOutputSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    payment_id = serializers.CharField(source="payment.public_id")
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    reason = serializers.CharField()
    note = serializers.CharField()
    status = serializers.ChoiceField(choices=RefundStatus.choices)
    requested_by = serializers.CharField(source="requested_by.username")
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    payout_method = serializers.CharField()
    provider_reference = serializers.CharField(
        help_text="a card refund's id at Stripe; for a bank-transfer payout, the bank's "
        "reference of the transfer (`bank_reference` of the payout)"
    )
    cashier_session = serializers.CharField(source="cashier_session.public_id", allow_null=True)


class RefundListItemSerializer(RefundOutputSerializer):
    actions = serializers.SerializerMethodField(
        help_text="What the caller may do with this refund now: `pay_out_cash` (an approved "
        "refund of a cash payment not yet paid out, for a cashier), `pay_out_bank_transfer`."
    )

    def get_actions(self, refund: Refund) -> list[str]:
        return refund_actions(refund=refund, user=self.context["user"])


def refund_actions(*, refund: Refund, user: Any) -> list[str]:
    """The payouts the caller may make: those ``refund_payout_methods`` allows (cash for a
    cash payment, a bank transfer for any), to a cashier only (the payout endpoint's role)."""
    if Role.CASHIER not in staff_roles(user):
        return []
    return [f"pay_out_{method}" for method in refund_payout_methods(refund=refund)]


def _user(request: Request) -> User:
    assert isinstance(request.user, User)  # the role permissions admit staff only
    return request.user


class RefundCreateApi(APIView):
    permission_classes = [IsCashier]  # supervisors hold the cashier role too
    documented_errors: ErrorTable = {"post": (RefundNotAllowed, RefundExceedsCaptured)}

    @extend_schema(tags=["refunds"], responses={200: RefundListItemSerializer(many=True)})
    def get(self, request: Request, public_id: str) -> Response:
        """The payment's refunds, oldest first, in every status, each with the `actions` the
        caller may take now (e.g. `pay_out_cash` once a supervisor approved a cash refund
        from the queue). Another cashier's payment is listed as well (staff see every
        payment); an unknown id is `not_found` (404)."""
        payment = payment_visible(user=request.user, public_id=public_id)
        refunds = refunds_of_payment(payment=payment)
        items = RefundListItemSerializer(refunds, many=True, context={"user": request.user})
        return Response(items.data)

    class InputSerializer(serializers.Serializer):
        amount = serializers.IntegerField(required=False, help_text="Default: all refundable")
        reason = serializers.ChoiceField(choices=RefundReason.values)
        note = serializers.CharField(max_length=300, required=False, default="")

    @extend_schema(
        tags=["refunds"],
        request=InputSerializer,
        responses={201: RefundOutputSerializer},
        parameters=[_KEY],
    )
    @idempotent
    def post(self, request: Request, public_id: str) -> Response:
        """Refund all or part of a succeeded payment, by its own rail. Above
        `REFUND_APPROVAL_THRESHOLD` it waits for a supervisor (`requested`). Errors:
        `refund_exceeds_captured` (402), `payment_not_refundable` (409)."""
        payment = payment_visible(user=request.user, public_id=public_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values: dict[str, Any] = data.validated_data
        refund = refund_request(
            payment=payment,
            amount=values.get("amount"),  # None: all that is still refundable
            reason=values["reason"],
            note=values["note"],
            requested_by=_user(request),
            idempotency_key=request.headers["Idempotency-Key"],
            cashier_session=session_open_of(cashier=_user(request)),
        )
        return Response(RefundOutputSerializer(refund).data, status=201)


class RefundDecisionApi(APIView):
    permission_classes = [IsSupervisor]
    approve = True

    @property
    def documented_errors(self) -> ErrorTable:
        """Approving checks the refund against what is held (402); rejecting only its state."""
        if self.approve:
            return {"post": (RefundExceedsCaptured, RefundStateConflict)}
        return {"post": (RefundStateConflict,)}

    @extend_schema(tags=["refunds"], request=None, responses={200: RefundOutputSerializer})
    def post(self, request: Request, public_id: str) -> Response:
        """Approve (and process) or reject a requested refund. The requester cannot
        decide their own (`approval_by_requester`)."""
        refund = refund_decide(
            refund=refund_get(public_id=public_id), approve=self.approve, decided_by=_user(request)
        )
        return Response(RefundOutputSerializer(refund).data)


class RefundPayoutApi(APIView):
    permission_classes = [IsCashier]
    documented_errors: ErrorTable = {
        "post": (
            InsufficientDrawerCash,
            RefundExceedsCaptured,
            RefundAlreadyPaidOut,
            RefundStateConflict,
            PayoutMethodNotAllowed,
            CashierSessionClosed,
        )
    }

    class InputSerializer(serializers.Serializer):
        paid_by = serializers.ChoiceField(choices=PayoutMethod.choices)
        bank_reference = serializers.CharField(
            max_length=100,
            required=False,
            default="",
            help_text="`bank_transfer` only: the bank's reference of the transfer the "
            "hospital made to the patient (as the leftover payout's `bank_reference`)",
        )

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if attrs["bank_reference"] and attrs["paid_by"] != PayoutMethod.BANK_TRANSFER:
                raise serializers.ValidationError(
                    {"bank_reference": "Only a bank transfer has a bank reference."},
                    code="invalid",
                )
            return attrs

    @extend_schema(
        tags=["refunds"],
        request=InputSerializer,
        responses={200: RefundOutputSerializer},
        parameters=[_KEY],
    )
    @idempotent
    def post(self, request: Request, public_id: str) -> Response:
        """Pay out a bank-transfer or cash refund (money leaves the hospital: an
        Idempotency-Key is required). A bank transfer is the one the hospital made to the
        patient, recorded with its `bank_reference` (400 `parameter_invalid` with cash). Cash
        comes out of the caller's open session's drawer:
        `cashier_session_required` without one, `insufficient_drawer_cash` (402) above what
        the drawer holds; `refund_state_conflict` (409) unless it is `pending_payout`. Exactly
        one payout of a refund wins: any other (at once or later) is `refund_already_paid_out`
        (409); the same request again with the same key replays the winner's answer."""
        refund = refund_get(public_id=public_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = _user(request)
        refund = refund_pay_out(
            refund=refund,
            method=data.validated_data["paid_by"],
            session=session_open_of(cashier=user),
            by=user,
            bank_reference=data.validated_data["bank_reference"],
        )
        return Response(RefundOutputSerializer(refund).data)


class RefundCancelApi(APIView):
    permission_classes = [IsCashier]
    documented_errors: ErrorTable = {"post": (RefundStateConflict,)}

    @extend_schema(tags=["refunds"], request=None, responses={200: RefundOutputSerializer})
    def post(self, request: Request, public_id: str) -> Response:
        """Cancel a refund still waiting for approval or for its payout (by its requester
        or a supervisor): it moves no money and frees its amount. Errors:
        `refund_state_conflict` (409), `refund_cancel_not_allowed` (403)."""
        refund = refund_cancel(refund=refund_get(public_id=public_id), by=_user(request))
        return Response(RefundOutputSerializer(refund).data)
