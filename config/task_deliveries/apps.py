from django.apps import AppConfig


class TaskDeliveriesConfig(AppConfig):
    name = "config.task_deliveries"
    label = "task_deliveries"
    verbose_name = "Background tasks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from config.metrics import FrameCollector, metrics_collector_register

        metrics_collector_register(FrameCollector())
