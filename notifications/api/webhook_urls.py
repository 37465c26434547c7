"""Zalo's webhook, mounted at ``/webhooks/`` beside the payment providers'."""

from django.urls import path

from notifications.api import zalo

urlpatterns = [
    path("zalo", zalo.ZaloWebhookApi.as_view(), name="webhook-zalo"),
]
