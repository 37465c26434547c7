"""Opening a cashier session, and locking the caller's open one (found by
``payments.selectors.cashier_sessions``).

Every cash movement of a session — cash payments, payouts, transfers, the close — takes the
session's row lock first, so the session's expected cash is never read half-way through a
movement and a payment can never slip in between the count and the close."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from billing import ledger_memos as memos
from billing.chart import AccountRole, account_for
from billing.models import VoucherType
from billing.money import Money
from billing.services.ledger import Posting, ledger_post
from config.identity.models import Role
from config.identity.selectors import staff_roles
from payments.errors import (
    CashierHasOpenSession,
    CashierSessionClosed,
    NotYourSession,
    TerminalHasOpenSession,
    TerminalUnavailable,
)
from payments.models import (
    ACTIVE_SESSION_STATUSES,
    CashierSession,
    CashierSessionStatus,
    Terminal,
)
from payments.services.audit import audit_session
from payments.services.cashier.counts import count_normalize


def _raise_for_constraint(error: IntegrityError) -> None:
    text = str(error)
    if "cashier_session_one_active_per_terminal" in text:
        raise TerminalHasOpenSession(param="terminal") from error
    if "cashier_session_one_active_per_cashier" in text:
        raise CashierHasOpenSession() from error
    raise error


def session_create(
    *,
    terminal: Terminal,
    cashier: User,
    opening_count: dict[str, int],
    opening_float: int,
    handed_over_from: CashierSession | None = None,
) -> CashierSession:
    """Insert an open session; the partial unique constraints (one active session per
    terminal, one per cashier) decide between concurrent openers."""
    try:
        with transaction.atomic():
            return CashierSession.objects.create(
                terminal=terminal,
                cashier=cashier,
                opening_count=opening_count,
                opening_float=opening_float,
                currency=settings.HOSPITAL_CURRENCY,
                handed_over_from=handed_over_from,
            )
    except IntegrityError as error:
        _raise_for_constraint(error)
        raise  # pragma: no cover - _raise_for_constraint always raises


def session_open(*, terminal: Terminal, cashier: User, opening_count: Any) -> CashierSession:
    """Open a session on ``terminal`` with an opening float counted by denomination; the
    float comes out of the main safe (role ``MAIN_SAFE``) into the drawer's account.

    At most one active session per terminal and per cashier, enforced by the database under
    concurrent opens (``terminal_has_open_session`` / ``cashier_has_open_session``, 409)."""
    count, total = count_normalize(count=opening_count, param="opening_count")
    if not terminal.is_active:
        raise TerminalUnavailable(param="terminal")
    with transaction.atomic():
        if CashierSession.objects.filter(
            terminal=terminal, status__in=ACTIVE_SESSION_STATUSES
        ).exists():
            raise TerminalHasOpenSession(param="terminal")
        if CashierSession.objects.filter(
            cashier=cashier, status__in=ACTIVE_SESSION_STATUSES
        ).exists():
            raise CashierHasOpenSession()
        session = session_create(
            terminal=terminal, cashier=cashier, opening_count=count, opening_float=total
        )
        if total > 0:
            money = Money(total, session.currency)
            ledger_post(
                posting_key=f"cashier_session:{session.pk}:float",
                lines=[
                    Posting.dr(terminal.cash_account.code, money, session.ledger_reference),
                    Posting.cr(account_for(AccountRole.MAIN_SAFE), money),
                ],
                source_type="cashier_session",
                source_id=session.public_id,
                memo=memos.opening_float(session.public_id, terminal.code),
                # Cash paid out of the main safe into the drawer.
                voucher_type=VoucherType.CASH_PAYMENT,
                voucher_number=session.public_id,
                recorded_by=cashier.get_username(),
            )
        audit_session("cashier_session.open", session)
    return session


def session_lock_open(*, session: CashierSession) -> CashierSession:
    """Lock ``session`` (inside the caller's transaction) and require it still open: a
    movement that lost the race against the close is refused, never lost."""
    locked = (
        CashierSession.objects.select_for_update(of=("self",))
        .select_related("terminal", "terminal__cash_account")
        .get(pk=session.pk)
    )
    if locked.status != CashierSessionStatus.OPEN:
        raise CashierSessionClosed(detail={"session": locked.public_id, "status": locked.status})
    return locked


def session_check_owner(*, session: CashierSession, user: Any) -> None:
    """A cashier acts on their own session; a supervisor on any."""
    if session.cashier_id != user.pk and Role.SUPERVISOR not in staff_roles(user):
        raise NotYourSession()
