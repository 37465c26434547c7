"""Issuing receipts: content per Decree 123 Art. 10, series and numbers, one receipt
per payment/deposit/refund however often the event comes, immutable once issued."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from config.identity.models import DeviceKind
from config.identity.services import device_create
from notifications.models import Message, Receipt, ReceiptKind
from notifications.services.content import receipt_series
from notifications.services.receipts import receipt_issue_for_payment, receipt_issue_for_refund
from payments.models import PaymentChannel
from tests.notifications.builders import (
    EMAIL,
    PATIENT_NAME,
    PHONE,
    cashier,
    issued,
    paid,
    patient_encounter,
    receipt_invoice,
    refund_receipt,
    refunded,
)
from tests.payments.builders.payments import vietqr_payment

pytestmark = pytest.mark.django_db


def test_a_payment_receipt_carries_every_field_the_decree_asks_for(settings: Any) -> None:
    settings.HOSPITAL_NAME = "Bệnh viện Bạch Mai"
    settings.HOSPITAL_ADDRESS = "78 Giải Phóng, Đống Đa, Hà Nội"
    settings.HOSPITAL_TAX_CODE = "0100109106"
    invoice = receipt_invoice()

    receipt = issued(invoice=invoice, user=cashier("Trần Văn Bình"))

    content = receipt.content
    year = timezone.localdate().year
    assert (receipt.form, receipt.symbol) == ("5", f"K{year % 100:02d}TQA")
    assert content["title"] == "BIÊN LAI THU TIỀN"
    assert content["subtitle"] == "Chứng từ xác nhận đã thu tiền, không phải hóa đơn"
    assert content["notice"].startswith("Biên lai này không phải hóa đơn.")
    assert content["seller"] == {
        "name": "Bệnh viện Bạch Mai",
        "address": "78 Giải Phóng, Đống Đa, Hà Nội",
        "tax_code": "0100109106",
    }
    assert content["buyer"]["name"] == PATIENT_NAME
    assert content["buyer"]["citizen_id_masked"] == invoice.patient.citizen_id_masked
    assert "*" in content["buyer"]["citizen_id_masked"]
    exam, drug = content["invoice"]["lines"]
    assert exam == {
        "name": "Khám Nội tổng hợp",
        "unit": "lần",
        "quantity": 1,
        "unit_price": 500_000,
        "unit_price_before_vat": 500_000,
        "amount_before_vat": 500_000,
        "vat": "KCT",
        "vat_amount": 0,
        "amount": 500_000,
        "insurance_share": 400_000,
        "patient_share": 100_000,
    }
    assert (drug["vat"], drug["quantity"], drug["amount"], drug["patient_share"]) == (
        "5%",
        10,
        20_000,
        20_000,
    )
    assert content["amount"] == receipt.amount == 120_000
    assert content["amount_in_words"] == "Một trăm hai mươi nghìn đồng"
    assert content["payment"]["method"] == "Chuyển khoản (VietQR)"
    assert content["issued_on"] == timezone.localdate().strftime("%d/%m/%Y")
    assert content["issued_by"] == "Thu ngân Trần Văn Bình"
    assert content["verification_url"] == (
        f"{settings.PUBLIC_BASE_URL}/r/{receipt.verification_code}"
    )


def test_the_raw_citizen_id_is_nowhere_on_the_receipt() -> None:
    encounter, citizen_id = patient_encounter()
    receipt = issued(encounter=encounter)

    assert citizen_id not in str(receipt.content)
    assert receipt.content["buyer"]["citizen_id_masked"][:3] == citizen_id[:3]


def test_numbers_follow_each_other_per_series_and_channels_have_their_own_series() -> None:
    device, _ = device_create(kind=DeviceKind.KIOSK, name="kiosk-sanh-a")
    desk = [issued() for _ in range(3)]
    kiosk = [issued(channel=PaymentChannel.KIOSK, device=device) for _ in range(2)]

    assert [r.number for r in desk] == [1, 2, 3]
    assert [r.number for r in kiosk] == [1, 2]
    assert {r.symbol[3:] for r in desk} == {"TQA"}
    assert {r.symbol[3:] for r in kiosk} == {"TKA"}
    assert kiosk[0].content["issued_by"] == "Ki-ốt kiosk-sanh-a"
    assert desk[0].display_number.endswith("-00000001")


def test_the_symbol_carries_the_year_so_numbering_restarts_each_year() -> None:
    assert receipt_series(series="kiosk", year=2025) == ("5", "K25TKA")
    assert receipt_series(series="kiosk", year=2026) == ("5", "K26TKA")
    assert receipt_series(series="phone", year=2100) == ("5", "K00TDA")


@pytest.mark.parametrize(
    ("form", "series"),
    [
        ("5", {"kiosk": "K{yy}TK"}),
        ("5", {"kiosk": "X{yy}TKA"}),
        # C claims a tax authority's code, which a receipt never carries.
        ("5", {"kiosk": "C{yy}TKA"}),
        ("7", {"kiosk": "K{yy}TKA"}),
        ("5", {}),
    ],
)
def test_a_series_that_is_not_a_legal_form_and_symbol_is_refused(
    settings: Any, form: str, series: dict[str, str]
) -> None:
    settings.RECEIPT_FORM = form
    settings.RECEIPT_SERIES = series

    with pytest.raises(ImproperlyConfigured):
        receipt_series(series="kiosk", year=2026)


def test_the_same_payment_event_handled_again_finds_its_receipt_and_messages() -> None:
    payment = paid()

    first = receipt_issue_for_payment(payment_id=payment.pk)
    again = receipt_issue_for_payment(payment_id=payment.pk)

    assert first == again
    assert Receipt.objects.filter(payment=payment).count() == 1
    sent_to = Message.objects.filter(receipt=first).values_list("channel", "recipient")
    assert sorted(sent_to) == [("email", EMAIL), ("sms", PHONE)]


def test_a_patient_without_phone_or_email_gets_a_receipt_and_no_message() -> None:
    receipt = issued(invoice=receipt_invoice(phone="", email=""))

    assert not Message.objects.filter(receipt=receipt).exists()


def test_an_advance_gets_an_advance_receipt() -> None:
    encounter, _ = patient_encounter()

    receipt = issued(encounter=encounter, amount=2_000_000)

    assert receipt.kind == ReceiptKind.DEPOSIT
    assert receipt.content["title"] == "BIÊN LAI THU TIỀN TẠM ỨNG"
    assert receipt.content["subtitle"] == "Tiền tạm ứng viện phí, không phải hóa đơn"
    assert receipt.content["amount_in_words"] == "Hai triệu đồng"
    assert [line["name"] for line in receipt.content["invoice"]["lines"]] == ["Tạm ứng viện phí"]


def test_a_refund_receipt_reverses_the_payments_receipt_once() -> None:
    payment = paid(invoice=receipt_invoice())
    original = receipt_issue_for_payment(payment_id=payment.pk)
    assert original is not None

    refund = refund_receipt(payment, 30_000)
    again = receipt_issue_for_refund(refund_id=refund.refund_id)  # type: ignore[arg-type]

    assert again == refund
    assert refund.kind == ReceiptKind.REFUND
    assert refund.reverses == original
    assert refund.amount == 30_000
    assert refund.content["title"] == "BIÊN LAI HOÀN TRẢ TIỀN"
    assert refund.symbol[3:] == "THA"  # refunds have their own series
    assert refund.content["reverses"] == original.display_number
    assert refund.content["amount_in_words"] == "Ba mươi nghìn đồng"
    (line,) = refund.content["invoice"]["lines"]
    assert (line["name"], line["amount"]) == (
        f"Hoàn trả theo biên lai {original.display_number}",
        30_000,
    )
    assert Receipt.objects.filter(payment=payment).count() == 2


def test_a_refund_whose_payment_receipt_is_missing_issues_that_one_first() -> None:
    payment = paid()
    refund = refunded(payment, payment.amount)

    receipt = receipt_issue_for_refund(refund_id=refund.pk)

    assert receipt is not None
    assert receipt.reverses is not None
    assert receipt.reverses.payment == payment
    assert receipt.reverses.symbol != receipt.symbol


def test_advances_have_their_own_series_whatever_the_channel() -> None:
    encounter, _ = patient_encounter()
    device, _ = device_create(kind=DeviceKind.KIOSK, name="kiosk-sanh-b")

    at_desk = issued(encounter=encounter, amount=1_000_000)
    at_kiosk = issued(
        encounter=encounter, amount=500_000, channel=PaymentChannel.KIOSK, device=device
    )
    payment = issued()

    assert {at_desk.symbol[3:], at_kiosk.symbol[3:]} == {"TUA"}
    assert [at_desk.number, at_kiosk.number] == [1, 2]
    assert payment.symbol[3:] == "TQA"
    assert payment.number == 1


def test_pharmacy_lines_show_the_price_before_vat_the_vat_and_totals_per_rate() -> None:
    receipt = issued(invoice=receipt_invoice())

    _exam, drug = receipt.content["invoice"]["lines"]
    # 10 tablets at 2,000 VAT included (5 %): 19,048 before VAT and 952 VAT.
    assert (drug["unit_price_before_vat"], drug["amount_before_vat"], drug["vat_amount"]) == (
        1_905,
        19_048,
        952,
    )
    assert drug["amount_before_vat"] + drug["vat_amount"] == drug["amount"]
    assert receipt.content["invoice"]["vat_summary"] == [
        {"vat": "KCT", "amount_before_vat": 500_000, "vat_amount": 0, "amount": 500_000},
        {"vat": "5%", "amount_before_vat": 19_048, "vat_amount": 952, "amount": 20_000},
    ]


def test_a_payment_that_did_not_succeed_gets_no_receipt() -> None:
    pending = vietqr_payment()

    assert receipt_issue_for_payment(payment_id=pending.pk) is None
    assert not Receipt.objects.exists()


@pytest.mark.parametrize("statement", ["UPDATE {t} SET amount = 1", "DELETE FROM {t}"])
def test_an_issued_receipt_cannot_be_changed_or_deleted_even_with_raw_sql(statement: str) -> None:
    receipt = issued()

    with (
        pytest.raises(IntegrityError, match="immutable"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement.format(t=Receipt._meta.db_table) + " WHERE id = %s", [receipt.pk])

    receipt.refresh_from_db()
    assert receipt.amount == 120_000


def test_a_number_beyond_eight_digits_is_refused_by_the_database() -> None:
    receipt = issued()
    fields = {
        f.attname: getattr(receipt, f.attname)
        for f in Receipt._meta.concrete_fields
        if f.attname not in ("id", "verification_code")
    }

    with pytest.raises(IntegrityError), transaction.atomic():
        Receipt.objects.create(**{**fields, "number": 100_000_000, "payment_id": paid().pk})
