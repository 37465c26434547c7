"""Which API operations the audit trail records, by URL name: what it is called in the
trail and its category.

The operations that move money or approve (``RECORDED_BY_SERVICES``) are recorded by their
services, inside the transaction of the change (``audit_record``): the row and the money
change commit together or not at all. For those the middleware only records what the
services could not: a refusal (4xx) or a failure (5xx) of a request that committed no audit
row — its transaction rolled back. The other operations here (reads of personal data, the
pay link) are recorded by the middleware once their answer is decided."""

from __future__ import annotations

from config.audit.models import AuditCategory

MONEY = AuditCategory.MONEY
APPROVAL = AuditCategory.APPROVAL
PERSONAL = AuditCategory.PERSONAL_DATA
CREDENTIAL = AuditCategory.CREDENTIAL

# URL name -> (action, category). Every method of the route is recorded unless it is a
# safe read of a route that is not a personal-data read.
AUDITED_ROUTES: dict[str, tuple[str, str]] = {
    # Payments and their refunds.
    "payment-create": ("payment.create", MONEY),
    "payment-cancel": ("payment.cancel", MONEY),
    "refund-create": ("refund.request", MONEY),
    "refund-approve": ("refund.approve", APPROVAL),
    "refund-reject": ("refund.reject", APPROVAL),
    "refund-payout": ("refund.payout", MONEY),
    "refund-cancel": ("refund.cancel", MONEY),
    # Providers telling us money moved.
    "webhook-stripe": ("webhook.stripe", MONEY),
    "webhook-casso": ("webhook.casso", MONEY),
    "webhook-sepay": ("webhook.sepay", MONEY),
    # The cashier desk.
    "cashier-session-open": ("cashier_session.open", MONEY),
    "cashier-session-close": ("cashier_session.close", MONEY),
    "cashier-session-approve-close": ("cashier_session.approve_close", APPROVAL),
    "cashier-session-handover": ("cashier_session.handover", MONEY),
    "cashier-session-handover-accept": ("cashier_session.handover_accept", MONEY),
    "cashier-transfer": ("cash_transfer.create", MONEY),
    "cashier-transfer-confirm": ("cash_transfer.confirm", APPROVAL),
    "cashier-transfer-cancel": ("cash_transfer.cancel", MONEY),
    "cashier-refund-owed-payout": ("refund_owed.payout", MONEY),
    "cashier-safe-deposit": ("cash_deposit.recorded", MONEY),
    # Billing.
    "invoice-issue": ("invoice.issue", MONEY),
    "invoice-void": ("invoice.void", MONEY),
    "charge-void": ("charge.void", MONEY),
    "discharge": ("encounter.discharge", MONEY),
    # The books: a month's close (its services record the request and the close; the
    # middleware a refusal) and an admin's reopening.
    "ledger-period-close": ("period.close", APPROVAL),
    "ledger-period-reopen": ("period.reopen", APPROVAL),
    # Reconciliation and write-offs.
    "reconciliation-statement-import": ("bank_statement.import", MONEY),
    "reconciliation-item-match": ("reconciliation.manually_matched", APPROVAL),
    "reconciliation-item-write-off": ("reconciliation.written_off", APPROVAL),
    # Reads (and writes) of a patient's personal data by staff and devices.
    "kiosk-lookup": ("patient.lookup", PERSONAL),
    "patient-create": ("patient.create", PERSONAL),
    "patient-update": ("patient.update", PERSONAL),
    "invoice-detail": ("invoice.read", PERSONAL),
    "invoice-list": ("invoice.list", PERSONAL),
    "receipt-detail": ("receipt.read", PERSONAL),
    "receipt-pdf": ("receipt.read_pdf", PERSONAL),
    "payment-receipt": ("receipt.read", PERSONAL),
    "receipt-resend": ("receipt.resend", PERSONAL),
    # A pay link is the credential a patient's phone pays with.
    "pay-link": ("pay_link.issue", CREDENTIAL),
}

# Recorded by their services in the money change's transaction (see above).
RECORDED_BY_SERVICES = frozenset(
    name for name, (_, category) in AUDITED_ROUTES.items() if category in (MONEY, APPROVAL)
)

# Fields of an answer copied into the row's detail: amounts and codes, never personal data.
DETAIL_FIELDS = ("amount", "currency", "method", "status", "channel", "kind", "variance")
