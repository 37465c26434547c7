"""The ledger account codes the code posts to, in one place (the rows themselves are loaded
by billing/migrations/0003 and payments/migrations/0002; finance may add more)."""

from __future__ import annotations

MAIN_CASH = "1111"
BANK = "1121"
STRIPE_CLEARING = "1131"
VIETQR_CLEARING = "1132"
CASH_IN_TRANSIT = "1133"
PATIENT_RECEIVABLE = "1311"
INSURANCE_RECEIVABLE = "1312"
CASH_OVER_SHORT = "1381"
OUTPUT_VAT = "3331"
SUSPENSE = "3388"
DEPOSIT_LIABILITY = "33881"
REFUND_OWED = "33882"
OWNER_EQUITY = "4111"
PHARMACY_REVENUE = "5111"
SERVICE_REVENUE = "5113"
PROVIDER_FEES = "6427"
