"""Why a card payment failed, in plain words for the patient (Stripe's decline codes)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

_REASONS = {
    "insufficient_funds": _("The card has not enough money for this amount."),
    "expired_card": _("The card has expired."),
    "incorrect_cvc": _("The security code (CVC) is not right."),
    "incorrect_number": _("The card number is not right."),
    "lost_card": _("The bank declined the card."),
    "stolen_card": _("The bank declined the card."),
    "card_velocity_exceeded": _("The card's limit for today is reached."),
    "authentication_required": _("The bank's check (3-D Secure) was not completed."),
    "payment_intent_authentication_failure": _("The bank's check (3-D Secure) was not completed."),
    "processing_error": _("The bank could not process the card just now."),
    "expired": _("The QR code expired before a transfer arrived."),
    "canceled": pgettext_lazy("payment", "The payment was canceled."),
}
_DEFAULT = _("The bank declined the card.")


def decline_reason(code: str) -> str:
    """The patient-facing sentence for a failure code (a generic decline by default)."""
    return str(_REASONS.get(code, _DEFAULT))


def decline_reasons() -> dict[str, str]:
    """Every sentence by code, for the page's script (it shows a decline at once)."""
    return {code: str(text) for code, text in _REASONS.items()} | {"": str(_DEFAULT)}
