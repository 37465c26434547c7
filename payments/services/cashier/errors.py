"""What the desk refuses, each with its own code."""

from __future__ import annotations

from billing.errors import DomainError


class CashierSessionRequired(DomainError):
    code = "cashier_session_required"
    default_message = "Open a cashier session first: desk payments and cash belong to one."


class CashierSessionClosed(DomainError):
    status = 409
    code = "cashier_session_closed"
    default_message = "The cashier session is no longer open (it was closed or handed over)."


class TerminalHasOpenSession(DomainError):
    status = 409
    code = "terminal_has_open_session"
    default_message = "This terminal already has an open cashier session."


class CashierHasOpenSession(DomainError):
    status = 409
    code = "cashier_has_open_session"
    default_message = "This cashier already has an open session."


class TerminalUnavailable(DomainError):
    status = 409
    code = "terminal_inactive"
    default_message = "This terminal is deactivated."


class InvalidCount(DomainError):
    code = "invalid_count"
    default_message = "Count each denomination as a whole number of notes, 0 or more."


class UnknownDenomination(DomainError):
    code = "unknown_denomination"
    default_message = "Not a VND note the drawer holds."


class TenderedBelowAmount(DomainError):
    code = "tendered_below_amount"
    default_message = "The cash tendered is less than the amount to pay."


class SessionAlreadyClosed(DomainError):
    status = 409
    code = "session_already_closed"
    default_message = "This session's cash was already counted and closed."


class SessionHandoverPending(DomainError):
    status = 409
    code = "session_handover_pending"
    default_message = "This session is being handed over: the receiver verifies the count."


class SessionNotHandedOver(DomainError):
    status = 409
    code = "session_not_handed_over"
    default_message = "This session is not waiting for a handover count."


class SessionPaymentsInFlight(DomainError):
    status = 409
    code = "session_has_payments_in_flight"
    default_message = "A desk payment of this session is still in flight: cancel it or let it end."


class SessionNotPendingApproval(DomainError):
    status = 409
    code = "session_not_pending_approval"
    default_message = "Only a session whose variance waits for approval can be approved."


class SessionNotCounted(DomainError):
    status = 409
    code = "session_not_counted"
    default_message = "The report is available once the drawer is counted (blind close)."


class NotYourSession(DomainError):
    status = 403
    code = "not_your_session"
    default_message = "This is another cashier's session."


class ApprovalByCashier(DomainError):
    status = 403
    code = "approval_by_cashier"
    default_message = (
        "A session's variance is approved by someone other than its cashier and its counter."
    )


class HandoverToSelf(DomainError):
    code = "handover_to_self"
    default_message = "A drawer is handed over to another cashier."


class HandoverReceiverInvalid(DomainError):
    code = "handover_receiver_invalid"
    default_message = "The receiver must be an active cashier."


class NotHandoverReceiver(DomainError):
    status = 403
    code = "not_handover_receiver"
    default_message = "Only the cashier the drawer is handed to verifies its count."


class InsufficientDrawerCash(DomainError):
    status = 402
    code = "insufficient_drawer_cash"
    default_message = "The drawer does not hold that much cash."


class InvalidTransfer(DomainError):
    code = "invalid_transfer"
    default_message = "A transfer moves a positive amount between two different places."


class NothingOwed(DomainError):
    status = 409
    code = "nothing_owed"
    default_message = "Nothing is owed back to the patient for this encounter."


class AmountExceedsRefundOwed(DomainError):
    status = 402
    code = "amount_exceeds_refund_owed"
    default_message = "More than what is owed back to the patient."
