"""Phone pay links: a random bearer token for one invoice, sent by SMS.

The token is the whole credential for paying that invoice from a phone and reading its
receipts, so it carries nothing (no invoice id, nothing personal: 256 random bits), only its
SHA-256 is stored, it expires (``PAY_LINK_TTL_HOURS``) and it can be revoked: by a cashier,
and automatically when its invoice is paid or voided. A link revoked because the invoice was
paid still reads (the bill, its receipts, the payment's status) for
``PAY_LINK_READ_AFTER_PAID_MINUTES`` so the phone can show the receipt; it never pays or
cancels again. Tokens never reach a log: ``config.redaction`` masks them."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request

from billing.models import Invoice
from config.identity.models import Device
from payments.errors import PayLinkInvalid
from payments.models import PayLink, PayLinkRevokeReason

TOKEN_PREFIX = "plk_"  # noqa: S105 - marks a token, is none


@dataclass(frozen=True)
class PayLinkPrincipal:
    """``request.user`` for a pay-link request: may see and pay one invoice."""

    invoice_id: int
    is_authenticated: bool = True

    @property
    def pk(self) -> str:
        return f"paylink-invoice-{self.invoice_id}"


def pay_link_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", errors="replace")).hexdigest()


def pay_link_issue(
    *, invoice: Invoice, created_by: User | None = None, device: Device | None = None
) -> tuple[PayLink, str]:
    """A new link for ``invoice``: its row and the token (returned once, stored hashed)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    link = PayLink.objects.create(
        token_hash=pay_link_token_hash(token),
        invoice=invoice,
        created_by=created_by,
        created_by_device=device,
        expires_at=timezone.now() + timedelta(hours=settings.PAY_LINK_TTL_HOURS),
    )
    return link, token


def pay_link_token(
    *, invoice: Invoice, created_by: User | None = None, device: Device | None = None
) -> str:
    """The token of a new link for ``invoice`` (see :func:`pay_link_issue`)."""
    return pay_link_issue(invoice=invoice, created_by=created_by, device=device)[1]


def pay_link_invoice_id(token: str, *, write: bool = False) -> int:
    """The invoice a valid token opens; ``pay_link_invalid`` (404) when it is unknown,
    expired or revoked (``detail.reason`` says which for a genuine one). ``write``: the
    caller pays or cancels, which a link revoked because the invoice was paid no longer
    may."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        raise PayLinkInvalid()
    link = PayLink.objects.filter(token_hash=pay_link_token_hash(token)).first()
    if link is None:
        raise PayLinkInvalid()
    now = timezone.now()
    if link.revoked_at is not None:
        grace = timedelta(minutes=settings.PAY_LINK_READ_AFTER_PAID_MINUTES)
        reads_on = (
            not write
            and link.revoked_reason == PayLinkRevokeReason.INVOICE_PAID
            and now < link.revoked_at + grace
        )
        if not reads_on:
            # Why, so that the patient's page can say "paid" or "voided" rather than "revoked".
            raise PayLinkInvalid(detail={"reason": "revoked", "because": link.revoked_reason})
    if link.expires_at <= now:
        # Genuine but too old: the patient's page says so and sends them to the desk.
        raise PayLinkInvalid(detail={"reason": "expired"})
    return link.invoice_id


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
            invoice_id = pay_link_invoice_id(token, write=request.method not in SAFE_METHODS)
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
