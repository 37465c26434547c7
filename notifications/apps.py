from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Receipts and notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the subscribed tasks in every process, not only in workers (Celery's
        # autodiscovery runs at worker start): the outbox relay sends them by name, and
        # under the embedded default (eager) an unregistered name would not run in-process.
        import notifications.tasks  # noqa: F401
        from billing.signals import einvoice_issued, invoice_issued, patient_anonymised
        from config.metrics import metrics_collector_register
        from notifications.metrics import NotificationsCollector
        from notifications.receivers import (
            TOPICS,
            on_einvoice_issued,
            on_invoice_issued,
            on_patient_anonymised,
        )
        from payments.outbox import subscribe

        metrics_collector_register(NotificationsCollector())
        from billing.selectors.period_close import period_check_register
        from notifications.selectors import receipts_not_issued

        period_check_register(receipts_not_issued)
        for topic, task_name in TOPICS.items():
            subscribe(topic, task_name)
        invoice_issued.connect(on_invoice_issued, dispatch_uid="notifications.pay_link_sms")
        patient_anonymised.connect(
            on_patient_anonymised, dispatch_uid="notifications.forget_recipient"
        )
        einvoice_issued.connect(on_einvoice_issued, dispatch_uid="notifications.receipt_einvoice")
