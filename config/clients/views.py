"""The reference web clients: the kiosk screen (``/kiosk/``) and the cashier console
(``/desk/``). Each is one HTML page with its script and style sheet; the page talks to the
public REST API only, with the credentials any vendor's client would use (the kiosk's
device key, the cashier's staff token), so nothing here imports an app or reads a model.

The pages carry no personal data and no credentials: the kiosk's key lives in the
device's own storage, a cashier's token in the tab's memory."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.views import View


class ClientPage(View):
    template_name = ""
    http_method_names = ["get", "head"]

    def context(self) -> dict[str, Any]:
        return {"hospital_name": settings.HOSPITAL_NAME}

    def get(self, request: HttpRequest) -> HttpResponse:
        response = TemplateResponse(request, self.template_name, self.context())
        # A shared screen: no copy of the page in caches, and no address of it sent on.
        response["Cache-Control"] = "no-store"
        response["Referrer-Policy"] = "no-referrer"
        return response


class KioskPage(ClientPage):
    template_name = "clients/kiosk.html"

    def context(self) -> dict[str, Any]:
        return {
            **super().context(),
            "idle_seconds": settings.KIOSK_IDLE_SECONDS,
            "payment_idle_seconds": settings.KIOSK_PAYMENT_IDLE_SECONDS,
            "warning_seconds": settings.KIOSK_IDLE_WARNING_SECONDS,
        }


class DeskPage(ClientPage):
    template_name = "clients/desk.html"
