"""Outside /api/v1: what the QR code printed on a receipt opens."""

from django.urls import path

from notifications.api import public

urlpatterns = [
    path("r/<str:code>.pdf", public.receipt_verify_pdf, name="receipt-verify-pdf"),
    path("r/<str:code>", public.receipt_verify_page, name="receipt-verify"),
]
