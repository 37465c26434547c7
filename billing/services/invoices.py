"""Issuing and voiding invoices, and keeping their status in step with the ledger."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from billing.chart import (
    INSURANCE_RECEIVABLE,
    OUTPUT_VAT,
    PATIENT_RECEIVABLE,
    PHARMACY_REVENUE,
    SERVICE_REVENUE,
)
from billing.errors import InvoiceAlreadyVoid, InvoiceHasPayments, NothingToBill
from billing.insurance import SplitInput, rules_for, split
from billing.models import (
    Charge,
    ChargeStatus,
    Encounter,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    JournalEntry,
    JournalLine,
    ServiceCategory,
    VatRate,
)
from billing.money import Money, round_half_up
from billing.selectors.invoices import invoice_balance
from billing.services.ledger import Posting, ledger_post, ledger_reverse
from billing.services.sequences import sequence_next
from billing.signals import invoice_issued

# Checks that apps above billing add, run under the invoice's row lock before a void
# (payments refuses while a payment of the invoice is still in flight).
VOID_GUARDS: list[Callable[[Invoice], None]] = []
# Entries that move an invoice's receivable without being a payment of it.
_NOT_PAYMENTS = ("invoice", "deposit_application")


def _vat_included(amount: int, vat_rate: str) -> int:
    """The VAT inside a VAT-inclusive amount, rounded half up; 0 for KCT and 0 %."""
    if vat_rate in (VatRate.KCT, VatRate.ZERO):
        return 0
    rate = Decimal(vat_rate)
    return round_half_up(Decimal(amount) * rate / (100 + rate))


def _visit_in_scope_total(encounter: Encounter, new_charges: list[Charge]) -> int:
    billed = [
        c
        for c in Charge.objects.filter(
            encounter=encounter, status=ChargeStatus.ACTIVE, invoice__isnull=False
        )
    ]
    return sum(
        SplitInput(c.quantity, c.unit_price, c.insurance_unit_price, c.on_demand).in_scope_amount
        for c in [*billed, *new_charges]
    )


def invoice_refresh_status(*, invoice: Invoice) -> Invoice:
    """Set issued / partially_paid / paid from what the ledger says is still due."""
    if invoice.status == InvoiceStatus.VOID:
        return invoice
    due = invoice_balance(invoice).amount_due
    if due <= 0:
        status = InvoiceStatus.PAID
    elif due < invoice.patient_share:
        status = InvoiceStatus.PARTIALLY_PAID
    else:
        status = InvoiceStatus.ISSUED
    if status != invoice.status:
        invoice.status = status
        invoice.save(update_fields=["status"])
    return invoice


@transaction.atomic
def invoice_issue(*, encounter: Encounter, issued_by: str) -> Invoice:
    """Bill the encounter's unbilled charges: snapshot them into lines with the insurance
    split, number the invoice gap-free per series and year, and post receivables (patient
    and fund) against revenue and VAT. Concurrent issuers of one encounter serialise on the
    encounter row: one invoice, no charge billed twice; and on the patient row, so that
    the year's co-pay cap is counted with every earlier invoice."""
    # FOR UPDATE over the join locks the patient's row too, so the patient's other visits
    # are billed one at a time: the year's co-pay cap (billing.insurance) is never spent twice
    # by two invoices issued at once (tests/billing/test_copay_cap.py).
    encounter = Encounter.objects.select_for_update().select_related("patient").get(pk=encounter.pk)
    charges = list(
        Charge.objects.filter(encounter=encounter, status=ChargeStatus.ACTIVE, invoice__isnull=True)
    )
    if not charges:
        raise NothingToBill()
    now = timezone.now()
    rules = rules_for(
        patient=encounter.patient,
        route=encounter.route,
        encounter_kind=encounter.kind,
        on=timezone.localdate(encounter.opened_at),
    )
    inputs = [
        SplitInput(c.quantity, c.unit_price, c.insurance_unit_price, c.on_demand) for c in charges
    ]
    shares = split(inputs, rules, visit_in_scope_total=_visit_in_scope_total(encounter, charges))
    year = timezone.localdate(now).year
    series = settings.INVOICE_SERIES
    invoice = Invoice.objects.create(
        encounter=encounter,
        patient=encounter.patient,
        series=series,
        year=year,
        number=sequence_next(series=f"invoice:{series}", year=year),
        currency=charges[0].currency,
        total=sum(i.amount for i in inputs),
        insurance_share=sum(s.insurance for s in shares),
        patient_share=sum(s.patient for s in shares),
        benefit_level=rules.benefit_level,
        route=encounter.route,
        issued_at=now,
        issued_by=issued_by[:100],
    )
    lines = [
        InvoiceLine(
            invoice=invoice,
            charge=charge,
            **charge.service_snapshot(),
            amount=charge.amount,
            insurance_share=share.insurance,
            patient_share=share.patient,
            vat_amount=_vat_included(charge.amount, charge.vat_rate),
        )
        for charge, share in zip(charges, shares, strict=True)
    ]
    InvoiceLine.objects.bulk_create(lines)
    updated = Charge.objects.filter(pk__in=[c.pk for c in charges], invoice__isnull=True).update(
        invoice=invoice
    )
    assert updated == len(charges), "charges billed concurrently despite the encounter lock"
    _post_issue(invoice, lines)
    invoice = invoice_refresh_status(invoice=invoice)
    invoice_issued.send(sender=Invoice, invoice=invoice)
    return invoice


def _post_issue(invoice: Invoice, lines: list[InvoiceLine]) -> None:
    if invoice.total == 0:
        return
    currency = invoice.currency
    ref = invoice.ledger_reference
    credits: defaultdict[str, int] = defaultdict(int)
    for line in lines:
        revenue = PHARMACY_REVENUE if line.category == ServiceCategory.DRUG else SERVICE_REVENUE
        credits[revenue] += line.amount - line.vat_amount
        credits[OUTPUT_VAT] += line.vat_amount
    postings = [
        Posting.dr(PATIENT_RECEIVABLE, Money(invoice.patient_share, currency), ref),
        Posting.dr(INSURANCE_RECEIVABLE, Money(invoice.insurance_share, currency), ref),
        *(Posting.cr(code, Money(amount, currency)) for code, amount in credits.items()),
    ]
    ledger_post(
        posting_key=invoice.issue_posting_key,
        lines=[p for p in postings if p.debit or p.credit],
        source_type="invoice",
        source_id=str(invoice.pk),
        memo=f"Invoice {invoice.display_number}",
    )


def invoice_payments_net(invoice: Invoice) -> int:
    """What payments (not the issue, not deposits) have taken off the patient receivable."""
    totals = (
        JournalLine.objects.filter(
            account__code=PATIENT_RECEIVABLE, reference=invoice.ledger_reference
        )
        .exclude(entry__source_type__in=_NOT_PAYMENTS)
        .aggregate(debit=Sum("debit"), credit=Sum("credit"))
    )
    return (totals["credit"] or 0) - (totals["debit"] or 0)


@transaction.atomic
def invoice_void(*, invoice: Invoice, voided_by: AbstractBaseUser | None, reason: str) -> Invoice:
    """Void an invoice that has no payments left on it: deposits applied to it go back to
    the patient's deposit balance, the issue entry is reversed, and its charges become
    billable again."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status == InvoiceStatus.VOID:
        raise InvoiceAlreadyVoid()
    for guard in VOID_GUARDS:
        guard(invoice)
    paid = invoice_payments_net(invoice)
    if paid > 0:
        raise InvoiceHasPayments(detail={"amount_paid": paid})
    applications = JournalEntry.objects.filter(
        source_type="deposit_application",
        source_id=str(invoice.pk),
        reverses__isnull=True,
        reversed_by__isnull=True,
    )
    for entry in applications:
        ledger_reverse(entry=entry, memo=f"Invoice {invoice.display_number} voided: deposit back")
    issue = JournalEntry.objects.filter(posting_key=invoice.issue_posting_key).first()
    if issue is not None:
        ledger_reverse(entry=issue, memo=f"Invoice {invoice.display_number} voided")
    Charge.objects.filter(invoice=invoice).update(invoice=None)
    invoice.status = InvoiceStatus.VOID
    invoice.voided_at = timezone.now()
    invoice.voided_by = voided_by  # type: ignore[assignment]
    invoice.void_reason = reason[:200]
    invoice.save(update_fields=["status", "voided_at", "voided_by", "void_reason"])
    return invoice
