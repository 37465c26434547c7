from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import payments.tasks  # noqa: F401 - registers the tasks in web processes too
        from billing.services.invoices import VOID_GUARDS
        from payments.services.amounts import refuse_void_with_payments_in_flight

        if refuse_void_with_payments_in_flight not in VOID_GUARDS:
            VOID_GUARDS.append(refuse_void_with_payments_in_flight)
