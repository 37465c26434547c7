from django.urls import path

from notifications.api import public, receipts

urlpatterns = [
    path("receipts/<int:pk>", receipts.ReceiptDetailApi.as_view(), name="receipt-detail"),
    path("receipts/<int:pk>.pdf", receipts.ReceiptPdfApi.as_view(), name="receipt-pdf"),
    path("receipts/<int:pk>/resend", receipts.ReceiptResendApi.as_view(), name="receipt-resend"),
    path(
        "receipts/verify/<str:code>", public.ReceiptVerifyApi.as_view(), name="receipt-verify-api"
    ),
    path(
        "payments/<str:public_id>/receipt",
        receipts.PaymentReceiptApi.as_view(),
        name="payment-receipt",
    ),
]
