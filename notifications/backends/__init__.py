"""Delivery backends for patient messages: SMS gateways and e-mail.

A backend either returns the provider's message id or raises :class:`TransientSendError`
(worth retrying later: a timeout, a 5xx, a gateway's "try again") or
:class:`PermanentSendError` (retrying cannot help: a rejected number, bad credentials).
Recipients are personal data: errors and logs carry :func:`mask_recipient` only.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.utils.module_loading import import_string


class SendError(Exception):
    """A message could not be handed to the provider; ``str()`` has no personal data."""


class TransientSendError(SendError):
    pass


class PermanentSendError(SendError):
    pass


SMS_BACKENDS = {
    "console": "notifications.backends.sms.ConsoleSmsBackend",
    "esms": "notifications.backends.sms.EsmsBackend",
}


def mask_recipient(recipient: str) -> str:
    """``0912345678`` → ``091****678``; ``an.nguyen@example.vn`` → ``a***@example.vn``."""
    if "@" in recipient:
        local, _, domain = recipient.partition("@")
        return f"{local[:1]}***@{domain}"
    digits = re.sub(r"\D", "", recipient)
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 6)}{digits[-3:]}"


def sms_backend() -> object:
    """The configured SMS backend (``SMS_BACKEND``: ``console``, ``esms`` or a dotted path)."""
    path = SMS_BACKENDS.get(settings.SMS_BACKEND, settings.SMS_BACKEND)
    return import_string(path)()
