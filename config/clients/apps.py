from django.apps import AppConfig


class ClientsConfig(AppConfig):
    name = "config.clients"
    label = "clients"
    verbose_name = "Reference web clients"
