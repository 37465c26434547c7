"""E-invoices through Viettel S-Invoice (a local fake speaking its protocol, reached by our
real client): queued when the invoice is paid (or issued), sent in order, once each, by
our invoice id as the transaction key; transient failures wait and retry, refusals are
parked with Viettel's message for staff to correct and resend; the tax authority's code
arrives later; voiding corrects an issued e-invoice by adjustment or replacement."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing.einvoicing.providers import OriginalReference, ProviderRefused
from billing.einvoicing.viettel import ViettelSInvoice
from billing.models import EInvoice, EInvoiceKind, EInvoiceStatus, Invoice
from billing.selectors.einvoices import einvoices_needing_attention
from billing.services.einvoices import einvoice_codes_poll, einvoice_resend, einvoices_send
from billing.services.invoices import invoice_issue, invoice_void
from config.identity.models import Role
from notifications.services.receipts import receipt_issue_for_payment
from tests.assertions import assert_error
from tests.billing.builders import charges_post, price_item
from tests.fakes.viettel_sinvoice import FakeSInvoiceServer
from tests.migrations import migrated_back_and_forth
from tests.notifications.builders import PATIENT_NAME, paid, receipt_invoice

pytestmark = pytest.mark.django_db


def _paid_invoice() -> Invoice:
    invoice = receipt_invoice()
    paid(invoice=invoice)
    invoice.refresh_from_db()
    return invoice


def _einvoice(invoice: Invoice) -> EInvoice:
    return EInvoice.objects.exclude(kind=EInvoiceKind.ADJUSTMENT).get(invoice=invoice)


def test_a_paid_invoice_gets_one_einvoice_keyed_by_our_invoice_id(
    fake_sinvoice: FakeSInvoiceServer,
) -> None:
    invoice = _paid_invoice()
    assert _einvoice(invoice).status == EInvoiceStatus.PENDING

    assert einvoices_send().issued == 1
    assert einvoices_send().issued == 0

    einvoice = _einvoice(invoice)
    year = timezone.localdate().year % 100
    assert (einvoice.status, einvoice.symbol, einvoice.number) == (
        EInvoiceStatus.ISSUED,
        f"C{year}TBV",
        "1",
    )
    assert einvoice.template_code == "2/001"
    assert einvoice.lookup_code
    assert einvoice.tax_authority_code == ""  # it comes later
    (sent,) = fake_sinvoice.created
    assert sent.transaction_uuid == f"vienphi-{invoice.pk}"
    assert fake_sinvoice.create_calls == 1
    payload = sent.payload
    assert payload["buyerInfo"]["buyerName"] == PATIENT_NAME
    assert payload["summarizeInfo"]["totalAmountWithTax"] == invoice.patient_share == 120_000
    items = {item["itemName"]: item for item in payload["itemInfo"]}
    assert items["Khám Nội tổng hợp"]["taxPercentage"] == -2  # KCT
    drug = items["Paracetamol 500mg"]
    assert (drug["taxPercentage"], drug["itemTotalAmountWithoutTax"], drug["taxAmount"]) == (
        5,
        19_048,
        952,
    )
    fund = items["Quỹ BHYT chi trả"]
    assert (fund["isIncreaseItem"], fund["itemTotalAmountWithoutTax"]) == (False, 400_000)
    assert {row["taxPercentage"] for row in payload["taxBreakdowns"]} == {-2, 5}


def test_no_provider_configured_means_no_einvoice(settings: Any) -> None:
    settings.EINVOICE_PROVIDER = ""

    invoice = _paid_invoice()

    assert not EInvoice.objects.filter(invoice=invoice).exists()
    assert einvoices_send().issued == 0


def test_at_issue_the_einvoice_is_queued_before_payment(
    fake_sinvoice: FakeSInvoiceServer, settings: Any
) -> None:
    settings.EINVOICE_ISSUE_AT = "issue"

    invoice = receipt_invoice()

    assert _einvoice(invoice).status == EInvoiceStatus.PENDING
    assert fake_sinvoice.created == []
    paid(invoice=invoice)
    assert EInvoice.objects.filter(invoice=invoice).count() == 1


def test_the_tax_authoritys_code_arrives_later_and_is_stored(
    fake_sinvoice: FakeSInvoiceServer,
) -> None:
    invoice = _paid_invoice()
    einvoices_send()
    assert einvoice_codes_poll() == 0  # the tax authority has not answered yet

    (code,) = fake_sinvoice.assign_tax_codes()
    assert einvoice_codes_poll() == 1

    assert _einvoice(invoice).tax_authority_code == code
    assert einvoice_codes_poll() == 0


def test_an_answer_lost_after_the_provider_issued_is_looked_up_not_issued_again(
    fake_sinvoice: FakeSInvoiceServer,
) -> None:
    invoice = _paid_invoice()
    fake_sinvoice.crash_after_create()

    first = einvoices_send()
    assert (first.issued, first.waiting) == (0, True)
    assert _einvoice(invoice).status == EInvoiceStatus.PENDING
    assert einvoices_send().issued == 0  # waiting out its backoff

    assert einvoices_send(force=True).issued == 1

    assert len(fake_sinvoice.created) == 1
    assert fake_sinvoice.create_calls == 1
    assert _einvoice(invoice).number == "1"


def test_an_expired_login_is_renewed_once(fake_sinvoice: FakeSInvoiceServer) -> None:
    _paid_invoice()
    einvoices_send()
    fake_sinvoice.expire_tokens()
    second = _paid_invoice()

    assert einvoices_send().issued == 1
    assert _einvoice(second).number == "2"


def test_a_refusal_is_parked_with_the_providers_message_then_corrected_and_resent(
    fake_sinvoice: FakeSInvoiceServer, staff_client: Any
) -> None:
    invoice = _paid_invoice()
    EInvoice.objects.filter(invoice=invoice).update(
        buyer_legal_name="Công ty TNHH Bảo Minh", buyer_tax_code="01001091"
    )
    after = _paid_invoice()

    run = einvoices_send()

    assert (run.issued, run.refused) == (1, 1)  # the refusal does not hold the next one up
    refused = _einvoice(invoice)
    assert refused.status == EInvoiceStatus.REFUSED
    assert refused.error_code == "BUYER_TAX_CODE_INVALID"
    assert "01001091" in refused.last_error
    assert list(einvoices_needing_attention()) == [refused]
    body = (
        staff_client(Role.CASHIER).get(f"/api/v1/invoices/{invoice.public_id}").json()["einvoice"]
    )
    assert (body["state"], body["error_code"]) == ("refused", "BUYER_TAX_CODE_INVALID")
    assert "không hợp lệ" in body["error_message"]
    assert _einvoice(after).status == EInvoiceStatus.ISSUED

    refused.buyer_tax_code = "0100109106"
    refused.save(update_fields=["buyer_tax_code"])
    einvoice_resend(einvoice=refused)
    assert einvoices_send().issued == 1

    resent = _einvoice(invoice)
    assert resent.status == EInvoiceStatus.ISSUED
    assert resent.resends == 1
    assert fake_sinvoice.created[-1].payload["buyerInfo"]["buyerTaxCode"] == "0100109106"
    assert list(einvoices_needing_attention()) == []


def test_only_a_refused_einvoice_can_be_resent(fake_sinvoice: FakeSInvoiceServer) -> None:
    invoice = _paid_invoice()
    from billing.errors import EInvoiceNotResendable

    with pytest.raises(EInvoiceNotResendable):
        einvoice_resend(einvoice=_einvoice(invoice))


def test_provider_down_for_an_hour_payments_go_on_and_einvoices_go_out_later_in_order_once(
    fake_sinvoice: FakeSInvoiceServer,
) -> None:
    fake_sinvoice.down()
    invoices = [receipt_invoice() for _ in range(3)]
    payments = [paid(invoice=invoice) for invoice in invoices]
    for invoice in invoices:
        invoice.refresh_from_db()
    # Payments and receipts are unaffected: every invoice is paid and has its receipt.
    for invoice, payment in zip(invoices, payments, strict=True):
        assert invoice.status == "paid"
        assert receipt_issue_for_payment(payment_id=payment.pk) is not None

    # An hour of beat runs: each tries the first e-invoice once and stops; the backoff grows.
    waits = []
    for _ in range(8):
        run = einvoices_send(force=True)
        assert (run.issued, run.waiting) == (0, True)
        first = _einvoice(invoices[0])
        assert first.next_attempt_at is not None
        waits.append((first.next_attempt_at - timezone.now()).total_seconds())
    assert waits[-1] <= 900 + 1
    assert waits[0] < waits[3]
    assert [_einvoice(i).attempts for i in invoices] == [8, 0, 0]

    fake_sinvoice.up()
    assert einvoices_send(force=True).issued == 3

    created = fake_sinvoice.created
    assert [c.transaction_uuid for c in created] == [f"vienphi-{i.pk}" for i in invoices]
    assert [c.invoice_no[-1] for c in created] == ["1", "2", "3"]
    assert fake_sinvoice.create_calls == 3
    assert einvoices_send(force=True).issued == 0


def test_a_5xx_answer_is_transient(fake_sinvoice: FakeSInvoiceServer) -> None:
    invoice = _paid_invoice()
    fake_sinvoice.fail_next(times=2, status=503)

    assert einvoices_send().waiting
    assert einvoices_send(force=True).waiting
    assert einvoices_send(force=True).issued == 1
    assert _einvoice(invoice).attempts == 3


def _issued_unpaid(settings: Any) -> Invoice:
    settings.EINVOICE_ISSUE_AT = "issue"
    return receipt_invoice()


def test_voiding_before_the_einvoice_went_out_withdraws_it(
    fake_sinvoice: FakeSInvoiceServer, settings: Any
) -> None:
    invoice = _issued_unpaid(settings)

    invoice_void(invoice=invoice, voided_by=None, reason="Nhập nhầm dịch vụ")

    assert _einvoice(invoice).status == EInvoiceStatus.WITHDRAWN
    assert einvoices_send().issued == 0
    assert fake_sinvoice.created == []


def test_voiding_after_issue_sends_an_adjusting_einvoice_taking_it_back(
    fake_sinvoice: FakeSInvoiceServer, settings: Any
) -> None:
    invoice = _issued_unpaid(settings)
    einvoices_send()
    original = _einvoice(invoice)

    invoice_void(invoice=invoice, voided_by=None, reason="Người bệnh không thực hiện dịch vụ")
    assert einvoices_send().issued == 1

    adjustment = EInvoice.objects.get(kind=EInvoiceKind.ADJUSTMENT)
    assert (adjustment.original, adjustment.status) == (original, EInvoiceStatus.ISSUED)
    sent = fake_sinvoice.created[-1]
    general = sent.payload["generalInvoiceInfo"]
    assert general["adjustmentType"] == "5"
    assert general["adjustmentInvoiceType"] == "1"
    assert general["originalInvoiceId"] == f"{original.symbol}{original.number}"
    assert general["additionalReferenceDesc"] == "Người bệnh không thực hiện dịch vụ"
    assert sent.payload["summarizeInfo"]["totalAmountWithTax"] == -invoice.patient_share
    assert list(einvoices_needing_attention()) == []


def test_with_replacement_the_visits_next_invoice_replaces_the_voided_ones_einvoice(
    fake_sinvoice: FakeSInvoiceServer, settings: Any
) -> None:
    settings.EINVOICE_VOID_CORRECTION = "replace"
    invoice = _issued_unpaid(settings)
    einvoices_send()
    original = _einvoice(invoice)

    invoice_void(invoice=invoice, voided_by=None, reason="Sai đơn giá")
    # Never silently: until it is replaced, staff see it waiting.
    assert list(einvoices_needing_attention()) == [original]
    charges_post(invoice.encounter, (price_item(name="Khám lại", price=50_000), 1))
    again = invoice_issue(encounter=invoice.encounter, issued_by="test")
    einvoices_send()

    replacement = _einvoice(again)
    assert (replacement.kind, replacement.original) == (EInvoiceKind.REPLACEMENT, original)
    assert replacement.status == EInvoiceStatus.ISSUED
    general = fake_sinvoice.created[-1].payload["generalInvoiceInfo"]
    assert general["adjustmentType"] == "3"
    assert general["originalInvoiceId"] == f"{original.symbol}{original.number}"
    assert list(einvoices_needing_attention()) == []


def test_the_invoice_api_shows_the_einvoice_and_where_to_look_it_up(
    fake_sinvoice: FakeSInvoiceServer, staff_client: Any, settings: Any
) -> None:
    invoice = _paid_invoice()
    client = staff_client(Role.CASHIER)
    assert (
        client.get(f"/api/v1/invoices/{invoice.public_id}").json()["einvoice"]["state"] == "pending"
    )
    einvoices_send()
    fake_sinvoice.assign_tax_codes()
    einvoice_codes_poll()

    body = client.get(f"/api/v1/invoices/{invoice.public_id}").json()["einvoice"]

    einvoice = _einvoice(invoice)
    assert body["state"] == "issued"
    assert re.match(r"\Aeinv_[0-9a-f]{20}\Z", body["id"])  # not the integer key, a sequence
    assert body["id"] == einvoice.public_id
    assert (body["form"], body["symbol"], body["number"]) == ("2", einvoice.symbol, "1")
    assert body["tax_authority_code"] == einvoice.tax_authority_code != ""
    assert body["lookup_code"] == einvoice.lookup_code
    assert body["lookup_url"] == settings.EINVOICE_LOOKUP_URL
    assert body["corrections"] == []
    assert client.get(f"/api/v1/invoices/{receipt_invoice().public_id}").json()["einvoice"] is None
    assert_error(client.get("/api/v1/invoices/999999"), 404, "not_found", "id")


def test_the_adapter_downloads_the_pdf_and_xml_and_cancels(
    fake_sinvoice: FakeSInvoiceServer,
) -> None:
    invoice = _paid_invoice()
    einvoices_send()
    fake_sinvoice.assign_tax_codes()
    provider = ViettelSInvoice()
    found = provider.status(f"vienphi-{invoice.pk}")
    assert found is not None
    assert found.tax_authority_code

    pdf = provider.download(found, transaction_uuid=f"vienphi-{invoice.pk}", file_type="pdf")
    xml = provider.download(found, transaction_uuid=f"vienphi-{invoice.pk}", file_type="xml")

    assert pdf.startswith(b"%PDF")
    assert found.tax_authority_code.encode() in xml
    assert provider.status("vienphi-nothing") is None
    reference = OriginalReference(
        found.template_code, found.symbol, found.number, timezone.now(), "vienphi-x"
    )
    provider.cancel(reference, reason="test")
    assert fake_sinvoice.created[0].cancelled
    with pytest.raises(ProviderRefused) as refused:
        provider.cancel(
            OriginalReference("2/001", "C26TBV", "999", timezone.now(), "x"), reason="test"
        )
    assert refused.value.code == "INVOICE_NOT_FOUND"


def test_a_series_viettel_does_not_know_is_a_refusal_with_its_message(
    fake_sinvoice: FakeSInvoiceServer, settings: Any
) -> None:
    settings.VIETTEL_INVOICE_SERIES = "C{yy}XYZ"
    invoice = _paid_invoice()

    assert einvoices_send().refused == 1

    einvoice = _einvoice(invoice)
    assert (einvoice.error_code, einvoice.last_error) == (
        "INVOICE_SERIAL_NOT_FOUND",
        "Ký hiệu hóa đơn không tồn tại",
    )


@pytest.fixture
def admin_browser(db: None) -> Client:
    user = get_user_model().objects.create_superuser("root", "root@example.vn", "pw-12345678")
    client = Client()
    client.force_login(user)
    return client


def test_staff_correct_a_refused_buyer_in_the_admin_and_send_it_again(
    fake_sinvoice: FakeSInvoiceServer, admin_browser: Client
) -> None:
    invoice = _paid_invoice()
    EInvoice.objects.filter(invoice=invoice).update(
        buyer_legal_name="Công ty TNHH Bảo Minh", buyer_tax_code="12345"
    )
    einvoices_send()
    refused = _einvoice(invoice)
    changelist = reverse("admin:billing_einvoice_changelist")

    page = admin_browser.get(f"{changelist}?attention=yes").content.decode()
    assert "BUYER_TAX_CODE_INVALID" in page
    assert "12345 không hợp lệ" in page
    change = reverse("admin:billing_einvoice_change", args=[refused.pk])
    response = admin_browser.post(
        change,
        {
            "buyer_legal_name": "Công ty TNHH Bảo Minh",
            "buyer_tax_code": "0100109106",
            "buyer_address": "Hà Nội",
            "buyer_email": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert _einvoice(invoice).buyer_tax_code == "0100109106"
    admin_browser.post(changelist, {"action": "send_again", "_selected_action": [refused.pk]})
    assert einvoices_send().issued == 1

    assert _einvoice(invoice).status == EInvoiceStatus.ISSUED
    after = admin_browser.get(f"{changelist}?attention=yes").content.decode()
    assert "BUYER_TAX_CODE_INVALID" not in after
    # Issued: nothing is editable any more.
    admin_browser.post(change, {"buyer_tax_code": "0000000000"})
    assert _einvoice(invoice).buyer_tax_code == "0100109106"


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_every_einvoice_already_written_its_own_public_id(
    fake_sinvoice: FakeSInvoiceServer,
) -> None:
    invoices = [_paid_invoice() for _ in range(2)]

    migrated_back_and_forth(
        back_to=("billing", "0018_account_balances"), table="billing_einvoice", rows=2
    )

    ids = [_einvoice(invoice).public_id for invoice in invoices]
    assert all(re.match(r"\Aeinv_[0-9a-f]{20}\Z", public_id) for public_id in ids)
    assert len(set(ids)) == 2
