"""payments' errors, each with its own code: payments and their amounts, the card provider,
idempotency keys, pay links, refunds, and what the cashier desk refuses.

The base classes are the frame's (``config.errors``). An advance for a closed encounter is
billing's ``EncounterClosed``.
"""

from __future__ import annotations

from config.errors import DomainError

# --- Payments ----------------------------------------------------------------------------


class AmountExceedsDue(DomainError):
    status = 402
    code = "amount_exceeds_due"
    default_message = "The amount is more than what is still due on the invoice."


class InvoiceNotPayable(DomainError):
    status = 409
    code = "invoice_not_payable"
    default_message = "The invoice is paid or void."


class InvoicePaymentsInFlight(DomainError):
    status = 409
    code = "invoice_has_payments_in_flight"
    default_message = "A payment of this invoice is still in flight: cancel it or let it finish."


class NoCardReader(DomainError):
    code = "no_card_reader"
    default_message = "This device has no card reader registered."


class MethodNotAllowed(DomainError):
    code = "method_not_allowed_here"
    default_message = "This payment method is not available on this channel."


class PaymentCancelNotAllowed(DomainError):
    status = 403
    code = "payment_cancel_not_allowed"
    default_message = "A pay link cancels only payments made with a pay link."


class IllegalTransition(DomainError):
    status = 409
    code = "payment_state_conflict"
    default_message = "The payment cannot make this change from its current status."


# --- Card provider (Stripe) --------------------------------------------------------------


class ProviderNotConfigured(DomainError):
    status = 503
    code = "provider_not_configured"
    default_message = "Card payments are not configured on this installation."


class ProviderError(DomainError):
    status = 502
    code = "provider_error"
    default_message = "The card provider could not be reached; nothing was charged twice."


class ProviderRefused(ProviderError):
    """Stripe answered and refused for good (a bad or impossible request, e.g. a charge
    already refunded in the dashboard): retrying with the same key cannot succeed."""


class CardDeclined(DomainError):
    status = 402
    code = "card_declined"
    default_message = "The card was declined."


# --- Idempotency keys --------------------------------------------------------------------


class IdempotencyKeyMissing(DomainError):
    code = "idempotency_key_missing"
    default_message = "POSTs that move money need an Idempotency-Key header (at most 255 chars)."


class IdempotencyKeyReused(DomainError):
    status = 409
    code = "idempotency_key_reused"
    default_message = "This Idempotency-Key was used with a different request."


class RequestInProgress(DomainError):
    status = 409
    code = "request_in_progress"
    default_message = "A request with this Idempotency-Key is still in progress; retry shortly."


# --- Pay links ---------------------------------------------------------------------------


class PayLinkInvalid(DomainError):
    status = 404
    code = "pay_link_invalid"
    default_message = "This pay link is invalid or has expired."


# --- Refunds -----------------------------------------------------------------------------


class RefundNotAllowed(DomainError):
    status = 409
    code = "payment_not_refundable"
    default_message = "Only a succeeded payment can be refunded."


class RefundExceedsCaptured(DomainError):
    status = 402
    code = "refund_exceeds_captured"
    default_message = "Refunds would add up to more than was captured."


class RefundStateConflict(DomainError):
    status = 409
    code = "refund_state_conflict"
    default_message = "The refund is not in a state that allows this."


class SelfApproval(DomainError):
    status = 403
    code = "approval_by_requester"
    default_message = "A refund must be approved by someone other than who requested it."


class InvalidRefund(DomainError):
    code = "invalid_refund"


class RefundAlreadyPaidOut(DomainError):
    status = 409
    code = "refund_already_paid_out"
    default_message = "This refund was already paid out; the money must not be handed out again."


class PayoutMethodNotAllowed(DomainError):
    status = 409
    code = "payout_method_not_allowed"
    default_message = (
        "This refund cannot be paid out this way: a cash payout is only for a refund of a cash "
        "payment; pay the others by bank transfer."
    )


class RefundCancelNotAllowed(DomainError):
    status = 403
    code = "refund_cancel_not_allowed"
    default_message = "Only the refund's requester or a supervisor may cancel it."


# --- Cashier desk ------------------------------------------------------------------------


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


class TenderedTooLarge(DomainError):
    code = "tendered_too_large"
    default_message = (
        "The cash tendered is more than the amount plus CASH_TENDERED_MAX_OVER_AMOUNT "
        "(fifty of the largest note by default): recount it."
    )


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


class CashTransferStateConflict(DomainError):
    status = 409
    code = "cash_transfer_state_conflict"
    default_message = "This cash transfer was already confirmed or canceled."


class NotTransferReceiver(DomainError):
    status = 403
    code = "not_transfer_receiver"
    default_message = (
        "Only the receiving drawer's cashier (for the safe, a supervisor who neither sent nor "
        "gave the cash) counts a transfer in."
    )


class SessionTransfersPending(DomainError):
    status = 409
    code = "session_has_pending_transfers"
    default_message = (
        "A cash transfer of this session is still in transit: it is counted in (or canceled) "
        "before the session closes or is handed over."
    )


class NothingOwed(DomainError):
    status = 409
    code = "nothing_owed"
    default_message = "Nothing is owed back to the patient for this encounter."


class AmountExceedsRefundOwed(DomainError):
    status = 402
    code = "amount_exceeds_refund_owed"
    default_message = "More than what is owed back to the patient."


CASH_NEEDS_TENDERED = "Cash needs the amount tendered."


class TenderedMissing(DomainError):
    """Cash without ``tendered``, answered as the API answers any missing field."""

    code = "parameter_missing"
    default_message = f"tendered: {CASH_NEEDS_TENDERED}"


# --- Settlement and reconciliation ---------------------------------------------------------


class StatementInvalid(DomainError):
    """A statement file we cannot read, or one of its rows: ``detail`` names the row (as a
    spreadsheet numbers it) and the column."""

    code = "statement_invalid"
    default_message = "The statement file cannot be read."


class StatementWrongAccount(DomainError):
    code = "statement_wrong_account"
    default_message = "The statement is for an account that is not one of the hospital's."


class UnknownBank(DomainError):
    code = "statement_bank_unknown"
    default_message = "No statement format is known for this bank."


class ReconItemStateConflict(DomainError):
    status = 409
    code = "recon_item_state_conflict"
    default_message = "The reconciliation item cannot make this change from its status."


class ReconMatchInvalid(DomainError):
    code = "recon_match_invalid"
    default_message = "The item cannot be matched to that."


class WriteOffApprovalBySameUser(DomainError):
    status = 403
    code = "write_off_approval_by_requester"
    default_message = "A write-off above the threshold is approved by another person of finance."


class InvalidCashDeposit(DomainError):
    code = "invalid_cash_deposit"
    default_message = "A deposit takes a positive amount the main safe holds."
