from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import payments.tasks  # noqa: F401 - registers the tasks in web processes too
        from billing.services.invoices import VOID_GUARD_ERRORS, VOID_GUARDS
        from config.metrics import metrics_collector_register
        from payments.errors import InvoicePaymentsInFlight
        from payments.metrics import PaymentsCollector
        from payments.services.amounts import refuse_void_with_payments_in_flight

        metrics_collector_register(PaymentsCollector())
        if refuse_void_with_payments_in_flight not in VOID_GUARDS:
            VOID_GUARDS.append(refuse_void_with_payments_in_flight)
            VOID_GUARD_ERRORS.append(InvoicePaymentsInFlight)

        from billing.selectors.period_close import period_check_register
        from payments.selectors.period_close import CHECKS

        for check in CHECKS:
            period_check_register(check)

        from billing.signals import invoice_closed
        from payments.services.paylinks import revoke_links_of_closed_invoice

        invoice_closed.connect(revoke_links_of_closed_invoice, dispatch_uid="paylinks-revoke")

        from payments.outbox import subscribe

        # After a refund committed: the e-invoice's adjustment (payments.services.refund_einvoices).
        subscribe("refund.succeeded", "payments.adjust_einvoice_for_refund")
