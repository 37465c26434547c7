from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Receipts and notifications"
    default_auto_field = "django.db.models.BigAutoField"
