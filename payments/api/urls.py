from django.urls import path

from payments.api import (
    cash_deposits,
    cashier,
    cashier_reports,
    payments,
    reconciliation,
    refunds,
    statements,
)

urlpatterns = [
    path("payments", payments.PaymentCreateApi.as_view(), name="payment-create"),
    path("payments/<str:public_id>", payments.PaymentDetailApi.as_view(), name="payment-detail"),
    path(
        "payments/<str:public_id>/cancel",
        payments.PaymentCancelApi.as_view(),
        name="payment-cancel",
    ),
    path(
        "payments/<str:public_id>/qr.<str:fmt>",
        payments.PaymentQrApi.as_view(),
        name="payment-qr",
    ),
    path(
        "payments/<str:public_id>/refunds",
        refunds.RefundCreateApi.as_view(),
        name="refund-create",
    ),
    path(
        "refunds/<str:public_id>/approve",
        refunds.RefundDecisionApi.as_view(approve=True),
        name="refund-approve",
    ),
    path(
        "refunds/<str:public_id>/reject",
        refunds.RefundDecisionApi.as_view(approve=False),
        name="refund-reject",
    ),
    path("refunds/<str:public_id>/payout", refunds.RefundPayoutApi.as_view(), name="refund-payout"),
    path("refunds/<str:public_id>/cancel", refunds.RefundCancelApi.as_view(), name="refund-cancel"),
    path("cashier/sessions", cashier.SessionOpenApi.as_view(), name="cashier-session-open"),
    path(
        "cashier/sessions/current",
        cashier.SessionCurrentApi.as_view(),
        name="cashier-session-current",
    ),
    path(
        "cashier/sessions/<str:public_id>",
        cashier.SessionDetailApi.as_view(),
        name="cashier-session-detail",
    ),
    path(
        "cashier/sessions/<str:public_id>/close",
        cashier.SessionCloseApi.as_view(),
        name="cashier-session-close",
    ),
    path(
        "cashier/sessions/<str:public_id>/approve-close",
        cashier.SessionApproveCloseApi.as_view(),
        name="cashier-session-approve-close",
    ),
    path(
        "cashier/sessions/<str:public_id>/handover",
        cashier.SessionHandoverApi.as_view(),
        name="cashier-session-handover",
    ),
    path(
        "cashier/sessions/<str:public_id>/handover/accept",
        cashier.SessionHandoverAcceptApi.as_view(),
        name="cashier-session-handover-accept",
    ),
    path(
        "cashier/sessions/<str:public_id>/report",
        cashier_reports.SessionReportApi.as_view(),
        name="cashier-session-report",
    ),
    path("cashier/transfers", cashier.CashTransferCreateApi.as_view(), name="cashier-transfer"),
    path(
        "cashier/transfers/<str:public_id>/confirm",
        cashier.CashTransferConfirmApi.as_view(),
        name="cashier-transfer-confirm",
    ),
    path(
        "cashier/transfers/<str:public_id>/cancel",
        cashier.CashTransferCancelApi.as_view(),
        name="cashier-transfer-cancel",
    ),
    path(
        "cashier/refunds-owed",
        cashier.RefundOwedPayoutApi.as_view(),
        name="cashier-refund-owed-payout",
    ),
    path(
        "cashier/terminals/<str:code>/report",
        cashier_reports.TerminalDayReportApi.as_view(),
        name="cashier-terminal-report",
    ),
    path(
        "invoices/<int:pk>/payments", payments.InvoicePaymentsApi.as_view(), name="invoice-payments"
    ),
    path(
        "encounters/<int:pk>/payments",
        payments.EncounterPaymentsApi.as_view(),
        name="encounter-payments",
    ),
    path("cashier/approvals", cashier.ApprovalQueueApi.as_view(), name="cashier-approvals"),
    path("invoices/<int:pk>/pay-link", payments.PayLinkCreateApi.as_view(), name="pay-link"),
    path(
        "invoices/<int:pk>/pay-links/revoke",
        payments.PayLinkRevokeApi.as_view(),
        name="pay-link-revoke",
    ),
    path(
        "reconciliation/statements",
        statements.StatementImportApi.as_view(),
        name="reconciliation-statement-import",
    ),
    path(
        "reconciliation/items",
        reconciliation.ReconItemListApi.as_view(),
        name="reconciliation-items",
    ),
    path(
        "reconciliation/items/<int:pk>/match",
        reconciliation.ReconItemMatchApi.as_view(),
        name="reconciliation-item-match",
    ),
    path(
        "reconciliation/items/<int:pk>/write-off",
        reconciliation.ReconItemWriteOffApi.as_view(),
        name="reconciliation-item-write-off",
    ),
    path(
        "reconciliation/summary",
        reconciliation.ReconSummaryApi.as_view(),
        name="reconciliation-summary",
    ),
    path(
        "reconciliation/daily",
        reconciliation.ReconDailyApi.as_view(),
        name="reconciliation-daily",
    ),
    path(
        "cashier/safe/deposits",
        cash_deposits.CashDepositCreateApi.as_view(),
        name="cashier-safe-deposit",
    ),
    path("pay/<str:token>", payments.PayLinkShowApi.as_view(), name="pay-link-show"),
]
