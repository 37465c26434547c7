from django.urls import path

from notifications.api.public import ReceiptVerifyApi
from notifications.api.receipts import (
    PaymentReceiptApi,
    ReceiptDetailApi,
    ReceiptPdfApi,
    ReceiptResendApi,
)

# A receipt's public id is a plain string: the more specific patterns come first
# ("receipts/rcp_….pdf" is the PDF, not a receipt whose id ends in ".pdf").
urlpatterns = [
    path("receipts/verify/<str:code>", ReceiptVerifyApi.as_view(), name="receipt-verify-api"),
    path("receipts/<str:public_id>.pdf", ReceiptPdfApi.as_view(), name="receipt-pdf"),
    path("receipts/<str:public_id>/resend", ReceiptResendApi.as_view(), name="receipt-resend"),
    path("receipts/<str:public_id>", ReceiptDetailApi.as_view(), name="receipt-detail"),
    path("payments/<str:public_id>/receipt", PaymentReceiptApi.as_view(), name="payment-receipt"),
]
