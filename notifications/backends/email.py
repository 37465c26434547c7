"""E-mail through Django's configured backend (SMTP in production, console by default).

SMTP replies are sorted the way SMTP itself means them: a 4xx reply is temporary, a 5xx
reply permanent (RFC 5321 §4.2.1); a connection that cannot be made or drops is temporary.
The provider message id is the ``Message-ID`` we give the e-mail."""

from __future__ import annotations

import smtplib
from email.utils import make_msgid

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from notifications.backends import PermanentSendError, TransientSendError


def _smtp_code(exc: smtplib.SMTPException) -> int:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return min(codes) if codes else 550
    return int(getattr(exc, "smtp_code", 0) or 0)


def email_send(*, recipient: str, subject: str, body: str, request_id: str) -> str:
    message_id = make_msgid(idstring=request_id, domain="vienphi")
    email = EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient],
        headers={"Message-ID": message_id},
        connection=get_connection(fail_silently=False),
    )
    try:
        email.send(fail_silently=False)
    except smtplib.SMTPServerDisconnected:
        raise TransientSendError("SMTP server disconnected") from None
    except smtplib.SMTPException as exc:
        code = _smtp_code(exc)
        text = f"SMTP {code or type(exc).__name__}"
        if 400 <= code < 500:
            raise TransientSendError(f"{text}: temporary") from None
        raise PermanentSendError(f"{text}: refused") from None
    except OSError as exc:  # refused, unreachable, timed out
        raise TransientSendError(f"SMTP server unreachable: {type(exc).__name__}") from None
    return message_id
