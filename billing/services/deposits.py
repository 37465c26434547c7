"""Advance deposits (tạm ứng) and discharge: an advance is owed to the patient until
discharge applies it; what is left over is paid back.

An advance is a liability to the patient (the ``PATIENT_ADVANCES`` account, sub-ledger
``encounter:<id>``) until discharge, where it is applied to the encounter's invoices; what is left
over becomes a refund owed to the patient (role ``REFUNDS_OWED``) until it is paid back (hoàn
ứng)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing import ledger_memos as memos
from billing.chart import AccountRole, account_for
from billing.errors import EncounterClosed, NothingToBill
from billing.models import (
    SYSTEM_RECORDER,
    Deposit,
    Encounter,
    EncounterStatus,
    Invoice,
    InvoiceStatus,
    JournalEntry,
    VoucherType,
)
from billing.money import Money, positive_amount
from billing.selectors.invoices import deposit_balance, invoice_balance
from billing.services.invoices import (
    VISIT_CREDIT,
    invoice_issue,
    invoice_refresh_status,
)
from billing.services.ledger import Posting, ledger_post
from config.audit.models import AuditCategory
from config.audit.services import audit_record


def deposit_posting_key(source_type: str, source_id: str) -> str:
    return f"deposit:{source_type}:{source_id}"


@transaction.atomic
def deposit_receive(
    *,
    encounter: Encounter,
    amount: Money,
    debit_account: str,
    received_by: str,
    source_type: str,
    source_id: str,
    debit_reference: str = "",
    voucher_type: str = "",
) -> Deposit:
    """Record an advance that arrived through ``source`` (a payment) into ``debit_account``
    (a drawer's cash, a provider's clearing account), its line carrying ``debit_reference``
    (a cashier session's drawer sub-ledger). Idempotent per source."""
    existing = Deposit.objects.filter(source_type=source_type, source_id=source_id).first()
    if existing is not None:
        return existing
    encounter = Encounter.objects.select_for_update().select_related("patient").get(pk=encounter.pk)
    if encounter.status != EncounterStatus.OPEN:
        raise EncounterClosed("Advances are taken only for an open encounter.")
    positive_amount(amount.amount)
    deposit = Deposit.objects.create(
        encounter=encounter,
        patient_id=encounter.patient_id,
        amount=amount.amount,
        currency=amount.currency,
        received_at=timezone.now(),
        received_by=received_by[:100],
        source_type=source_type,
        source_id=source_id,
    )
    ledger_post(
        posting_key=deposit_posting_key(source_type, source_id),
        lines=[
            Posting.dr(debit_account, amount, debit_reference),
            Posting.cr(
                account_for(AccountRole.PATIENT_ADVANCES),
                amount,
                encounter.ledger_reference,
                counterparty=encounter.patient.code,
            ),
        ],
        source_type="deposit",
        source_id=str(deposit.pk),
        memo=memos.advance_received(encounter.his_reference),
        voucher_type=voucher_type,
        voucher_number=source_id,
        recorded_by=received_by,
    )
    return deposit


def _advance_move(
    encounter: Encounter, invoice: Invoice, amount: int, *, source_type: str, label: str, memo: str
) -> None:
    """Move ``amount`` between the encounter's advances and the invoice's patient receivable:
    a positive amount applies an advance to the invoice, a negative one holds what the
    invoice owes the patient as an advance. Numbered per invoice, so each move posts once."""
    money = Money(abs(amount), invoice.currency)
    advances = (encounter.ledger_reference, account_for(AccountRole.PATIENT_ADVANCES))
    receivable = (invoice.ledger_reference, account_for(AccountRole.PATIENT_RECEIVABLE))
    (debit_ref, debit), (credit_ref, credit) = (
        (advances, receivable) if amount > 0 else (receivable, advances)
    )
    earlier = JournalEntry.objects.filter(source_type=source_type, source_id=str(invoice.pk))
    ledger_post(
        posting_key=f"invoice:{invoice.pk}:{label}:{earlier.count() + 1}",
        lines=[
            Posting.dr(debit, money, debit_ref, counterparty=invoice.patient.code),
            Posting.cr(credit, money, credit_ref, counterparty=invoice.patient.code),
        ],
        source_type=source_type,
        source_id=str(invoice.pk),
        memo=memo,
        voucher_type=VoucherType.OTHER,  # a move within the patient's accounts
        voucher_number=invoice.display_number,
        recorded_by=SYSTEM_RECORDER,
    )
    invoice_refresh_status(invoice=invoice)


def _apply_deposit(encounter: Encounter, invoice: Invoice, amount: int) -> None:
    _advance_move(
        encounter,
        invoice,
        amount,
        source_type="deposit_application",
        label="deposit-applied",
        memo=memos.advance_applied(invoice.display_number),
    )


def _hold_visit_credits(encounter: Encounter) -> None:
    """An invoice whose patient share is negative (an adjustment gave the fund's share of the
    visit back) owes the patient that much: hold it as an advance of the encounter, so that
    it goes to the visit's open invoices like one, and what is left is refunded."""
    invoices = Invoice.objects.filter(encounter=encounter).exclude(status=InvoiceStatus.VOID)
    for invoice in invoices.order_by("issued_at", "id"):
        due = invoice_balance(invoice).amount_due
        if due < 0:
            _advance_move(
                encounter,
                invoice,
                due,
                source_type=VISIT_CREDIT,
                label="visit-credit",
                memo=memos.insurance_adjustment_owed(invoice.display_number),
            )


@dataclass(frozen=True, slots=True)
class DischargeResult:
    encounter: Encounter
    invoices: list[Invoice]
    deposits_applied: int
    amount_due: int
    refund_owed: int


@transaction.atomic
def encounter_discharge(*, encounter: Encounter, by: str) -> DischargeResult:
    """Bill what is unbilled (settling the visit's insurance split as one bill), apply the
    advances to the encounter's open invoices (oldest first), move any remainder to refunds
    owed, and close the encounter.

    ``balance = patient_share - sum(advances)``: positive is still to pay, negative is owed
    back to the patient (an insurance give-back counts as an advance)."""
    encounter = Encounter.objects.select_for_update().get(pk=encounter.pk)
    if encounter.status != EncounterStatus.OPEN:
        raise EncounterClosed()
    issued = None
    with contextlib.suppress(NothingToBill):  # everything may be billed already
        # Its audit row is this one's: the chain's lock is taken as the last write.
        issued = invoice_issue(encounter=encounter, issued_by=by, audit=False)
    _hold_visit_credits(encounter)
    available = deposit_balance(encounter=encounter)
    applied = 0
    amount_due = 0
    invoices = list(
        Invoice.objects.filter(
            encounter=encounter,
            status__in=(InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID),
        ).order_by("issued_at", "id")
    )
    for invoice in invoices:
        due = invoice_balance(invoice).amount_due
        use = min(due, available - applied)
        if use > 0:
            _apply_deposit(encounter, invoice, use)
            applied += use
        amount_due += due - max(use, 0)
    leftover = available - applied
    if leftover > 0:
        money = Money(leftover, settings.HOSPITAL_CURRENCY)
        ledger_post(
            posting_key=f"encounter:{encounter.pk}:refund-owed",
            lines=[
                Posting.dr(
                    account_for(AccountRole.PATIENT_ADVANCES),
                    money,
                    encounter.ledger_reference,
                    counterparty=encounter.patient.code,
                ),
                Posting.cr(
                    account_for(AccountRole.REFUNDS_OWED),
                    money,
                    encounter.ledger_reference,
                    counterparty=encounter.patient.code,
                ),
            ],
            source_type="discharge",
            source_id=str(encounter.pk),
            memo=memos.advance_left_to_refund(encounter.his_reference),
            voucher_type=VoucherType.OTHER,
            voucher_number=encounter.ledger_reference,
            recorded_by=SYSTEM_RECORDER,
        )
    encounter.status = EncounterStatus.CLOSED
    encounter.closed_at = timezone.now()
    encounter.save(update_fields=["status", "closed_at"])
    result = DischargeResult(
        encounter=encounter,
        invoices=list(Invoice.objects.filter(encounter=encounter).order_by("issued_at", "id")),
        deposits_applied=applied,
        amount_due=amount_due,
        refund_owed=max(leftover, 0),
    )
    audit_record(
        action="encounter.discharge",
        category=AuditCategory.MONEY,
        target=encounter,
        detail={
            "invoice_issued": issued.pk if issued is not None else None,
            "invoice_patient_share": issued.patient_share if issued is not None else None,
            "deposits_applied": applied,
            "amount_due": amount_due,
            "refund_owed": result.refund_owed,
            "currency": settings.HOSPITAL_CURRENCY,
        },
    )
    return result
