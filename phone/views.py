"""The pay page a pay link opens (``/p/<token>``), its actions and its live status.

Every answer is HTML for the patient's browser (or, for the status poll the page makes
itself, a small JSON envelope around the same HTML): a bad or expired link, a provider
that is down, too many requests each get their own page in the patient's language, never
a stack trace and never the API's JSON. The token is the whole credential, so the answers
are never cached and never send a referrer."""

from __future__ import annotations

import re
import secrets
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from billing.api.invoices import invoice_body
from billing.models import Invoice
from config.errors import DomainError
from config.pages.csrf import page_csrf_protect
from config.pages.language import page_language
from config.pages.throttle import page_throttled
from notifications.services.pdfs import receipt_pdf_get
from payments.errors import PayLinkInvalid, ProviderError, ProviderNotConfigured
from payments.models import PaymentMethod, PaymentStatus
from payments.providers.vietqr import build_payload, qr_png
from payments.selectors.payments import pay_link_invoice
from phone.declines import decline_reason, decline_reasons
from phone.selectors import PayPage, pay_page, pay_page_payment, pay_page_receipt
from phone.services import pay_page_payment_start

_ATTEMPT = re.compile(r"[0-9a-f]{32}")
STARTABLE = (PaymentMethod.VIETQR, PaymentMethod.CARD)


def _private(response: HttpResponse) -> HttpResponse:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def edge_page(request: HttpRequest, kind: str, *, status: int, back_url: str = "") -> HttpResponse:
    """One of the pages a patient sees instead of the bill: ``expired``, ``revoked``,
    ``invalid`` (a link that never was), ``provider_unavailable``, ``throttled``."""
    response = render(
        request, "phone/edge.html", {"kind": kind, "back_url": back_url}, status=status
    )
    if status == 429:
        response.headers["Retry-After"] = str(request.META.get("retry_after", 60))
    return _private(response)


def _link_edge(request: HttpRequest, error: DomainError) -> HttpResponse:
    detail = error.detail if isinstance(error.detail, dict) else {}
    reason = detail.get("reason")
    if reason == "expired":
        return edge_page(request, "expired", status=410)
    if reason == "revoked" or "revoked" in error.code:
        because = {"invoice_void": "voided", "invoice_paid": "paid"}
        return edge_page(request, because.get(detail.get("because", ""), "revoked"), status=410)
    return edge_page(request, "invalid", status=404)


def _invoice(
    request: HttpRequest, token: str, scope: str, *, write: bool = False
) -> Invoice | HttpResponse:
    """The invoice of the link, or the page to show instead (throttled, bad link).
    ``write``: to start a payment (a link revoked because the invoice was paid only reads)."""
    retry_after = page_throttled(request, scope=scope)
    if retry_after is not None:
        request.META["retry_after"] = retry_after
        return edge_page(request, "throttled", status=429)
    try:
        return pay_link_invoice(token=token, write=write)
    except PayLinkInvalid as error:
        return _link_edge(request, error)
    except DomainError as error:  # the invoice behind a genuine link is gone
        if error.status == 404:
            return edge_page(request, "invalid", status=404)
        return _link_edge(request, error)


def _page(invoice: Invoice) -> PayPage:
    return pay_page(invoice=invoice, bill=invoice_body([invoice])[0])


def _context(request: HttpRequest, token: str, page: PayPage) -> dict[str, Any]:
    payment = page.payment
    context: dict[str, Any] = {
        "token": token,
        "page": page,
        "bill": page.bill,
        "attempt": secrets.token_hex(16),
        "cards_enabled": bool(settings.STRIPE_SECRET_KEY and settings.STRIPE_PUBLISHABLE_KEY),
        "bank_name": settings.VIETQR_BANK_NAME,
        "account": settings.VIETQR_ACCOUNT,
        "already_paid": max(page.bill["amount_paid"] - page.advances_applied, 0),
        "status_url": reverse("pay-page-status", args=[token]),
        "card_returned": request.GET.get("redirect_status", ""),
    }
    ended = page.last_ended
    if ended is not None:
        context["ended_method"] = ended.method
        context["ended_reason"] = decline_reason(
            ended.status if ended.status != PaymentStatus.FAILED else ended.failure_code
        )
    if payment is not None and payment.method == PaymentMethod.CARD:
        context["card"] = {
            "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
            "client_secret": payment.client_secret,
            "stripe_js": settings.STRIPE_JS_URL,
            "return_url": request.build_absolute_uri(reverse("pay-page", args=[token])),
            "decline_texts": decline_reasons(),
            "three_ds_failed": decline_reason("authentication_required"),
            "processing": payment.status == PaymentStatus.PROCESSING
            or context["card_returned"] == "succeeded",
        }
    return context


@require_GET
@page_language
def pay(request: HttpRequest, token: str) -> HttpResponse:
    """The bill, how to pay it, and (once paid) its receipts."""
    if "payment_intent_client_secret" in request.GET or "payment_intent" in request.GET:
        return _card_return(request, token)
    invoice = _invoice(request, token, "pay_page")
    if isinstance(invoice, HttpResponse):
        return invoice
    page = _page(invoice)
    response = render(request, "phone/pay.html", _context(request, token, page))
    if page.payment is not None and page.payment.method == PaymentMethod.CARD:
        # Stripe's domains are allowed on the page that holds the card form, nowhere else.
        response._csp_update = {  # type: ignore[attr-defined]
            "script-src": settings.STRIPE_JS_ORIGINS,
            "connect-src": settings.STRIPE_API_ORIGINS,
            "frame-src": settings.STRIPE_FRAME_ORIGINS,
        }
    return _private(response)


def _card_return(request: HttpRequest, token: str) -> HttpResponse:
    """Back from the bank's 3-D Secure page, Stripe.js adds the intent and its client secret
    to the address: send the browser on to the page with only the outcome, so the secret does
    not stay in the address bar, the history or a screenshot (``config.logs`` also cuts it
    from log lines). The page then says what the payment's status is (the webhook decides,
    never this query)."""
    outcome = request.GET.get("redirect_status", "")
    url = reverse("pay-page", args=[token])
    if outcome in ("succeeded", "failed"):
        url += f"?redirect_status={outcome}"
    response = redirect(url + "#pay")
    response.status_code = 303
    return _private(response)


@page_csrf_protect
@require_POST
@page_language
def pay_start(request: HttpRequest, token: str) -> HttpResponse:
    """The patient chose how to pay (a CSRF-protected form): start that payment, then show
    the page again (its QR code or card form)."""
    invoice = _invoice(request, token, "pay_action", write=True)
    if isinstance(invoice, HttpResponse):
        return invoice
    method, attempt = request.POST.get("method", ""), request.POST.get("attempt", "")
    back = redirect(reverse("pay-page", args=[token]) + "#pay")
    back.status_code = 303
    if method not in STARTABLE or not _ATTEMPT.fullmatch(attempt):
        return _private(back)
    try:
        pay_page_payment_start(invoice=invoice, method=method, attempt=attempt)
    except (ProviderNotConfigured, ProviderError):
        page_url = reverse("pay-page", args=[token])
        return edge_page(request, "provider_unavailable", status=503, back_url=page_url)
    except DomainError:
        # Paid, voided or started elsewhere meanwhile: the page shows what is true now.
        pass
    return _private(back)


@require_GET
@page_language
def pay_status(request: HttpRequest, token: str) -> HttpResponse:
    """What the page polls: ``{"state", "final", "html"}``; the page swaps its live part
    for ``html`` when ``state`` changed."""
    invoice = _invoice(request, token, "pay_status")
    if isinstance(invoice, HttpResponse):
        return _private(JsonResponse({"state": "gone", "final": True}, status=invoice.status_code))
    page = _page(invoice)
    html = render_to_string("phone/_live.html", _context(request, token, page), request=request)
    body = {"state": page.fingerprint, "final": page.final, "html": html}
    return _private(JsonResponse(body))


@require_GET
@page_language
def receipt_pdf(request: HttpRequest, token: str, receipt_id: str) -> HttpResponse:
    """A receipt of the invoice (by its public id, ``rcp_…``) as the A4 PDF."""
    invoice = _invoice(request, token, "pay_page")
    if isinstance(invoice, HttpResponse):
        return invoice
    receipt = pay_page_receipt(invoice=invoice, public_id=receipt_id)
    if receipt is None:
        return edge_page(request, "invalid", status=404)
    response = HttpResponse(receipt_pdf_get(receipt=receipt, layout="a4"))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{receipt.display_number}.pdf"'
    return _private(response)


@require_GET
@page_language
def qr_image(request: HttpRequest, token: str, public_id: str) -> HttpResponse:
    """The VietQR image of the phone's pending bank-transfer payment (also what "save QR
    image" downloads: banking apps scan it from the gallery)."""
    invoice = _invoice(request, token, "pay_page")
    if isinstance(invoice, HttpResponse):
        return invoice
    payment = pay_page_payment(invoice=invoice, public_id=public_id)
    if payment is None or payment.method != PaymentMethod.VIETQR or not payment.memo_code:
        return edge_page(request, "invalid", status=404)
    payload = build_payload(
        bank_bin=settings.VIETQR_BANK_BIN,
        account=settings.VIETQR_ACCOUNT,
        amount=payment.amount,
        memo=payment.memo_code,
    )
    response = HttpResponse(qr_png(payload, scale=8, border=4), content_type="image/png")
    if request.GET.get("download"):
        name = _("VietQR-%(memo)s.png") % {"memo": payment.memo_code}
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return _private(response)
