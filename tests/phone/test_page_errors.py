"""Errors on patient pages over HTTP: a form refused by the CSRF check and an error on our
side each get a translated page in the pages' look, never the API's JSON or a stack trace;
the API keeps its JSON errors."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.pages.errors import csrf_failure
from config.urls import handler500 as frame_handler500
from config.urls import urlpatterns as frame_urlpatterns
from payments.models import Payment
from tests.phone.builders import clinic_bill, pay_path

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


def crashing_page(request: HttpRequest, token: str) -> HttpResponse:
    raise RuntimeError("a bug with a secret in its message")


class CrashingApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    def get(self, request: Request) -> Response:
        raise RuntimeError("a bug")


urlpatterns = [
    path("p/<str:token>/crash", crashing_page),
    path("api/v1/crash", CrashingApi.as_view()),
    *frame_urlpatterns,
]
handler500 = frame_handler500


def _assert_patient_page(response: Any, status: int) -> str:
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    html = response.content.decode()
    assert '<link rel="stylesheet" href="/static/pages/site' in html  # the pages' look
    assert "Traceback" not in html
    assert '{"error"' not in html
    return html


def test_a_pay_form_posted_without_its_csrf_token_gets_a_vietnamese_page_not_json():
    invoice = clinic_bill()
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(pay_path(invoice)).content.decode()
    attempt = re.search(r'name="attempt" value="([0-9a-f]{32})"', page)
    assert attempt

    refused = browser.post(
        f"{pay_path(invoice)}/pay",
        {"method": "vietqr", "attempt": attempt.group(1)},
        headers={"Origin": "null"},
    )

    html = _assert_patient_page(refused, 403)
    assert refused["Content-Language"] == "vi"
    assert 'id="error-csrf"' in html
    assert "Yêu cầu của bạn chưa được gửi" in html
    assert "CSRF" not in html
    assert not Payment.objects.filter(invoice=invoice).exists()


def test_the_csrf_page_speaks_english_after_the_switch_and_covers_the_language_form():
    browser = Client(enforce_csrf_checks=True)
    browser.cookies["django_language"] = "en"

    refused = browser.post("/i18n/setlang/", {"language": "vi"}, headers={"Origin": "null"})

    html = _assert_patient_page(refused, 403)
    assert refused["Content-Language"] == "en"
    assert "Your request was not sent" in html


def test_an_error_on_our_side_on_a_page_gets_a_translated_page_without_the_stack_trace():
    browser = Client(raise_request_exception=False)

    crashed = browser.get(f"{pay_path(clinic_bill())}/crash")

    html = _assert_patient_page(crashed, 500)
    assert crashed["Content-Language"] == "vi"
    assert 'id="error-server_error"' in html
    assert "Đã có lỗi xảy ra" in html
    assert "secret" not in html
    assert "RuntimeError" not in html


def test_the_api_keeps_its_json_errors():
    browser = Client(raise_request_exception=False)

    crashed = browser.get("/api/v1/crash")

    assert crashed.status_code == 500
    assert crashed.json()["error"]["code"] == "internal_error"


def test_a_refused_form_outside_the_pages_keeps_the_frames_answers():
    api = csrf_failure(RequestFactory().post("/api/v1/auth/token"), reason="CSRF token missing.")
    admin = csrf_failure(RequestFactory().post("/admin/login/"), reason="CSRF token missing.")

    assert api.status_code == 403
    assert api["Content-Type"] == "application/json"
    assert b'"code": "permission_denied"' in api.content
    assert admin.status_code == 403
    assert b"CSRF" in admin.content  # Django's own page for staff
