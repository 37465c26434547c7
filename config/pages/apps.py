from django.apps import AppConfig


class PagesConfig(AppConfig):
    """The frame of the patient-facing HTML pages: their look (base template and style
    sheet), the language they speak and their rate limit."""

    name = "config.pages"
    label = "pages"
    verbose_name = "Patient pages"
