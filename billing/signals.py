"""Signals billing sends for the apps above it (which billing never imports).

``invoice_issued(sender=Invoice, invoice=...)`` is sent inside ``invoice_issue``'s
transaction, after the invoice, its lines and its ledger entry are written: a receiver's
writes commit or roll back with the invoice.

``invoice_closed(sender=Invoice, invoice=..., reason="paid" | "void")`` is sent inside the
transaction that marks the invoice paid (``invoice_refresh_status``) or void
(``invoice_void``)."""

from __future__ import annotations

from django.dispatch import Signal

invoice_issued = Signal()
invoice_closed = Signal()

# ``patient_anonymised(sender=Patient, patient=...)`` is sent inside
# ``patient_anonymise``'s transaction: receivers drop what they hold for the patient.
patient_anonymised = Signal()

# ``einvoice_issued(sender=EInvoice, einvoice=...)``: the provider issued an e-invoice, or
# its tax authority's code arrived (sent inside the transaction that records it).
einvoice_issued = Signal()
