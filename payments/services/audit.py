"""The audit rows of the payments services, written inside the money change's transaction
(``config.audit.services.audit_change``) as its last write: either both commit or neither.

The actor is the current request's caller (the system in a task or a command); a cashier
session names the terminal."""

from __future__ import annotations

from config.audit.models import AuditCategory, AuditOutcome
from config.audit.services import audit_change
from payments.models import CashierSession, CashTransfer, Payment, Refund

PAYMENT_FIELDS = (
    "amount",
    "currency",
    "method",
    "channel",
    "purpose",
    "status",
    "invoice_id",
    "encounter_id",
    "tendered",
)
REFUND_FIELDS = ("amount", "currency", "status", "reason", "payout_method", "payment_id")
SESSION_FIELDS = (
    "status",
    "currency",
    "opening_float",
    "counted_cash",
    "expected_cash",
    "variance",
    "handover_counted_cash",
)
TRANSFER_FIELDS = ("amount", "currency", "status", "counted_amount")


def terminal_of(session: CashierSession | None) -> str:
    return session.terminal.code if session is not None else ""


def audit_payment(action: str, payment: Payment) -> None:
    audit_change(action, payment, PAYMENT_FIELDS, terminal=terminal_of(payment.cashier_session))


def audit_refund(
    action: str,
    refund: Refund,
    *,
    category: str = AuditCategory.MONEY,
    outcome: str = AuditOutcome.SUCCESS,
) -> None:
    audit_change(
        action,
        refund,
        REFUND_FIELDS,
        category=category,
        outcome=outcome,
        terminal=terminal_of(refund.cashier_session),
    )


def audit_session(
    action: str, session: CashierSession, *, category: str = AuditCategory.MONEY
) -> None:
    audit_change(action, session, SESSION_FIELDS, category=category, terminal=terminal_of(session))


def audit_transfer(
    action: str, transfer: CashTransfer, *, category: str = AuditCategory.MONEY
) -> None:
    sides = (transfer.from_session, transfer.to_session)
    audit_change(
        action,
        transfer,
        TRANSFER_FIELDS,
        category=category,
        terminal=terminal_of(next((s for s in sides if s is not None), None)),
        from_session=transfer.from_session_id,
        to_session=transfer.to_session_id,
    )
