"""Builders for the receipt and message tests: an invoice with a medical line (KCT) and a
pharmacy line (5 % VAT) for a patient with a Vietnamese name, payments on it that
succeeded through the state machine, advances and refunds."""

from __future__ import annotations

import io
import itertools
import uuid
from typing import Any

from django.contrib.auth.models import User
from pypdf import PdfReader

from billing.chart import BANK
from billing.models import Encounter, EncounterKind, Invoice, ServiceCategory
from billing.services.invoices import invoice_issue
from config.identity.models import Device, Role
from config.identity.services import staff_create
from notifications.models import Receipt
from notifications.services.receipts import receipt_issue_for_payment, receipt_issue_for_refund
from payments.models import Payment, PaymentChannel, Refund
from payments.services.refunds import refund_complete, refund_request
from tests.billing.builders import (
    charges_post,
    citizen_id_new,
    encounter_new,
    patient_with_coverage,
    price_item,
)
from tests.payments.builders.payments import paid_by_transfer

PATIENT_NAME = "Nguyễn Thị Hằng"
PHONE = "0912345678"
EMAIL = "hang.nguyen@example.vn"
_serial = itertools.count(1)


def patient_encounter(
    *,
    phone: str = PHONE,
    email: str = EMAIL,
    kind: str = EncounterKind.OUTPATIENT,
    preferred_channel: str = "",
) -> tuple[Encounter, str]:
    """An open encounter of a patient named ``PATIENT_NAME`` with a citizen ID; returns the
    encounter and the raw citizen ID (which no receipt may show)."""
    citizen_id = citizen_id_new()
    patient = patient_with_coverage(
        benefit_level=80,
        full_name=PATIENT_NAME,
        phone=phone,
        email=email,
        citizen_id=citizen_id,
        preferred_channel=preferred_channel,
    )
    return encounter_new(patient=patient, kind=kind), citizen_id


def receipt_invoice(**contact: Any) -> Invoice:
    """An issued invoice: an examination 500,000 ₫ (BHYT pays 80 %, KCT) and 10 tablets of
    an out-of-scope drug at 2,000 ₫ with 5 % VAT. The patient owes 120,000 ₫."""
    encounter, _ = patient_encounter(**contact)
    exam = price_item(name="Khám Nội tổng hợp", price=500_000, unit="lần")
    drug = price_item(
        name="Paracetamol 500mg",
        unit="viên",
        category=ServiceCategory.DRUG,
        price=2_000,
        insurance_price=None,
        vat_rate="5",
    )
    charges_post(encounter, (exam, 1), (drug, 10))
    return invoice_issue(encounter=encounter, issued_by="test")


def paid(
    *,
    invoice: Invoice | None = None,
    encounter: Encounter | None = None,
    amount: int | None = None,
    channel: str = PaymentChannel.DESK,
    device: Device | None = None,
    user: User | None = None,
) -> Payment:
    """A VietQR payment of the invoice (or an advance for the encounter) that succeeded
    through the state machine (ledger posted, outbox event written)."""
    if invoice is None and encounter is None:
        invoice = receipt_invoice()
    return paid_by_transfer(
        amount=amount or (invoice.patient_share if invoice is not None else 500_000),
        invoice=invoice,
        encounter=encounter,
        channel=channel,
        created_by_device=device,
        created_by_user=user,
    )


def issued(**kwargs: Any) -> Receipt:
    """The receipt of a new paid invoice (see :func:`paid`)."""
    receipt = receipt_issue_for_payment(payment_id=paid(**kwargs).pk)
    assert receipt is not None
    return receipt


def cashier(name: str = "Trần Văn Bình") -> User:
    user, _ = staff_create(username=f"cashier-{next(_serial)}", role=Role.CASHIER, full_name=name)
    assert isinstance(user, User)
    return user


def refunded(payment: Payment, amount: int) -> Refund:
    """A bank-transfer refund requested and paid out at the desk."""
    desk = cashier()
    refund = refund_request(
        payment=payment,
        amount=amount,
        reason="requested_by_patient",
        requested_by=desk,
        idempotency_key=f"refund-{uuid.uuid4()}",
    )
    return refund_complete(refund=refund, paid_out_by=desk, credit_account=BANK)


def refund_receipt(payment: Payment, amount: int) -> Receipt:
    receipt = receipt_issue_for_refund(refund_id=refunded(payment, amount).pk)
    assert receipt is not None
    return receipt


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


# --- The printouts' stress set -----------------------------------------------------------

# Every Vietnamese letter with a mark, capital and small: stacked ones (Ồ, Ặ, Ữ) included.
DIACRITICS_UPPER = "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬĐÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴ"
DIACRITICS = DIACRITICS_UPPER + DIACRITICS_UPPER.lower()
LONGEST_NAME = (
    "Phẫu thuật nội soi cắt toàn bộ tuyến giáp và nạo vét hạch cổ hai bên trong điều trị "
    "ung thư tuyến giáp thể nhú có xâm lấn, kèm sinh thiết tức thì và theo dõi sau mổ"
)[:200]
TWELVE_DIGITS = 999_999_999_999


def stress_line(index: int) -> dict[str, Any]:
    """A line of the stress set: the longest names, every diacritic, 12-digit amounts, a
    pharmacy line with 5 % VAT every third line."""
    if index % 3 == 0:
        amount, vat, vat_amount = 24_999_999_999, "5%", 1_190_476_190
        unit_price = amount // 7
        quantity = 7
    else:
        amount, vat, vat_amount = TWELVE_DIGITS - index, "KCT", 0
        unit_price, quantity = amount, 1
    marks = " ".join(DIACRITICS[i : i + 7] for i in range(0, len(DIACRITICS), 7))
    names = [LONGEST_NAME, f"Thuốc {marks} HỒNG ẶC ỮNG", "NGUYỄN THỊ HỒNG " * 10]
    return {
        "name": names[index % len(names)].strip(),
        "unit": "viên" if vat != "KCT" else "lần",
        "quantity": quantity,
        "unit_price": unit_price,
        "unit_price_before_vat": unit_price if vat == "KCT" else (unit_price * 100 // 105),
        "amount_before_vat": amount - vat_amount,
        "vat": vat,
        "vat_amount": vat_amount,
        "amount": amount,
        "insurance_share": amount // 5,
        "patient_share": amount - amount // 5,
    }


def stress_content(content: dict[str, Any], *, lines: int = 40, channel: str = "desk") -> dict:
    """A real receipt's content with the stress set's lines, names and amounts."""
    from billing.words import amount_in_words_vi
    from notifications.services.content import vat_summary

    stressed = [stress_line(i) for i in range(1, lines + 1)]
    total = sum(line["amount"] for line in stressed)
    return {
        **content,
        "channel": channel,
        "seller": {
            "name": "BỆNH VIỆN ĐA KHOA TRUNG ƯƠNG HỮU NGHỊ VIỆT ĐỨC - CƠ SỞ HAI ỨNG HÒA",
            "address": "Số 16 Phủ Doãn, Phường Hoàn Kiếm, Thành phố Hà Nội, Việt Nam " * 2,
            "tax_code": "0100109106-997",
        },
        "buyer": {
            **content["buyer"],
            "name": "TÔN NỮ HOÀNG THỊ HỒNG NGỌC ẶNG ỮNG ĐOÀN NGUYỄN PHƯỚC BẢO CHÂU",
        },
        "invoice": {
            "number": "HD26-9999999",
            "total": total,
            "insurance_share": sum(line["insurance_share"] for line in stressed),
            "patient_share": sum(line["patient_share"] for line in stressed),
            "lines": stressed,
            "vat_summary": vat_summary(stressed),
        },
        "amount": TWELVE_DIGITS,
        "amount_in_words": amount_in_words_vi(TWELVE_DIGITS),
        "issued_by": "Thu ngân Nguyễn Hoàng Phương Thảo Ặ Ữ Ồ",
    }
