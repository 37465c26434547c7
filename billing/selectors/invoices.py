"""Invoice and deposit balances, read from the ledger (the single source of truth)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import QuerySet, Sum
from django.db.models.functions import Coalesce

from billing.chart import AccountRole, account_for
from billing.models import (
    OPEN_INVOICE_STATUSES,
    Encounter,
    Invoice,
    InvoiceStatus,
    JournalLine,
    Patient,
)


def _net_debits(account_code: str, references: Iterable[str]) -> dict[str, int]:
    """Debits minus credits per sub-ledger reference of one account: one query."""
    rows = (
        JournalLine.objects.filter(account__code=account_code, reference__in=list(references))
        .values("reference")
        .annotate(debit=Coalesce(Sum("debit"), 0), credit=Coalesce(Sum("credit"), 0))
    )
    return {row["reference"]: row["debit"] - row["credit"] for row in rows}


@dataclass(frozen=True, slots=True)
class InvoiceBalance:
    patient_share: int
    amount_due: int

    @property
    def amount_paid(self) -> int:
        if self.patient_share < 0:
            return 0  # an insurance give-back: owed to the patient, nothing to pay
        return self.patient_share - self.amount_due


def invoice_balances(invoices: Iterable[Invoice]) -> dict[int, InvoiceBalance]:
    """What each invoice's patient still owes, from the patient receivable.

    A void invoice charges the patient nothing (its issue entry is reversed, and it can be
    voided only with nothing paid on it): its share in force is 0, so it shows 0 paid."""
    invoices = list(invoices)
    due = _net_debits(
        account_for(AccountRole.PATIENT_RECEIVABLE), (i.ledger_reference for i in invoices)
    )
    return {
        i.pk: InvoiceBalance(
            0 if i.status == InvoiceStatus.VOID else i.patient_share,
            due.get(i.ledger_reference, 0),
        )
        for i in invoices
    }


def invoice_balance(invoice: Invoice) -> InvoiceBalance:
    return invoice_balances([invoice])[invoice.pk]


def invoice_insurance_due(invoice: Invoice) -> int:
    return _net_debits(
        account_for(AccountRole.INSURANCE_RECEIVABLE), [invoice.ledger_reference]
    ).get(invoice.ledger_reference, 0)


def invoices_open_for_patient(*, patient: Patient) -> QuerySet[Invoice]:
    return (
        Invoice.objects.filter(patient=patient, status__in=OPEN_INVOICE_STATUSES)
        .prefetch_related("lines")
        .order_by("issued_at", "id")
    )


def deposit_balance(*, encounter: Encounter) -> int:
    """Advances held for the encounter (liability: credits minus debits)."""
    return -_net_debits(
        account_for(AccountRole.PATIENT_ADVANCES), [encounter.ledger_reference]
    ).get(encounter.ledger_reference, 0)


def patient_deposit_balance(*, patient: Patient) -> int:
    references = [e.ledger_reference for e in Encounter.objects.filter(patient=patient)]
    return -sum(_net_debits(account_for(AccountRole.PATIENT_ADVANCES), references).values())


def refund_owed(*, encounter: Encounter) -> int:
    """What the hospital owes the patient back after discharge (hoàn ứng)."""
    return -_net_debits(account_for(AccountRole.REFUNDS_OWED), [encounter.ledger_reference]).get(
        encounter.ledger_reference, 0
    )


def invoice_advances_applied(invoice: Invoice) -> int:
    """The encounter's advances (tạm ứng) applied to ``invoice`` at discharge, net of what an
    insurance give-back held back for the patient: the receivable's credits from the
    encounter's advances minus its debits back to them."""
    rows = JournalLine.objects.filter(
        account__code=account_for(AccountRole.PATIENT_RECEIVABLE),
        reference=invoice.ledger_reference,
        entry__source_type="deposit_application",
        entry__source_id=str(invoice.pk),
    ).aggregate(debit=Coalesce(Sum("debit"), 0), credit=Coalesce(Sum("credit"), 0))
    return int(rows["credit"]) - int(rows["debit"])
