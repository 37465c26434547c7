"""Reading the desk: terminals, a session by its id, and the sessions a cashier holds (the
open one their desk payments and cash belong to, and the drawers handed over to them), a
cash transfer by its id, and the transfers a cashier sees at the desk (what waits for their
count, what their drawer sent or received)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from config.errors import NotFound
from payments.errors import CashierSessionRequired
from payments.models import (
    ACTIVE_SESSION_STATUSES,
    CashierSession,
    CashierSessionStatus,
    CashTransfer,
    CashTransferStatus,
    Terminal,
)


def terminal_get(*, code: str, param: str = "code") -> Terminal:
    terminal = Terminal.objects.filter(code=code).first()
    if terminal is None:
        raise NotFound("No such terminal.", param=param)
    return terminal


def session_get(*, public_id: str, param: str = "id") -> CashierSession:
    session = (
        CashierSession.objects.select_related("terminal__cash_account", "cashier")
        .filter(public_id=public_id)
        .first()
    )
    if session is None:
        raise NotFound("No such cashier session.", param=param)
    return session


def session_open_of(*, cashier: Any) -> CashierSession | None:
    """The cashier's open session, if any (not locked: a movement locks it itself)."""
    return (
        CashierSession.objects.select_related("terminal", "terminal__cash_account")
        .filter(cashier=cashier, status=CashierSessionStatus.OPEN)
        .first()
    )


def session_open_for(*, cashier: Any) -> CashierSession:
    """The cashier's open session (not locked), or ``cashier_session_required``."""
    session = session_open_of(cashier=cashier)
    if session is None:
        raise CashierSessionRequired()
    return session


def session_active_of(*, cashier: Any) -> CashierSession | None:
    """The cashier's active session: open, or being handed over."""
    return (
        CashierSession.objects.select_related("terminal", "cashier")
        .filter(cashier=cashier, status__in=ACTIVE_SESSION_STATUSES)
        .first()
    )


def sessions_handed_over_to(*, cashier: Any) -> QuerySet[CashierSession]:
    """The drawers handed over to the cashier, waiting for their count."""
    return CashierSession.objects.select_related("terminal", "cashier").filter(
        handover_receiver=cashier, status=CashierSessionStatus.HANDOVER_PENDING
    )


def transfer_get(*, public_id: str) -> CashTransfer:
    transfer = (
        CashTransfer.objects.select_related("from_session", "to_session", "created_by")
        .filter(public_id=public_id)
        .first()
    )
    if transfer is None:
        raise NotFound("No such cash transfer.", param="id")
    return transfer


def _transfers() -> QuerySet[CashTransfer]:
    return CashTransfer.objects.select_related(
        "from_session__terminal",
        "from_session__cashier",
        "to_session__terminal",
        "to_session__cashier",
        "created_by",
        "decided_by",
    )


def transfers_to_confirm_by(*, user: Any, is_supervisor: bool) -> QuerySet[CashTransfer]:
    """Pending transfers ``user`` may count in, oldest first: to their open drawer, and for a
    supervisor those to the safe that they neither sent nor gave from their drawer (the
    rule ``cash_transfer_confirm`` enforces)."""
    to_me = Q(to_session__cashier=user, to_session__status=CashierSessionStatus.OPEN)
    to_safe = Q(to_session__isnull=True) & ~Q(created_by=user) & ~Q(from_session__cashier=user)
    return (
        _transfers()
        .filter(status=CashTransferStatus.PENDING)
        .filter(to_me | to_safe if is_supervisor else to_me)
        .order_by("created_at", "id")
    )


def transfers_of_session(*, session: CashierSession) -> QuerySet[CashTransfer]:
    """Every transfer out of or into the session's drawer, newest first."""
    return (
        _transfers()
        .filter(Q(from_session=session) | Q(to_session=session))
        .order_by("-created_at", "-id")
    )


def sessions_open_except(*, session: CashierSession | None) -> QuerySet[CashierSession]:
    """The open drawers (by terminal code) other than ``session``: where cash can be sent."""
    sessions = CashierSession.objects.select_related("terminal", "cashier").filter(
        status=CashierSessionStatus.OPEN
    )
    if session is not None:
        sessions = sessions.exclude(pk=session.pk)
    return sessions.order_by("terminal__code")


def sessions_awaiting_approval() -> QuerySet[CashierSession]:
    """Counted sessions whose variance waits for a supervisor, oldest count first."""
    return (
        CashierSession.objects.select_related("terminal", "cashier", "approved_by")
        .filter(status=CashierSessionStatus.PENDING_APPROVAL)
        .order_by("counted_at", "id")
    )
