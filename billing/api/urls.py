from django.urls import path

from billing.api import finance

urlpatterns = [
    path("ledger/accounts", finance.AccountListApi.as_view(), name="ledger-accounts"),
    path("ledger/entries", finance.JournalEntryListApi.as_view(), name="ledger-entries"),
    path("ledger/trial-balance", finance.TrialBalanceApi.as_view(), name="ledger-trial-balance"),
    path("ledger/export", finance.LedgerExportApi.as_view(), name="ledger-export"),
]
