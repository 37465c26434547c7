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

from billing import ledger_memos as memos
from billing.chart import AccountRole, account_for
from billing.errors import InvoiceAlreadyVoid, InvoiceCreditSpent, InvoiceHasPayments, NothingToBill
from billing.insurance import (
    Share,
    SplitInput,
    VisitBilled,
    rules_for_visit,
    visit_split,
)
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
    VoucherType,
)
from billing.money import Money, round_half_up
from billing.selectors.invoices import deposit_balance, invoice_balance
from billing.services.einvoices import einvoice_enqueue, einvoice_on_void
from billing.services.ledger import Posting, ledger_post, ledger_reverse
from billing.services.sequences import sequence_next
from billing.signals import invoice_closed, invoice_issued
from config.audit.services import audit_change
from config.errors import DomainError

# Checks that apps above billing add, run under the invoice's row lock before a void
# (payments refuses while a payment of the invoice is still in flight).
VOID_GUARDS: list[Callable[[Invoice], None]] = []
# The errors those guards raise, for the void operation's documented answers (OpenAPI).
VOID_GUARD_ERRORS: list[type[DomainError]] = []
# A negative patient share (an adjustment giving the fund's share back) that discharge moved
# to the patient's advances (billing.services.deposits).
VISIT_CREDIT = "visit_credit"
# Entries that move an invoice's receivable without being a payment of it.
_NOT_PAYMENTS = ("invoice", "deposit_application", VISIT_CREDIT)
ADJUSTMENT_CODE = "BHYT-DC"
ADJUSTMENT_NAME = "Điều chỉnh mức hưởng BHYT"


def _vat_included(amount: int, vat_rate: str) -> int:
    """The VAT inside a VAT-inclusive amount, rounded half up; 0 for KCT and 0 %."""
    if vat_rate in (VatRate.KCT, VatRate.ZERO):
        return 0
    rate = Decimal(vat_rate)
    return round_half_up(Decimal(amount) * rate / (100 + rate))


def _visit_billed(encounter: Encounter) -> VisitBilled:
    """The visit's lines on invoices that are not void, in the order they were billed."""
    lines = list(
        InvoiceLine.objects.filter(invoice__encounter=encounter)
        .exclude(invoice__status=InvoiceStatus.VOID)
        .select_related("charge")
        .order_by("invoice_id", "id")
    )
    charged = [line for line in lines if line.charge is not None]
    counted = [line for line in lines if line.is_adjustment or line.rule]
    return VisitBilled(
        lines=[
            SplitInput(
                line.quantity,
                line.unit_price,
                line.charge.insurance_unit_price,
                line.charge.on_demand,
            )
            for line in charged
            if line.charge is not None
        ],
        resplit=[bool(line.rule) for line in charged],
        insurance=sum(line.insurance_share for line in counted),
        copay=sum(line.copay for line in counted),
    )


def _adjustment_line(invoice: Invoice, share: Share) -> InvoiceLine:
    return InvoiceLine(
        invoice=invoice,
        charge=None,
        service_code=ADJUSTMENT_CODE,
        name=ADJUSTMENT_NAME,
        unit="lần",
        category=ServiceCategory.ADJUSTMENT,
        quantity=1,
        unit_price=0,
        vat_rate=VatRate.KCT,
        amount=0,
        insurance_share=share.insurance,
        patient_share=share.patient,
        rule=share.rule,
        copay=share.copay,
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
        if status == InvoiceStatus.PAID:
            invoice_closed.send(sender=Invoice, invoice=invoice, reason="paid")
        if status == InvoiceStatus.PAID and settings.EINVOICE_ISSUE_AT == "paid":
            einvoice_enqueue(invoice=invoice)
    return invoice


@transaction.atomic
def invoice_issue(*, encounter: Encounter, issued_by: str, audit: bool = True) -> Invoice:
    """Bill the encounter's unbilled charges: snapshot them into lines with the insurance
    split and the rule that decided each, number the invoice gap-free per series and year,
    and post receivables (patient and fund, each may be negative) against revenue and VAT.

    The visit is split as one bill (``billing.insurance.visit_split``): when this invoice
    changes what the earlier invoices of the visit should have been (the visit crosses the
    low-cost threshold, or a void took it back under), it carries an adjustment line, so that
    the visit's invoices that are not void add up to the one-bill split. With no unbilled
    charge but such a difference left (a voided invoice's charges were voided too), the
    invoice holds the adjustment line alone; with neither, ``nothing_to_bill``.

    Concurrent issuers (and voiders) of one encounter serialise on the encounter row: one
    invoice, no charge billed twice, every adjustment computed from the visit as committed.
    The same statement locks the patient row, so the patient's visits are billed one at a
    time and the year's co-pay cap is never spent twice (tests/billing/test_copay_cap.py)."""
    encounter = Encounter.objects.select_for_update().select_related("patient").get(pk=encounter.pk)
    charges = list(
        Charge.objects.filter(encounter=encounter, status=ChargeStatus.ACTIVE, invoice__isnull=True)
    )
    rules = rules_for_visit(encounter=encounter)
    inputs = [
        SplitInput(c.quantity, c.unit_price, c.insurance_unit_price, c.on_demand) for c in charges
    ]
    result = visit_split(billed=_visit_billed(encounter), new=inputs, rules=rules)
    if not charges and result.adjustment is None:
        raise NothingToBill()
    shares = [*result.new, *([result.adjustment] if result.adjustment else [])]
    now = timezone.now()
    year = timezone.localdate(now).year
    series = settings.INVOICE_SERIES
    invoice = Invoice.objects.create(
        encounter=encounter,
        patient=encounter.patient,
        series=series,
        year=year,
        number=sequence_next(series=f"invoice:{series}", year=year),
        currency=charges[0].currency if charges else settings.HOSPITAL_CURRENCY,
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
            rule=share.rule,
            copay=share.copay,
        )
        for charge, share in zip(charges, result.new, strict=True)
    ]
    if result.adjustment is not None:
        lines.append(_adjustment_line(invoice, result.adjustment))
    InvoiceLine.objects.bulk_create(lines)
    updated = Charge.objects.filter(pk__in=[c.pk for c in charges], invoice__isnull=True).update(
        invoice=invoice
    )
    assert updated == len(charges), "charges billed concurrently despite the encounter lock"
    _post_issue(invoice, lines)
    invoice = invoice_refresh_status(invoice=invoice)
    if settings.EINVOICE_ISSUE_AT == "issue":
        einvoice_enqueue(invoice=invoice)
    invoice_issued.send(sender=Invoice, invoice=invoice)
    if audit:  # False: the caller records it, as the last write of its transaction
        _audit_invoice("invoice.issue", invoice)
    return invoice


INVOICE_FIELDS = ("total", "patient_share", "insurance_share", "currency", "status", "encounter_id")


def _audit_invoice(action: str, invoice: Invoice) -> None:
    audit_change(action, invoice, INVOICE_FIELDS)


def _receivable(
    account_code: str, amount: int, currency: str, reference: str, counterparty: str
) -> Posting:
    """A receivable line: a debit, or a credit when the adjustment makes the share negative."""
    if amount >= 0:
        return Posting.dr(
            account_code, Money(amount, currency), reference, counterparty=counterparty
        )
    return Posting.cr(account_code, Money(-amount, currency), reference, counterparty=counterparty)


def _post_issue(invoice: Invoice, lines: list[InvoiceLine]) -> None:
    currency = invoice.currency
    ref = invoice.ledger_reference
    credits: defaultdict[str, int] = defaultdict(int)
    for line in lines:
        if line.is_adjustment:
            continue  # amount 0: it moves a receivable between the fund and the patient
        revenue = account_for(
            AccountRole.PHARMACY_REVENUE
            if line.category == ServiceCategory.DRUG
            else AccountRole.SERVICE_REVENUE
        )
        credits[revenue] += line.amount - line.vat_amount
        if line.vat_amount:
            credits[account_for(AccountRole.OUTPUT_VAT, rate=line.vat_rate)] += line.vat_amount
    postings = [
        _receivable(
            account_for(AccountRole.PATIENT_RECEIVABLE),
            invoice.patient_share,
            currency,
            ref,
            invoice.patient.code,
        ),
        _receivable(
            account_for(AccountRole.INSURANCE_RECEIVABLE),
            invoice.insurance_share,
            currency,
            ref,
            settings.INSURANCE_FUND_CUSTOMER_CODE,
        ),
        *(Posting.cr(code, Money(amount, currency)) for code, amount in credits.items()),
    ]
    postings = [p for p in postings if p.debit or p.credit]
    if not postings:
        return  # nothing but free lines
    ledger_post(
        posting_key=invoice.issue_posting_key,
        lines=postings,
        source_type="invoice",
        source_id=str(invoice.pk),
        memo=memos.invoice_issued(invoice.display_number),
        voucher_type=VoucherType.INVOICE,
        voucher_number=invoice.display_number,
        recorded_by=invoice.issued_by,
    )


def invoice_payments_net(invoice: Invoice) -> int:
    """What payments (not the issue, not deposits) have taken off the patient receivable."""
    totals = (
        JournalLine.objects.filter(
            account__code=account_for(AccountRole.PATIENT_RECEIVABLE),
            reference=invoice.ledger_reference,
        )
        .exclude(entry__source_type__in=_NOT_PAYMENTS)
        .aggregate(debit=Sum("debit"), credit=Sum("credit"))
    )
    return (totals["credit"] or 0) - (totals["debit"] or 0)


def _reverse_visit_credits(invoice: Invoice, encounter: Encounter) -> None:
    """Take back a give-back of the invoice that discharge moved to the patient's advances,
    refusing when those advances were already applied or refunded."""
    credits = JournalEntry.objects.filter(
        source_type=VISIT_CREDIT,
        source_id=str(invoice.pk),
        reverses__isnull=True,
        reversed_by__isnull=True,
    )
    for entry in credits:
        held = sum(line.debit for line in entry.lines.all())
        if deposit_balance(encounter=encounter) < held:
            raise InvoiceCreditSpent(detail={"amount": held})
        ledger_reverse(entry=entry, memo=memos.invoice_voided_credit_back(invoice.display_number))


@transaction.atomic
def invoice_void(*, invoice: Invoice, voided_by: AbstractBaseUser | None, reason: str) -> Invoice:
    """Void an invoice that has no payments left on it: deposits applied to it go back to
    the patient's deposit balance, the issue entry is reversed, and its charges become
    billable again. Locks the encounter (and patient) first, as ``invoice_issue`` does, so a
    void and an issue of one visit never interleave; the visit's next invoice, or its
    discharge, re-splits what is left as one bill."""
    Encounter.objects.select_for_update().select_related("patient").get(pk=invoice.encounter_id)
    invoice = Invoice.objects.select_for_update().select_related("encounter").get(pk=invoice.pk)
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
        ledger_reverse(entry=entry, memo=memos.invoice_voided_deposit_back(invoice.display_number))
    _reverse_visit_credits(invoice, invoice.encounter)
    issue = JournalEntry.objects.filter(posting_key=invoice.issue_posting_key).first()
    if issue is not None:
        ledger_reverse(entry=issue, memo=memos.invoice_voided(invoice.display_number))
    Charge.objects.filter(invoice=invoice).update(invoice=None)
    invoice.status = InvoiceStatus.VOID
    invoice.voided_at = timezone.now()
    invoice.voided_by = voided_by  # type: ignore[assignment]
    invoice.void_reason = reason[:200]
    invoice.save(update_fields=["status", "voided_at", "voided_by", "void_reason"])
    invoice_closed.send(sender=Invoice, invoice=invoice, reason="void")
    einvoice_on_void(invoice=invoice, reason=invoice.void_reason)
    _audit_invoice("invoice.void", invoice)
    return invoice
