from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Receipts and notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from billing.signals import invoice_issued
        from notifications.receivers import on_invoice_issued
        from payments.outbox import subscribe

        subscribe("payment.succeeded", "notifications.issue_payment_receipt")
        subscribe("refund.succeeded", "notifications.issue_refund_receipt")
        invoice_issued.connect(on_invoice_issued, dispatch_uid="notifications.pay_link_sms")
