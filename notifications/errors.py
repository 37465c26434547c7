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


class ChannelUnavailable(DomainError):
    status = 409
    code = "channel_unavailable"
    default_message = (
        "This message cannot go by this channel (Zalo: not enabled, not connected, or no "
        "approved template for it)."
    )


# --- Zalo's webhook (answered to Zalo, never to a person) ---------------------------------


class ZaloNotConfigured(DomainError):
    status = 503
    code = "zalo_not_configured"
    default_message = "Zalo notifications are not configured on this installation."


class ZaloSignatureInvalid(DomainError):
    status = 401
    code = "zalo_signature_invalid"
    default_message = "The X-ZEvent-Signature does not verify."


class ZaloEventInvalid(DomainError):
    code = "zalo_event_invalid"
    default_message = "Not a Zalo event of this application."


class ZaloMessageUnknown(DomainError):
    status = 404
    code = "zalo_message_unknown"
    default_message = "No Zalo message of ours has this msg_id."


class ResendLimitReached(DomainError):
    status = 429
    code = "resend_limit_reached"
    default_message = (
        "This receipt was sent again too often lately (RECEIPT_RESEND_LIMIT per "
        "RECEIPT_RESEND_WINDOW_MINUTES); see Retry-After."
    )

    def __init__(self, message: str | None = None, *, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds
