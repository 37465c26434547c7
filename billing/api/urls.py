from django.urls import path

from billing.api import finance, his, invoices, kiosk, patients, periods
from billing.api.statements import AccountDetailApi, AgedReceivablesApi, CashBookApi

PERIOD = "ledger/periods/<str:month>"

urlpatterns = [
    # finance
    path("ledger/accounts", finance.AccountListApi.as_view(), name="ledger-accounts"),
    path("ledger/entries", finance.JournalEntryListApi.as_view(), name="ledger-entries"),
    path("ledger/trial-balance", finance.TrialBalanceApi.as_view(), name="ledger-trial-balance"),
    path("ledger/export", finance.LedgerExportApi.as_view(), name="ledger-export"),
    path("ledger/account-detail", AccountDetailApi.as_view(), name="ledger-account-detail"),
    path("ledger/cash-book", CashBookApi.as_view(), name="ledger-cash-book"),
    path("ledger/aged-receivables", AgedReceivablesApi.as_view(), name="ledger-aged-receivables"),
    path(PERIOD, periods.PeriodApi.as_view(), name="ledger-period"),
    path(f"{PERIOD}/close", periods.PeriodCloseApi.as_view(), name="ledger-period-close"),
    path(f"{PERIOD}/reopen", periods.PeriodReopenApi.as_view(), name="ledger-period-reopen"),
    # the HIS
    path("patients", his.PatientCreateApi.as_view(), name="patient-create"),
    path("patients/<int:pk>", his.PatientUpdateApi.as_view(), name="patient-update"),
    path("encounters", his.EncounterCreateApi.as_view(), name="encounter-create"),
    path("encounters/<int:pk>/charges", his.ChargeCreateApi.as_view(), name="charge-create"),
    path("charges/<int:pk>/void", his.ChargeVoidApi.as_view(), name="charge-void"),
    path("encounters/<int:pk>/invoices", his.InvoiceIssueApi.as_view(), name="invoice-issue"),
    path("encounters/<int:pk>/discharge", his.DischargeApi.as_view(), name="discharge"),
    # staff
    path("invoices", invoices.InvoiceListApi.as_view(), name="invoice-list"),
    path("invoices/<str:public_id>", invoices.InvoiceDetailApi.as_view(), name="invoice-detail"),
    path("invoices/<str:public_id>/void", invoices.InvoiceVoidApi.as_view(), name="invoice-void"),
    # the cashier's desk
    path("patients/lookup", patients.PatientLookupApi.as_view(), name="patient-lookup"),
    # kiosks
    path("kiosk/lookup", kiosk.KioskLookupApi.as_view(), name="kiosk-lookup"),
]
