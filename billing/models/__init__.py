from billing.models.encounters import (
    Charge,
    ChargeStatus,
    Encounter,
    EncounterKind,
    EncounterStatus,
    PriceListItem,
    ServiceCategory,
    VatRate,
)
from billing.models.insurance import InsuranceParameters, RouteRatio
from billing.models.invoices import (
    OPEN_INVOICE_STATUSES,
    Deposit,
    DocumentSequence,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
)
from billing.models.ledger import Account, AccountType, JournalEntry, JournalLine
from billing.models.patients import (
    InsuranceCoverage,
    InsuranceIdKind,
    LookupAudit,
    Patient,
    PreferredChannel,
    Route,
)

__all__ = [
    "OPEN_INVOICE_STATUSES",
    "Account",
    "AccountType",
    "Charge",
    "ChargeStatus",
    "Deposit",
    "DocumentSequence",
    "Encounter",
    "EncounterKind",
    "EncounterStatus",
    "InsuranceCoverage",
    "InsuranceIdKind",
    "InsuranceParameters",
    "Invoice",
    "InvoiceLine",
    "InvoiceStatus",
    "JournalEntry",
    "JournalLine",
    "LookupAudit",
    "Patient",
    "PreferredChannel",
    "PriceListItem",
    "Route",
    "RouteRatio",
    "ServiceCategory",
    "VatRate",
]
