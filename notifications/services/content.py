"""What a receipt says, frozen when it is issued: a JSON snapshot the PDF, the API and the
public page are all drawn from.

A receipt is proof of payment (biên lai thu tiền / phiếu thu), not the tax invoice: its
title, its notice and its symbol (``K``: no tax authority's code) say so. The services' legal
document is the e-invoice issued through the hospital's provider; the printout names it once
it exists. The lines carry what an invoice's lines carry (Decree 123/2020/ND-CP Art. 10 as
amended by Decree 70/2025/ND-CP): VAT-liable pharmacy lines show the price and amount before
VAT, the rate and the VAT amount, and the receipt totals them per rate."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils import timezone

from billing.models import Invoice, InvoiceLine, VatRate
from billing.money import round_half_up
from billing.words import amount_in_words_vi
from config.compiled import CompiledQuery
from notifications.models import ReceiptKind
from payments.models import Payment, PaymentMethod, Refund

TITLES = {
    ReceiptKind.PAYMENT: "BIÊN LAI THU TIỀN",
    ReceiptKind.DEPOSIT: "BIÊN LAI THU TIỀN TẠM ỨNG",
    ReceiptKind.REFUND: "BIÊN LAI HOÀN TRẢ TIỀN",
}
# Under the title: what the document is, and that it is not the tax invoice.
SUBTITLES = {
    ReceiptKind.PAYMENT: "Chứng từ xác nhận đã thu tiền, không phải hóa đơn",
    ReceiptKind.DEPOSIT: "Tiền tạm ứng viện phí, không phải hóa đơn",
    ReceiptKind.REFUND: "Chứng từ hoàn trả tiền, không phải hóa đơn",
}
NOTICES = {
    ReceiptKind.PAYMENT: (
        "Biên lai này không phải hóa đơn. Hóa đơn điện tử cho các dịch vụ trên do bệnh viện "
        "lập qua nhà cung cấp hóa đơn điện tử, có mã của cơ quan thuế; thông tin tra cứu "
        "in dưới đây khi hóa đơn đã được lập."
    ),
    ReceiptKind.DEPOSIT: (
        "Biên lai này không phải hóa đơn. Tiền tạm ứng được trừ vào chi phí khi thanh toán "
        "ra viện, hoặc hoàn trả; hóa đơn điện tử được lập cho các dịch vụ khi thanh toán."
    ),
    ReceiptKind.REFUND: (
        "Biên lai này không phải hóa đơn. Nếu dịch vụ đã có hóa đơn điện tử, bệnh viện lập "
        "hóa đơn điều chỉnh hoặc thay thế theo quy định."
    ),
}
METHODS_VI = {
    PaymentMethod.CASH: "Tiền mặt",
    PaymentMethod.CARD: "Thẻ ngân hàng (trực tuyến)",
    PaymentMethod.CARD_PRESENT: "Thẻ ngân hàng (máy POS)",
    PaymentMethod.VIETQR: "Chuyển khoản (VietQR)",
}
# K: the document carries no tax authority's code; then the year, T/M, two letters.
SYMBOL_PATTERN = "^K[0-9]{2}[TM][A-Z]{2}$"


def receipt_series(*, series: str, year: int) -> tuple[str, str]:
    """The form number and the 6-character symbol of ``series`` (a channel, ``deposit`` or
    ``refund``) in ``year``: ``RECEIPT_SERIES[series]`` with ``{yy}`` replaced by the
    year's last two digits."""
    template = settings.RECEIPT_SERIES.get(series)
    form = str(settings.RECEIPT_FORM)
    if template is None:
        raise ImproperlyConfigured(f"RECEIPT_SERIES has no symbol for {series!r}")
    symbol = template.replace("{yy}", f"{year % 100:02d}")
    if not re.fullmatch(SYMBOL_PATTERN, symbol) or form not in ("1", "2", "5"):
        raise ImproperlyConfigured(
            f"RECEIPT_FORM/RECEIPT_SERIES[{series!r}] = {form}/{template!r} is not a form "
            "1, 2 or 5 with a symbol like K{yy}TAA (K: no tax authority's code, the year, "
            "T/M, two letters)"
        )
    return form, symbol


def series_for(*, kind: str, channel: str) -> str:
    """Advances and refunds have their own series; payments one per channel."""
    if kind == ReceiptKind.DEPOSIT:
        return "deposit"
    if kind == ReceiptKind.REFUND:
        return "refund"
    return channel


def verification_url(code: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("receipt-verify", args=[code])


def _vat_label(rate: str) -> str:
    return "KCT" if rate == VatRate.KCT else f"{rate}%"


def _before_vat(unit_price: int, rate: str) -> int:
    """A VAT-inclusive unit price without its VAT, rounded half up."""
    if rate in (VatRate.KCT, VatRate.ZERO):
        return unit_price
    percent = Decimal(rate)
    return round_half_up(Decimal(unit_price) * 100 / (100 + percent))


def _line_part(line: InvoiceLine) -> dict[str, Any]:
    return {
        "name": line.name,
        "unit": line.unit,
        "quantity": line.quantity,
        "unit_price": line.unit_price,
        "unit_price_before_vat": _before_vat(line.unit_price, line.vat_rate),
        "amount_before_vat": line.amount - line.vat_amount,
        "vat": _vat_label(line.vat_rate),
        "vat_amount": line.vat_amount,
        "amount": line.amount,
        "insurance_share": line.insurance_share,
        "patient_share": line.patient_share,
    }


def vat_summary(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Totals per VAT rate (KCT included), in the order the rates first appear: amount
    before VAT, VAT, amount with VAT."""
    totals: dict[str, dict[str, Any]] = {}
    for line in lines:
        before = line.get("amount_before_vat", line["amount"])
        row = totals.setdefault(
            line["vat"], {"vat": line["vat"], "amount_before_vat": 0, "vat_amount": 0, "amount": 0}
        )
        row["amount_before_vat"] += before
        row["vat_amount"] += line.get("vat_amount", 0)
        row["amount"] += line["amount"]
    return list(totals.values())


def _issuer(payment: Payment) -> str:
    if payment.created_by_device is not None:
        return f"Ki-ốt {payment.created_by_device.name}"
    user = payment.created_by_user
    if user is not None:
        return f"Thu ngân {user.get_full_name() or user.get_username()}"
    return "Thanh toán trực tuyến"


# Compiled once per connection: each payment receipt reads its invoice's lines (the SQL of
# ``invoice.lines.all()``).
_INVOICE_LINES = CompiledQuery(
    lambda invoice_id: InvoiceLine.objects.filter(invoice_id=invoice_id), invoice_id=int
)


def _invoice_part(invoice: Invoice) -> dict[str, Any]:
    lines = [_line_part(line) for line in _INVOICE_LINES.all(invoice_id=invoice.pk)]
    return {
        "number": invoice.display_number,
        "total": invoice.total,
        "insurance_share": invoice.insurance_share,
        "patient_share": invoice.patient_share,
        "lines": lines,
        "vat_summary": vat_summary(lines),
    }


def _single_line(name: str, amount: int) -> dict[str, Any]:
    return {
        "name": name,
        "unit": "lần",
        "quantity": 1,
        "unit_price": amount,
        "unit_price_before_vat": amount,
        "amount_before_vat": amount,
        "vat": "KCT",
        "vat_amount": 0,
        "amount": amount,
        "insurance_share": 0,
        "patient_share": amount,
    }


def receipt_content(
    *,
    kind: str,
    channel: str,
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
    invoice_part["vat_summary"] = vat_summary(invoice_part["lines"])
    return {
        "kind": kind,
        "channel": channel,
        "title": TITLES[ReceiptKind(kind)],
        "subtitle": SUBTITLES[ReceiptKind(kind)],
        "notice": NOTICES[ReceiptKind(kind)],
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
