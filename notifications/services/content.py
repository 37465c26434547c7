"""What a receipt says (Decree 123/2020/ND-CP Art. 10), frozen when it is
issued: a JSON snapshot the PDF, the API and the public page are all drawn from."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils import timezone

from billing.models import Invoice, VatRate
from notifications.words import amount_in_words_vi
from payments.models import Payment, PaymentMethod, Refund

TITLES = {
    "payment": "BIÊN LAI THU TIỀN",
    "deposit": "BIÊN LAI THU TIỀN TẠM ỨNG",
    "refund": "BIÊN LAI HOÀN TRẢ TIỀN",
}
METHODS_VI = {
    PaymentMethod.CASH: "Tiền mặt",
    PaymentMethod.CARD: "Thẻ ngân hàng (trực tuyến)",
    PaymentMethod.CARD_PRESENT: "Thẻ ngân hàng (máy POS)",
    PaymentMethod.VIETQR: "Chuyển khoản (VietQR)",
}
SYMBOL_PATTERN = "^[CK][0-9]{2}[TM][A-Z]{2}$"


def receipt_series(*, channel: str, year: int) -> tuple[str, str]:
    """The form number and the 6-character symbol for ``channel`` in ``year``:
    ``RECEIPT_SERIES[channel]`` with ``{yy}`` replaced by the year's last two digits."""
    template = settings.RECEIPT_SERIES.get(channel)
    form = str(settings.RECEIPT_FORM)
    if template is None:
        raise ImproperlyConfigured(f"RECEIPT_SERIES has no symbol for channel {channel!r}")
    symbol = template.replace("{yy}", f"{year % 100:02d}")
    if not re.fullmatch(SYMBOL_PATTERN, symbol) or form not in ("1", "2", "5"):
        raise ImproperlyConfigured(
            f"RECEIPT_FORM/RECEIPT_SERIES[{channel!r}] = {form}/{template!r} is not a form "
            "1, 2 or 5 with a symbol like C{yy}TAA (C/K, year, T/M, two letters)"
        )
    return form, symbol


def verification_url(code: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("receipt-verify", args=[code])


def _vat_label(rate: str) -> str:
    return "KCT" if rate == VatRate.KCT else f"{rate}%"


def _issuer(payment: Payment) -> str:
    if payment.created_by_device is not None:
        return f"Ki-ốt {payment.created_by_device.name}"
    user = payment.created_by_user
    if user is not None:
        return f"Thu ngân {user.get_full_name() or user.get_username()}"
    return "Thanh toán trực tuyến"


def _invoice_part(invoice: Invoice) -> dict[str, Any]:
    return {
        "number": invoice.display_number,
        "total": invoice.total,
        "insurance_share": invoice.insurance_share,
        "patient_share": invoice.patient_share,
        "lines": [
            {
                "name": line.name,
                "unit": line.unit,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "amount": line.amount,
                "vat": _vat_label(line.vat_rate),
                "insurance_share": line.insurance_share,
                "patient_share": line.patient_share,
            }
            for line in invoice.lines.all()
        ],
    }


def _single_line(name: str, amount: int) -> dict[str, Any]:
    return {
        "name": name,
        "unit": "lần",
        "quantity": 1,
        "unit_price": amount,
        "amount": amount,
        "vat": "KCT",
        "insurance_share": 0,
        "patient_share": amount,
    }


def receipt_content(
    *,
    kind: str,
    payment: Payment,
    amount: int,
    issued_at: datetime,
    code: str,
    refund: Refund | None = None,
    reverses: str = "",
) -> dict[str, Any]:
    """The snapshot printed on a receipt. The buyer's citizen ID is the masked form billing
    stores (the raw number is never kept)."""
    invoice = payment.invoice
    if invoice is not None:
        patient = invoice.patient
    else:
        assert payment.encounter is not None  # a deposit (payment_pays_one_thing)
        patient = payment.encounter.patient
    if invoice is not None:
        invoice_part = _invoice_part(invoice)
    else:
        invoice_part = {"number": "", "lines": [_single_line("Tạm ứng viện phí", amount)]}
    if refund is not None:
        # What is given back, as one line; the invoice's own lines stay on the receipt reversed.
        invoice_part["lines"] = [_single_line(f"Hoàn trả theo biên lai {reverses}", amount)]
    return {
        "title": TITLES[kind],
        "seller": {
            "name": settings.HOSPITAL_NAME,
            "address": settings.HOSPITAL_ADDRESS,
            "tax_code": settings.HOSPITAL_TAX_CODE,
        },
        "buyer": {
            "name": patient.full_name,
            "citizen_id_masked": patient.citizen_id_masked,
            "patient_code": patient.code,
        },
        "invoice": invoice_part,
        "payment": {
            "id": payment.public_id,
            "method": METHODS_VI[PaymentMethod(payment.method)],
            "refund_id": refund.public_id if refund is not None else "",
        },
        "amount": amount,
        "currency": payment.currency,
        "amount_in_words": amount_in_words_vi(amount),
        "issued_on": timezone.localtime(issued_at).strftime("%d/%m/%Y"),
        "issued_by": _issuer(payment),
        "reverses": reverses,
        "verification_code": code,
        "verification_url": verification_url(code),
    }
