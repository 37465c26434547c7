from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing and ledger"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings

        from billing.chart import pack_for

        pack_for(settings.ACCOUNTING_REGIME)  # an unknown regime stops the start
