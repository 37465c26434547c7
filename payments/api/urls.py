from django.urls import path

from payments.api import payments, refunds

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
    path("invoices/<int:pk>/pay-link", payments.PayLinkCreateApi.as_view(), name="pay-link"),
    path("pay/<str:token>", payments.PayLinkShowApi.as_view(), name="pay-link-show"),
]
