"""Outside /api/v1: what the QR code printed on a receipt opens."""

from django.urls import path

from notifications.api import public

urlpatterns = [
    path("r/<str:code>.pdf", public.receipt_verify_pdf, name="receipt-verify-pdf"),
    path("r/<str:code>", public.receipt_verify_page, name="receipt-verify"),
    # The same link as the printed QR code carries it: in upper case, which QR codes encode
    # in their compact alphanumeric mode (notifications.rendering.qr_text).
    path("R/<str:code>", public.receipt_verify_page, name="receipt-verify-qr"),
]
