from django.apps import AppConfig


class PhoneConfig(AppConfig):
    """The patient's phone: the pay page a pay link opens (``/p/<token>``)."""

    name = "phone"
    verbose_name = "Pay page"
