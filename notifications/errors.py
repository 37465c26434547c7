"""notifications' errors: receipts and patient messages.

The base classes are the frame's (``config.errors``).
"""

from __future__ import annotations

from config.errors import DomainError, NotFound


class ReceiptNotIssued(NotFound):
    code = "receipt_not_issued_yet"
    default_message = "This payment has no receipt (yet)."


class RecipientMissing(DomainError):
    status = 409
    code = "recipient_missing"
    default_message = "The patient has no contact on file for this channel."
