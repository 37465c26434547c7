"""A refund after payment lowers the invoice's e-invoice by an adjusting e-invoice (hóa đơn
điều chỉnh giảm) through the provider — queued after the refund commits, once per refund,
never taking the e-invoice below what the patient still paid — against the local fake of
Viettel S-Invoice reached by our real client."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from billing.chart import BANK
from billing.models import EInvoice, EInvoiceKind, EInvoiceStatus, Invoice
from billing.services.einvoices import einvoice_resend, einvoices_send
from billing.services.invoices import invoice_void
from payments.models import Payment, Refund
from payments.services.refund_einvoices import refund_einvoice_adjust, refunds_einvoice_sweep
from payments.services.refunds import refund_complete, refund_request
from tests.concurrency import run_at_once
from tests.fakes.viettel_sinvoice import FakeSInvoiceServer
from tests.notifications.builders import cashier, paid, receipt_invoice

pytestmark = pytest.mark.django_db


def refund(payment: Payment, amount: int, reason: str = "service_not_performed") -> Refund:
    """A bank-transfer refund, requested and paid out at the desk (committed)."""
    desk = cashier()
    requested = refund_request(
        payment=payment,
        amount=amount,
        reason=reason,
        requested_by=desk,
        idempotency_key=f"refund-{uuid.uuid4()}",
    )
    return refund_complete(refund=requested, paid_out_by=desk, credit_account=BANK)


def paid_and_einvoiced() -> tuple[Invoice, Payment, EInvoice]:
    """The receipt builders' invoice (120,000 ₫ for the patient: services without VAT and a
    drug at 5 %), paid by transfer, its e-invoice issued at the fake."""
    invoice = receipt_invoice()
    payment = paid(invoice=invoice)
    assert einvoices_send().issued == 1
    original = EInvoice.objects.get(invoice=invoice, kind=EInvoiceKind.ORIGINAL)
    assert original.status == EInvoiceStatus.ISSUED
    return invoice, payment, original


def sent_for(fake: FakeSInvoiceServer, einvoice: EInvoice) -> dict[str, Any]:
    (sent,) = [i for i in fake.created if i.transaction_uuid == einvoice.transaction_uuid]
    return sent.payload


def test_a_full_refund_sends_an_adjusting_einvoice_taking_the_whole_amount_back(
    fake_sinvoice: FakeSInvoiceServer,
) -> None:
    invoice, payment, original = paid_and_einvoiced()
    back = refund(payment, 120_000)

    adjustment = refund_einvoice_adjust(refund_id=back.pk)
    assert einvoices_send().issued == 1

    assert adjustment is not None
    adjustment.refresh_from_db()
    assert (adjustment.kind, adjustment.original, adjustment.status) == (
        EInvoiceKind.ADJUSTMENT,
        original,
        EInvoiceStatus.ISSUED,
    )
    assert (adjustment.adjusted_amount, adjustment.refund_key) == (120_000, back.public_id)
    payload = sent_for(fake_sinvoice, adjustment)
    general = payload["generalInvoiceInfo"]
    assert (general["adjustmentType"], general["adjustmentInvoiceType"]) == ("5", "1")
    assert general["originalInvoiceId"] == f"{original.symbol}{original.number}"
    assert general["additionalReferenceDesc"] == (
        f"Hoàn trả 120.000 ₫ ({back.public_id}): dịch vụ không thực hiện"
    )
    assert payload["summarizeInfo"]["totalAmountWithTax"] == -120_000
    # One decreasing line per VAT rate of the services, in proportion to what each bills.
    items = payload["itemInfo"]
    assert all(item["isIncreaseItem"] is False for item in items)
    by_rate = {
        item["taxPercentage"]: item["itemTotalAmountWithoutTax"] + item["taxAmount"]
        for item in items
    }
    assert set(by_rate) == {-2, 5}
    assert sum(by_rate.values()) == 120_000
    drug = next(item for item in items if item["taxPercentage"] == 5)
    assert abs(drug["itemTotalAmountWithoutTax"] * 5 / 100 - drug["taxAmount"]) < 1
    invoice.refresh_from_db()
    assert invoice.status != "void"  # the invoice stays; its e-invoice states 0 now

    # Again (a redelivered task): the same adjustment, nothing more at the provider.
    assert refund_einvoice_adjust(refund_id=back.pk) == adjustment
    assert einvoices_send().issued == 0
    assert fake_sinvoice.create_calls == 2


def test_partial_refunds_adjust_each_and_a_later_void_takes_back_only_what_they_left(
    fake_sinvoice: FakeSInvoiceServer,
) -> None:
    invoice, payment, original = paid_and_einvoiced()

    first = refund_einvoice_adjust(refund_id=refund(payment, 30_000).pk)
    second = refund_einvoice_adjust(refund_id=refund(payment, 20_000).pk)
    # The rest goes back as an overpayment: no sale changed, no adjustment.
    rest = refund(payment, 70_000, reason="overpayment")
    assert refund_einvoice_adjust(refund_id=rest.pk) is None
    invoice_void(invoice=invoice, voided_by=None, reason="Người bệnh chuyển viện")
    assert einvoices_send().issued == 3

    assert first is not None
    assert second is not None
    adjustments = list(EInvoice.objects.filter(original=original).order_by("id"))
    assert [a.adjusted_amount for a in adjustments] == [30_000, 20_000, 70_000]
    assert [a.refund_key for a in adjustments] == [first.refund_key, second.refund_key, ""]
    assert {a.status for a in adjustments} == {EInvoiceStatus.ISSUED}
    totals = [
        sent_for(fake_sinvoice, a)["summarizeInfo"]["totalAmountWithTax"] for a in adjustments
    ]
    assert totals == [-30_000, -20_000, -70_000]  # the e-invoice states 0, never less


def test_a_refund_of_money_that_paid_for_nothing_changes_no_einvoice(
    fake_sinvoice: FakeSInvoiceServer,
) -> None:
    _, payment, original = paid_and_einvoiced()

    assert refund_einvoice_adjust(refund_id=refund(payment, 50_000, reason="duplicate").pk) is None
    assert not EInvoice.objects.filter(original=original).exists()
    assert einvoices_send().issued == 0


def test_a_void_after_refunds_took_everything_back_sends_nothing_more(
    fake_sinvoice: FakeSInvoiceServer,
) -> None:
    invoice, payment, original = paid_and_einvoiced()
    refund_einvoice_adjust(refund_id=refund(payment, 120_000, reason="requested_by_patient").pk)

    invoice_void(invoice=invoice, voided_by=None, reason="Hủy")
    einvoices_send()

    (adjustment,) = EInvoice.objects.filter(original=original)
    assert adjustment.adjusted_amount == 120_000
    assert fake_sinvoice.create_calls == 2


def test_with_replacement_configured_a_refunded_einvoice_is_adjusted_for_what_is_left(
    fake_sinvoice: FakeSInvoiceServer, settings: Any
) -> None:
    settings.EINVOICE_VOID_CORRECTION = "replace"
    invoice, payment, original = paid_and_einvoiced()
    refund_einvoice_adjust(refund_id=refund(payment, 40_000).pk)
    refund(payment, 80_000, reason="overpayment")

    invoice_void(invoice=invoice, voided_by=None, reason="Sai dịch vụ")
    einvoices_send()

    amounts = list(
        EInvoice.objects.filter(original=original)
        .order_by("id")
        .values_list("adjusted_amount", flat=True)
    )
    assert amounts == [40_000, 80_000]  # never left waiting for a replacement


def refunded_before_issued(first_try: Callable[[], bool]) -> tuple[EInvoice, EInvoice]:
    """A paid invoice whose e-invoice's first try (``first_try``, true as expected) did not
    issue it, then a refund of 25,000: (the original, the refund's adjustment)."""
    invoice = receipt_invoice()
    payment = paid(invoice=invoice)
    original = EInvoice.objects.get(invoice=invoice, kind=EInvoiceKind.ORIGINAL)
    assert first_try()
    adjustment = refund_einvoice_adjust(refund_id=refund(payment, 25_000).pk)
    assert adjustment is not None
    return original, adjustment


def test_a_refund_before_the_einvoice_went_out_waits_for_it_then_follows_it(
    fake_sinvoice: FakeSInvoiceServer,
) -> None:
    fake_sinvoice.down()
    original, adjustment = refunded_before_issued(
        lambda: einvoices_send().issued == 0  # the provider is away: the original waits
    )

    fake_sinvoice.up()
    einvoices_send(force=True)

    sent = [i.transaction_uuid for i in fake_sinvoice.created]
    assert sent == [original.transaction_uuid, adjustment.transaction_uuid]


def test_an_adjustment_waits_while_its_original_is_refused_and_goes_after_the_resend(
    fake_sinvoice: FakeSInvoiceServer,
) -> None:

    def refused() -> bool:
        EInvoice.objects.filter(kind=EInvoiceKind.ORIGINAL).update(buyer_tax_code="12345")
        return einvoices_send().refused == 1  # Viettel refuses the buyer's tax code

    original, adjustment = refunded_before_issued(refused)

    assert einvoices_send().issued == 0  # not before its original
    EInvoice.objects.filter(pk=original.pk).update(buyer_tax_code="")
    einvoice_resend(einvoice=original)
    assert einvoices_send().issued == 2

    adjustment.refresh_from_db()
    assert adjustment.status == EInvoiceStatus.ISSUED


def test_voiding_before_the_einvoice_went_out_withdraws_its_waiting_adjustment_too(
    fake_sinvoice: FakeSInvoiceServer, settings: Any
) -> None:
    settings.EINVOICE_ISSUE_AT = "issue"
    invoice = receipt_invoice()
    payment = paid(invoice=invoice)
    fake_sinvoice.down()
    einvoices_send()
    refund_einvoice_adjust(refund_id=refund(payment, 120_000).pk)

    invoice_void(invoice=invoice, voided_by=None, reason="Nhập nhầm")
    fake_sinvoice.up()
    einvoices_send(force=True)

    statuses = set(EInvoice.objects.filter(invoice=invoice).values_list("status", flat=True))
    assert statuses == {EInvoiceStatus.WITHDRAWN}
    assert fake_sinvoice.created == []


def test_the_adjustment_is_queued_by_celery_right_after_the_refund_commits(
    fake_sinvoice: FakeSInvoiceServer, django_capture_on_commit_callbacks: Any
) -> None:
    _, payment, original = paid_and_einvoiced()

    with django_capture_on_commit_callbacks(execute=True):
        back = refund(payment, 45_000)

    adjustment = EInvoice.objects.get(refund_key=back.public_id)
    assert (adjustment.original, adjustment.adjusted_amount) == (original, 45_000)
    assert adjustment.status == EInvoiceStatus.ISSUED  # the sender ran after commit too


@pytest.mark.django_db(transaction=True)
def test_refunds_adjusted_at_once_make_one_adjustment_each_and_never_too_much(
    fake_sinvoice: FakeSInvoiceServer,
) -> None:
    invoice = receipt_invoice()
    payment = paid(invoice=invoice)
    einvoices_send()
    refunds = [refund(payment, 70_000), refund(payment, 50_000)]

    outcomes = run_at_once(6, lambda i: refund_einvoice_adjust(refund_id=refunds[i % 2].pk))

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    adjustments = EInvoice.objects.filter(kind=EInvoiceKind.ADJUSTMENT)
    assert sorted(adjustments.values_list("adjusted_amount", flat=True)) == [50_000, 70_000]
    assert {o.pk for o in outcomes} == set(adjustments.values_list("pk", flat=True))
    einvoices_send()
    assert set(adjustments.values_list("status", flat=True)) == {EInvoiceStatus.ISSUED}


def test_beat_makes_the_adjustment_whose_task_was_lost_once(
    fake_sinvoice: FakeSInvoiceServer,
) -> None:
    _, payment, original = paid_and_einvoiced()
    back = refund(payment, 30_000)  # its event's task never ran (no commit in this test)
    duplicate = refund(payment, 10_000, reason="duplicate")
    assert refunds_einvoice_sweep() == 0  # too recent: its task may still be on its way
    Refund.objects.filter(pk__in=[back.pk, duplicate.pk]).update(
        completed_at=timezone.now() - timedelta(minutes=10)
    )

    assert refunds_einvoice_sweep() == 1
    assert refunds_einvoice_sweep() == 0

    (adjustment,) = EInvoice.objects.filter(original=original)
    assert (adjustment.refund_key, adjustment.adjusted_amount) == (back.public_id, 30_000)
