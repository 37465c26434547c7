"""The one error hierarchy of vienphi (after Zulip's JsonableError and Stripe's error body).

Every failure a client can cause is a subclass of :class:`DomainError` with a stable
machine-readable ``code`` and an HTTP status. The API frame renders it as
``{"error": {"code", "message", "param"?, "detail"?}}`` and rolls the transaction back.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "invalid_request"
    default_message: ClassVar[str] = "The request could not be processed."

    def __init__(
        self,
        message: str | None = None,
        *,
        param: str | None = None,
        detail: Any = None,
    ) -> None:
        self.message = message or self.default_message
        self.param = param
        self.detail = detail
        super().__init__(self.message)

    def as_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.param is not None:
            body["param"] = self.param
        if self.detail is not None:
            body["detail"] = self.detail
        return {"error": body}


class InvalidRequest(DomainError):
    code = "invalid_request"


class NotFound(DomainError):
    status = 404
    code = "not_found"
    default_message = "No such object."


class Conflict(DomainError):
    status = 409
    code = "conflict"
    default_message = "The request conflicts with the current state."


# --- Money -------------------------------------------------------------------------------


class InvalidAmount(DomainError):
    code = "invalid_amount"
    default_message = "The amount must be a positive whole number of minor units."


class CurrencyMismatch(DomainError):
    code = "currency_mismatch"
    default_message = "Amounts in different currencies cannot be combined."


# --- Ledger ------------------------------------------------------------------------------


class UnbalancedEntry(DomainError):
    code = "ledger_unbalanced"
    default_message = "Debits and credits of a journal entry must be equal per currency."


class InvalidJournalLine(DomainError):
    code = "ledger_invalid_line"
    default_message = "Each journal line needs exactly one positive amount: debit or credit."


class UnknownAccount(DomainError):
    code = "ledger_unknown_account"
    default_message = "No active ledger account has this code."


class PostingKeyConflict(DomainError):
    status = 409
    code = "ledger_posting_key_conflict"
    default_message = "This posting key was already used for a different journal entry."


class AlreadyReversed(DomainError):
    status = 409
    code = "ledger_already_reversed"
    default_message = "This journal entry has already been reversed."
