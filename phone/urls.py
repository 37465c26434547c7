"""The pay page (outside /api/v1: what the SMS link opens)."""

from django.urls import path

from phone import views

urlpatterns = [
    path("p/<str:token>", views.pay, name="pay-page"),
    path("p/<str:token>/pay", views.pay_start, name="pay-page-start"),
    path("p/<str:token>/status", views.pay_status, name="pay-page-status"),
    path(
        "p/<str:token>/receipts/<str:receipt_id>.pdf",
        views.receipt_pdf,
        name="pay-page-receipt-pdf",
    ),
    path("p/<str:token>/qr/<str:public_id>.png", views.qr_image, name="pay-page-qr"),
]
