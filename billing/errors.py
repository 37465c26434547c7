"""billing's errors: money, the ledger, patients, encounters and charges, invoices.

The base classes (``DomainError``, ``InvalidRequest``, ``NotFound``, ``Conflict``) are the
frame's (``config.errors``); each class here has its own stable ``code`` and HTTP status.
"""

from __future__ import annotations

from config.errors import DomainError

# --- Money -------------------------------------------------------------------------------


class InvalidAmount(DomainError):
    code = "invalid_amount"
    default_message = "The amount must be a positive whole number of minor units."


class CurrencyMismatch(DomainError):
    code = "currency_mismatch"
    default_message = "Amounts in different currencies cannot be combined."


# --- Ledger ------------------------------------------------------------------------------


class UnbalancedEntry(DomainError):
    code = "ledger_unbalanced"
    default_message = "Debits and credits of a journal entry must be equal per currency."


class InvalidJournalLine(DomainError):
    code = "ledger_invalid_line"
    default_message = "Each journal line needs exactly one positive amount: debit or credit."


class UnknownAccount(DomainError):
    code = "ledger_unknown_account"
    default_message = "No active ledger account has this code."


class PostingKeyConflict(DomainError):
    status = 409
    code = "ledger_posting_key_conflict"
    default_message = "This posting key was already used for a different journal entry."


class AlreadyReversed(DomainError):
    status = 409
    code = "ledger_already_reversed"
    default_message = "This journal entry has already been reversed."


# --- Patients ----------------------------------------------------------------------------


class InvalidCitizenId(DomainError):
    code = "invalid_citizen_id"
    default_message = "A citizen ID has 12 digits: province, century/sex digit, year, serial."


class InvalidInsuranceNumber(DomainError):
    code = "invalid_insurance_number"
    default_message = (
        "An insurance identifier is a 12-digit citizen ID, a 10-digit social-insurance "
        "number or a 15-character card code (e.g. DN4010123456789)."
    )


class PatientCodeExists(DomainError):
    status = 409
    code = "patient_code_exists"
    default_message = "A patient with this hospital patient code already exists."


class CitizenIdTaken(DomainError):
    status = 409
    code = "citizen_id_taken"
    default_message = "Another patient is registered with this citizen ID."


class InsuranceNumberTaken(DomainError):
    status = 409
    code = "insurance_number_taken"
    default_message = "Another patient is registered with this insurance number."


class InvalidCoverage(DomainError):
    code = "invalid_coverage"


class PatientNotFound(DomainError):
    status = 404
    code = "patient_not_found"
    default_message = "No patient matches this identifier."


# --- Encounters and charges --------------------------------------------------------------


class EncounterClosed(DomainError):
    status = 409
    code = "encounter_closed"
    default_message = "The encounter is closed (the patient was discharged)."


class EncounterReferenceConflict(DomainError):
    status = 409
    code = "encounter_reference_conflict"
    default_message = "This HIS encounter reference is already used for another patient."


class UnknownServiceCode(DomainError):
    code = "unknown_service_code"
    default_message = "No service in the price list has this code."


class NoPriceInForce(DomainError):
    code = "no_price_in_force"
    default_message = "The service has no price in force at the time of service."


class InvalidQuantity(DomainError):
    code = "invalid_quantity"
    default_message = "Quantity must be a whole number within the limit of one charge line."


class TooManyChargeLines(DomainError):
    code = "too_many_charge_lines"
    default_message = "Too many charges in one request."


class ChargeReferenceConflict(DomainError):
    status = 409
    code = "charge_reference_conflict"
    default_message = "This HIS charge reference was already posted with different content."


class ChargeAlreadyVoided(DomainError):
    status = 409
    code = "charge_already_voided"
    default_message = "The charge is already voided."


class ChargeAlreadyInvoiced(DomainError):
    status = 409
    code = "charge_already_invoiced"
    default_message = "The charge is on an issued invoice; void the invoice first."


# --- Invoices ----------------------------------------------------------------------------


class NothingToBill(DomainError):
    status = 409
    code = "nothing_to_bill"
    default_message = "The encounter has no unbilled charges."


class InvoiceAlreadyVoid(DomainError):
    status = 409
    code = "invoice_already_void"
    default_message = "The invoice is already void."


class InvoiceCreditSpent(DomainError):
    status = 409
    code = "invoice_credit_spent"
    default_message = (
        "The insurance give-back of this invoice was already applied to other invoices or "
        "refunded: it cannot be voided."
    )


class InvoiceHasPayments(DomainError):
    status = 409
    code = "invoice_has_payments"
    default_message = "Payments are left on this invoice: refund them before voiding it."


# --- Periods -----------------------------------------------------------------------------


class PeriodCloseForbidden(DomainError):
    status = 403
    code = "period_close_forbidden"
    default_message = "Closing a month needs the finance role; reopening one needs an admin."


class PeriodNotOver(DomainError):
    status = 409
    code = "period_not_over"
    default_message = "A month can be closed only after it has ended."


class PeriodCloseNeedsSecondPerson(DomainError):
    status = 409
    code = "period_close_needs_second_person"
    default_message = (
        "The close was requested by this user; a second finance or admin user approves it."
    )


class PeriodCloseBlocked(DomainError):
    status = 409
    code = "period_close_blocked"
    default_message = (
        "Something of the month is not final yet (see detail.findings); the dry run "
        "(?dry_run=true) lists it with the warnings."
    )


class PeriodNotClosed(DomainError):
    status = 409
    code = "period_not_closed"
    default_message = "This month is not closed."


class EInvoiceNotResendable(DomainError):
    status = 409
    code = "einvoice_not_resendable"
    default_message = "Only an e-invoice the provider refused can be sent again."
