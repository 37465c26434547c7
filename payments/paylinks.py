"""Phone pay links: a signed, expiring token for one invoice, sent by SMS.

The token carries only the invoice id (no personal data) and is signed with Django's
``TimestampSigner`` under its own salt; it is the whole credential for paying that invoice
from a phone, so it expires (``PAY_LINK_TTL_HOURS``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from billing.models import Invoice
from payments.errors import PayLinkInvalid

_SALT = "vienphi.paylink"


@dataclass(frozen=True)
class PayLinkPrincipal:
    """``request.user`` for a pay-link request: may see and pay one invoice."""

    invoice_id: int
    is_authenticated: bool = True

    @property
    def pk(self) -> str:
        return f"paylink-invoice-{self.invoice_id}"


def pay_link_token(*, invoice: Invoice) -> str:
    return signing.TimestampSigner(salt=_SALT).sign(str(invoice.pk))


def pay_link_invoice_id(token: str) -> int:
    try:
        value = signing.TimestampSigner(salt=_SALT).unsign(
            token, max_age=settings.PAY_LINK_TTL_HOURS * 3600
        )
    except signing.SignatureExpired:
        # Genuine but too old: the patient's page says so and sends them to the desk.
        raise PayLinkInvalid(detail={"reason": "expired"}) from None
    except signing.BadSignature:
        raise PayLinkInvalid() from None
    return int(value)


def pay_link_url(token: str) -> str:
    """The address the SMS carries: the phone's pay page (``/p/<token>``)."""
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/p/{token}"


class PayLinkAuthentication(BaseAuthentication):
    """``Authorization: PayLink <token>``."""

    def authenticate(self, request: Request) -> tuple[PayLinkPrincipal, str] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"paylink":
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Malformed PayLink authorization.")
        token = parts[1].decode("ascii", errors="replace")
        try:
            invoice_id = pay_link_invoice_id(token)
        except PayLinkInvalid:
            raise exceptions.AuthenticationFailed("Invalid or expired pay link.") from None
        request.pay_link_scope = f"paylink:{invoice_id}"  # type: ignore[attr-defined]
        return PayLinkPrincipal(invoice_id), token

    def authenticate_header(self, request: Request) -> str:
        return "PayLink"


class PayLinkScheme(OpenApiAuthenticationExtension):
    target_class = "payments.paylinks.PayLinkAuthentication"
    name = "payLink"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": "Authorization"}
