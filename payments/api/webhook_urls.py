"""Webhook routes, mounted at ``/webhooks/`` (outside the versioned API: providers call them)."""

from django.urls import path

from payments.api import webhooks

urlpatterns = [
    path("stripe", webhooks.StripeWebhookApi.as_view(), name="webhook-stripe"),
    path("bank/casso", webhooks.CassoWebhookApi.as_view(), name="webhook-casso"),
    path("bank/sepay", webhooks.SepayWebhookApi.as_view(), name="webhook-sepay"),
]
