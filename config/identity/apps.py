from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "config.identity"
    label = "identity"
    verbose_name = "Staff and devices"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from config.identity.receivers import connect

        connect()
