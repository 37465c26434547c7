"""The cashier's desk: sessions (open, blind close, approval, handover), cash transfers and
discharge leftovers paid back. Reports are in ``cashier_reports.py``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.models import Encounter
from config.api.permissions import IsCashier, IsSupervisor
from config.api.schema import ErrorTable, idempotency_key_header
from config.errors import NotFound
from config.identity.models import Role
from config.identity.selectors import staff_roles
from payments.api.refunds import RefundOutputSerializer
from payments.errors import (
    AmountExceedsRefundOwed,
    CashierHasOpenSession,
    CashierSessionClosed,
    CashTransferStateConflict,
    InsufficientDrawerCash,
    NothingOwed,
    SessionAlreadyClosed,
    SessionHandoverPending,
    SessionNotHandedOver,
    SessionNotPendingApproval,
    SessionPaymentsInFlight,
    SessionTransfersPending,
    TerminalHasOpenSession,
    TerminalUnavailable,
)
from payments.models import (
    COUNTED_SESSION_STATUSES,
    DENOMINATIONS,
    CashierSession,
    CashTransferStatus,
    PayoutMethod,
)
from payments.selectors.cashier_sessions import (
    session_active_of,
    session_get,
    session_open_of,
    sessions_awaiting_approval,
    sessions_handed_over_to,
    sessions_open_except,
    terminal_get,
    transfer_get,
    transfers_of_session,
    transfers_to_confirm_by,
)
from payments.selectors.refunds import refunds_awaiting_approval
from payments.services.cashier.close import (
    session_approve_close,
    session_close,
    session_handover,
    session_handover_accept,
)
from payments.services.cashier.counts import count_normalize
from payments.services.cashier.payouts import refund_owed_pay_out
from payments.services.cashier.sessions import session_check_owner, session_open
from payments.services.cashier.transfers import (
    cash_transfer_cancel,
    cash_transfer_confirm,
    cash_transfer_create,
)
from payments.services.idempotency import idempotent

KEY = idempotency_key_header("Unique per cash movement; a retry with it is answered the same.")
COUNT_HELP = "Notes by denomination: {" + ", ".join(f'"{d}": n' for d in DENOMINATIONS) + "}"


def money_post_schema(request: Any, response: Any, status: int) -> Callable[..., Any]:
    """The OpenAPI description of a desk POST that moves cash (it needs an Idempotency-Key)."""
    return extend_schema(
        tags=["cashier"], request=request, responses={status: response}, parameters=[KEY]
    )


def staff(request: Request) -> User:
    assert isinstance(request.user, User)  # the role permissions admit staff only
    return request.user


class SessionOutputSerializer(serializers.Serializer):
    """Expected cash and variance appear only once the count is recorded (blind close)."""

    id = serializers.CharField(source="public_id")
    terminal = serializers.CharField(source="terminal.code")
    cashier = serializers.CharField(source="cashier.username")
    status = serializers.CharField()
    currency = serializers.CharField()
    opening_float = serializers.IntegerField()
    opening_count = serializers.DictField(child=serializers.IntegerField())
    opened_at = serializers.DateTimeField()
    handed_over_from = serializers.CharField(
        source="handed_over_from.public_id", allow_null=True, default=None
    )
    handover_to = serializers.CharField(
        source="handover_receiver.username", allow_null=True, default=None
    )
    counted_cash = serializers.IntegerField(allow_null=True)
    closing_count = serializers.DictField(child=serializers.IntegerField(), allow_null=True)
    expected_cash = serializers.SerializerMethodField()
    variance = serializers.SerializerMethodField()
    counted_at = serializers.DateTimeField(allow_null=True)
    approved_by = serializers.CharField(
        source="approved_by.username", allow_null=True, default=None
    )
    closed_at = serializers.DateTimeField(allow_null=True)

    def get_expected_cash(self, session: CashierSession) -> int | None:
        return session.expected_cash if session.status in COUNTED_SESSION_STATUSES else None

    def get_variance(self, session: CashierSession) -> int | None:
        return session.variance if session.status in COUNTED_SESSION_STATUSES else None


def body(session: CashierSession) -> dict[str, Any]:
    return dict(SessionOutputSerializer(session).data)


class CountSerializer(serializers.Serializer):
    count = serializers.DictField(help_text=COUNT_HELP)


class SessionOpenApi(APIView):
    permission_classes = [IsCashier]
    documented_errors: ErrorTable = {
        "post": (CashierHasOpenSession, TerminalHasOpenSession, TerminalUnavailable)
    }

    class InputSerializer(serializers.Serializer):
        terminal = serializers.CharField(max_length=15, help_text="terminal code")
        opening_count = serializers.DictField(help_text=COUNT_HELP)

    @money_post_schema(InputSerializer, SessionOutputSerializer, 201)
    @idempotent
    def post(self, request: Request) -> Response:
        """Open a session on a terminal with an opening float counted by denomination (taken
        from the main safe). Errors: `terminal_has_open_session` (409),
        `cashier_has_open_session` (409), `unknown_denomination`, `invalid_count`,
        `terminal_inactive` (409)."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        session = session_open(
            terminal=terminal_get(code=data.validated_data["terminal"], param="terminal"),
            cashier=staff(request),
            opening_count=data.validated_data["opening_count"],
        )
        return Response(body(session), status=201)


class SessionCurrentApi(APIView):
    permission_classes = [IsCashier]

    class OutputSerializer(serializers.Serializer):
        session = SessionOutputSerializer(allow_null=True)
        handovers_to_me = SessionOutputSerializer(many=True)
        denominations = serializers.ListField(
            child=serializers.IntegerField(),
            help_text="the notes a count is made of, largest first (keys of every count)",
        )

    @extend_schema(tags=["cashier"], responses={200: OutputSerializer})
    def get(self, request: Request) -> Response:
        """The caller's active session (open or being handed over; `null` if none) and the
        drawers handed over to the caller, waiting for their count."""
        user = staff(request)
        current = session_active_of(cashier=user)
        waiting = sessions_handed_over_to(cashier=user)
        return Response(
            {
                "session": body(current) if current else None,
                "handovers_to_me": [body(s) for s in waiting],
                "denominations": list(DENOMINATIONS),
            }
        )


class ApprovalQueueApi(APIView):
    permission_classes = [IsSupervisor]

    class OutputSerializer(serializers.Serializer):
        sessions = SessionOutputSerializer(many=True)
        refunds = RefundOutputSerializer(many=True)

    @extend_schema(tags=["cashier"], responses={200: OutputSerializer})
    def get(self, request: Request) -> Response:
        """What waits for a supervisor: counted sessions whose variance needs approval, and
        refunds requested above the approval threshold (oldest first)."""
        return Response(
            {
                "sessions": [body(s) for s in sessions_awaiting_approval()],
                "refunds": RefundOutputSerializer(refunds_awaiting_approval(), many=True).data,
            }
        )


class SessionDetailApi(APIView):
    permission_classes = [IsCashier]

    @extend_schema(tags=["cashier"], responses={200: SessionOutputSerializer})
    def get(self, request: Request, public_id: str) -> Response:
        """A session (a cashier sees their own; a supervisor any)."""
        session = session_get(public_id=public_id)
        session_check_owner(session=session, user=staff(request))
        return Response(body(session))


class SessionCloseApi(APIView):
    permission_classes = [IsCashier]
    documented_errors: ErrorTable = {
        "post": (
            SessionAlreadyClosed,
            SessionHandoverPending,
            SessionPaymentsInFlight,
            SessionTransfersPending,
        )
    }

    @money_post_schema(CountSerializer, SessionOutputSerializer, 200)
    @idempotent
    def post(self, request: Request, public_id: str) -> Response:
        """Blind close: send only the counted notes; the answer then reveals expected cash
        and variance (posted to cash over/short). Above
        `CASHIER_VARIANCE_APPROVAL_THRESHOLD` the session is `pending_approval`. Errors:
        `session_already_closed` (409), `session_handover_pending` (409),
        `session_has_payments_in_flight` (409), `session_has_pending_transfers` (409),
        `unknown_denomination`, `invalid_count`."""
        data = CountSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        session = session_close(
            session=session_get(public_id=public_id),
            count=data.validated_data["count"],
            closed_by=staff(request),
        )
        return Response(body(session))


class SessionApproveCloseApi(APIView):
    permission_classes = [IsSupervisor]
    documented_errors: ErrorTable = {"post": (SessionNotPendingApproval,)}

    @extend_schema(tags=["cashier"], request=None, responses={200: SessionOutputSerializer})
    def post(self, request: Request, public_id: str) -> Response:
        """A supervisor (not the session's cashier) approves a variance above the
        threshold. Errors: `session_not_pending_approval` (409), `approval_by_cashier`."""
        session = session_approve_close(
            session=session_get(public_id=public_id), approved_by=staff(request)
        )
        return Response(body(session))


class SessionHandoverApi(APIView):
    permission_classes = [IsCashier]
    documented_errors: ErrorTable = {
        "post": (
            CashierHasOpenSession,
            SessionAlreadyClosed,
            SessionHandoverPending,
            SessionPaymentsInFlight,
            SessionTransfersPending,
        )
    }

    class InputSerializer(CountSerializer):
        to = serializers.CharField(help_text="username of the receiving cashier")

    @money_post_schema(InputSerializer, SessionOutputSerializer, 200)
    @idempotent
    def post(self, request: Request, public_id: str) -> Response:
        """Hand the open drawer to the next cashier with the giver's count; the session
        takes no more cash until the receiver verifies the count. Errors:
        `handover_to_self`, `handover_receiver_invalid`, `cashier_has_open_session` (409)."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        receiver = User.objects.filter(username=data.validated_data["to"]).first()
        if receiver is None:
            raise NotFound("No such cashier.", param="to")
        session = session_handover(
            session=session_get(public_id=public_id),
            receiver=receiver,
            count=data.validated_data["count"],
            by=staff(request),
        )
        return Response(body(session))


class SessionHandoverAcceptApi(APIView):
    permission_classes = [IsCashier]
    documented_errors: ErrorTable = {
        "post": (SessionNotHandedOver, CashierHasOpenSession, TerminalHasOpenSession)
    }

    class OutputSerializer(serializers.Serializer):
        handed_over = SessionOutputSerializer()
        session = SessionOutputSerializer()
        giver_counted_cash = serializers.IntegerField()
        difference_from_giver = serializers.IntegerField()

    @money_post_schema(CountSerializer, OutputSerializer, 201)
    @idempotent
    def post(self, request: Request, public_id: str) -> Response:
        """The receiver's verified count: the giving session closes on it (a difference
        from its expected cash is its variance) and the receiver's session opens with it as
        float. Errors: `session_not_handed_over` (409), `not_handover_receiver` (403)."""
        data = CountSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        given, received = session_handover_accept(
            session=session_get(public_id=public_id),
            count=data.validated_data["count"],
            receiver=staff(request),
        )
        giver_count = given.handover_counted_cash or 0
        out = {
            "handed_over": body(given),
            "session": body(received),
            "giver_counted_cash": giver_count,
            "difference_from_giver": received.opening_float - giver_count,
        }
        return Response(out, status=201)


class CashTransferOutputSerializer(serializers.Serializer):
    """A side left empty (``null``) is the main safe."""

    id = serializers.CharField(source="public_id")
    from_session = serializers.CharField(
        source="from_session.public_id", allow_null=True, default=None
    )
    from_terminal = serializers.CharField(
        source="from_session.terminal.code", allow_null=True, default=None
    )
    from_cashier = serializers.CharField(
        source="from_session.cashier.username", allow_null=True, default=None
    )
    to_session = serializers.CharField(source="to_session.public_id", allow_null=True, default=None)
    to_terminal = serializers.CharField(
        source="to_session.terminal.code", allow_null=True, default=None
    )
    to_cashier = serializers.CharField(
        source="to_session.cashier.username", allow_null=True, default=None
    )
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    note = serializers.CharField()
    status = serializers.ChoiceField(choices=CashTransferStatus.choices)
    counted_amount = serializers.IntegerField(allow_null=True)
    created_by = serializers.CharField(source="created_by.username")
    created_at = serializers.DateTimeField()
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True, default=None)
    decided_at = serializers.DateTimeField(allow_null=True)


def amount_or_count(values: dict[str, Any], amount_field: str) -> int:
    """The VND of a transfer's figure, sent either as a sum or as notes by denomination
    (``count``, totalled here): exactly one of them."""
    if (values.get(amount_field) is None) == (values.get("count") is None):
        raise serializers.ValidationError(
            {amount_field: f"Send exactly one of {amount_field} or count."}, code="required"
        )
    if values.get("count") is not None:
        return count_normalize(count=values["count"])[1]
    amount: int = values[amount_field]
    return amount


class OpenDrawerSerializer(serializers.Serializer):
    session = serializers.CharField(source="public_id")
    terminal = serializers.CharField(source="terminal.code")
    cashier = serializers.CharField(source="cashier.username")


class CashTransferCreateApi(APIView):
    permission_classes = [IsCashier]
    documented_errors: ErrorTable = {"post": (CashierSessionClosed, InsufficientDrawerCash)}

    class InputSerializer(serializers.Serializer):
        from_session = serializers.CharField(required=False, help_text="empty: the main safe")
        to_session = serializers.CharField(required=False, help_text="empty: the main safe")
        amount = serializers.IntegerField(required=False, help_text="VND (or send count)")
        count = serializers.DictField(required=False, help_text=COUNT_HELP + " (or send amount)")
        note = serializers.CharField(max_length=300, required=False, default="")

    OutputSerializer = CashTransferOutputSerializer

    class ListOutputSerializer(serializers.Serializer):
        to_confirm = CashTransferOutputSerializer(
            many=True,
            help_text="pending transfers waiting for the caller's count: to their open drawer, "
            "and for a supervisor those to the safe they neither sent nor gave",
        )
        session_transfers = CashTransferOutputSerializer(
            many=True, help_text="every transfer out of or into the caller's active drawer"
        )
        open_drawers = OpenDrawerSerializer(
            many=True, help_text="the other open drawers, where cash can be sent"
        )

    @extend_schema(tags=["cashier"], responses={200: ListOutputSerializer})
    def get(self, request: Request) -> Response:
        """The transfers the caller sees at the desk: those waiting for their count (oldest
        first), those of their active drawer (newest first, any status), and the open
        drawers cash can be sent to."""
        user = staff(request)
        session = session_active_of(cashier=user)
        to_confirm = transfers_to_confirm_by(
            user=user, is_supervisor=Role.SUPERVISOR in staff_roles(user)
        )
        mine = transfers_of_session(session=session) if session else []
        return Response(
            {
                "to_confirm": CashTransferOutputSerializer(to_confirm, many=True).data,
                "session_transfers": CashTransferOutputSerializer(mine, many=True).data,
                "open_drawers": OpenDrawerSerializer(
                    sessions_open_except(session=session), many=True
                ).data,
            }
        )

    @money_post_schema(InputSerializer, CashTransferOutputSerializer, 201)
    @idempotent
    def post(self, request: Request) -> Response:
        """Send cash from an open drawer to another, or between a drawer and the main safe
        (leave that side out): `amount` in VND, or `count` by denomination. The transfer is
        `pending` (in transit, in neither drawer's expected cash) until the receiver
        confirms the count at `/cashier/transfers/{id}/confirm`. Errors:
        `insufficient_drawer_cash` (402), `cashier_session_closed` (409),
        `invalid_transfer`, `not_your_session` (403), `unknown_denomination`,
        `invalid_count`."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        amount = amount_or_count(values, "amount")
        transfer = cash_transfer_create(
            from_session=(
                session_get(public_id=values["from_session"], param="from_session")
                if values.get("from_session")
                else None
            ),
            to_session=(
                session_get(public_id=values["to_session"], param="to_session")
                if values.get("to_session")
                else None
            ),
            amount=amount,
            note=values["note"],
            by=staff(request),
        )
        return Response(CashTransferOutputSerializer(transfer).data, status=201)


class CashTransferConfirmApi(APIView):
    permission_classes = [IsCashier]
    documented_errors: ErrorTable = {"post": (CashTransferStateConflict, CashierSessionClosed)}

    class InputSerializer(serializers.Serializer):
        counted = serializers.IntegerField(
            min_value=0, required=False, help_text="VND counted in (or send count)"
        )
        count = serializers.DictField(required=False, help_text=COUNT_HELP + " (or counted)")

    @money_post_schema(InputSerializer, CashTransferOutputSerializer, 200)
    @idempotent
    def post(self, request: Request, public_id: str) -> Response:
        """The receiver counts a pending transfer in (`counted` in VND, or `count` by
        denomination): the receiving drawer's cashier, or for the safe a supervisor who
        neither sent nor gave it. The counted cash enters the receiving side; a difference
        goes back to the giving side (its close shows it). Errors: `not_transfer_receiver`
        (403), `cash_transfer_state_conflict` (409), `cashier_session_closed` (409),
        `unknown_denomination`, `invalid_count`."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        transfer = cash_transfer_confirm(
            transfer=transfer_get(public_id=public_id),
            counted=amount_or_count(data.validated_data, "counted"),
            by=staff(request),
        )
        return Response(CashTransferOutputSerializer(transfer).data)


class CashTransferCancelApi(APIView):
    permission_classes = [IsCashier]
    documented_errors: ErrorTable = {"post": (CashTransferStateConflict, CashierSessionClosed)}

    @money_post_schema(None, CashTransferOutputSerializer, 200)
    @idempotent
    def post(self, request: Request, public_id: str) -> Response:
        """Cancel a pending transfer (its giver, whoever sent it, or a supervisor): the cash
        is back in the giving drawer. Errors: `cash_transfer_state_conflict` (409),
        `not_your_session` (403)."""
        transfer = cash_transfer_cancel(
            transfer=transfer_get(public_id=public_id), by=staff(request)
        )
        return Response(CashTransferOutputSerializer(transfer).data)


class RefundOwedPayoutApi(APIView):
    permission_classes = [IsCashier]
    documented_errors: ErrorTable = {
        "post": (AmountExceedsRefundOwed, InsufficientDrawerCash, NothingOwed, CashierSessionClosed)
    }

    class InputSerializer(serializers.Serializer):
        encounter_id = serializers.IntegerField()
        amount = serializers.IntegerField(required=False, help_text="default: all still owed")
        paid_by = serializers.ChoiceField(choices=PayoutMethod.choices)
        bank_reference = serializers.CharField(max_length=100, required=False, default="")

    class OutputSerializer(serializers.Serializer):
        id = serializers.CharField(source="public_id")
        encounter_id = serializers.IntegerField()
        amount = serializers.IntegerField()
        currency = serializers.CharField()
        method = serializers.CharField()
        cashier_session = serializers.CharField(
            source="cashier_session.public_id", allow_null=True, default=None
        )
        bank_reference = serializers.CharField()
        created_at = serializers.DateTimeField()

    @money_post_schema(InputSerializer, OutputSerializer, 201)
    @idempotent
    def post(self, request: Request) -> Response:
        """Pay back the advance left over at discharge (refunds owed): cash from the
        caller's open session's drawer, or record the bank transfer. Errors: `nothing_owed`
        (409), `amount_exceeds_refund_owed` (402), `insufficient_drawer_cash` (402),
        `cashier_session_required`."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        encounter = Encounter.objects.filter(pk=values["encounter_id"]).first()
        if encounter is None:
            raise NotFound("No such encounter.", param="encounter_id")
        user = staff(request)
        payout = refund_owed_pay_out(
            encounter=encounter,
            amount=values.get("amount"),
            method=values["paid_by"],
            session=session_open_of(cashier=user),
            by=user,
            idempotency_key=request.headers["Idempotency-Key"],
            bank_reference=values["bank_reference"],
        )
        return Response(self.OutputSerializer(payout).data, status=201)
