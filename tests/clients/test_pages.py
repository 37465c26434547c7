"""The reference clients' pages: served by the app to anyone (they hold no data and no
credential), never cached, and made only of our own script and style files."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

pytestmark = pytest.mark.django_db

PAGES = ["/kiosk/", "/desk/"]


@pytest.mark.parametrize("path", PAGES)
def test_a_client_page_is_served_without_credentials_and_never_cached(path):
    response = Client().get(path)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("path", PAGES)
def test_a_client_page_loads_only_its_own_static_files_and_no_inline_script(path):
    html = Client().get(path).content.decode()

    sources = re.findall(r'<script src="([^"]+)"', html) + re.findall(
        r'<link rel="stylesheet" href="([^"]+)"', html
    )
    assert sources
    for source in sources:
        assert source.startswith("/static/clients/"), source
        assert finders.find(source.removeprefix("/static/")), source
    # Every script is a file (a Content-Security-Policy without 'unsafe-inline' holds).
    assert len(re.findall(r"<script\b", html)) == len(re.findall(r'<script src="', html))
    assert " style=" not in html
    assert not re.search(r"<[^>]+\son[a-z]+=", html)


def test_the_kiosk_page_carries_its_idle_timeouts_from_the_settings(settings):
    settings.KIOSK_IDLE_SECONDS = 45
    settings.KIOSK_PAYMENT_IDLE_SECONDS = 240
    settings.KIOSK_IDLE_WARNING_SECONDS = 10

    html = Client().get("/kiosk/").content.decode()

    assert 'data-idle-seconds="45"' in html
    assert 'data-payment-idle-seconds="240"' in html
    assert 'data-warning-seconds="10"' in html
    # The device key is configured on the device, never sent with the page.
    assert "dev_kiosk_" not in html


def test_the_kiosk_page_may_show_only_the_files_it_fetched_itself_beyond_its_own_origin():
    policy = Client().get("/kiosk/")["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}

    # The QR image and the receipt's PDF, fetched with the device key, shown as blob: URLs.
    assert "blob:" in directives["img-src"]
    assert directives["frame-src"] == ["blob:"]
    assert directives["script-src"] == ["'self'"]
    assert directives["connect-src"] == ["'self'"]
