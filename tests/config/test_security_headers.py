"""Every HTML page carries a Content-Security-Policy whose inline blocks need the request's
nonce, and Swagger UI comes from the app's own /static/ (WhiteNoise), under the test settings
and under the production settings behind gunicorn."""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from tests.notifications.builders import issued
from tests.servers import free_port, wait_until_answering

PROJECT = Path(settings.BASE_DIR)
INLINE = re.compile(r"<(script|style)\b([^>]*)>(?!\s*</\1>)", re.IGNORECASE)


def _directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def _assert_strict_policy(response) -> None:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.request['PATH_INFO']}"
    policy = _directives(header)
    for directive in ("script-src", "style-src"):
        assert "'unsafe-inline'" not in policy[directive]
        assert "'unsafe-eval'" not in policy[directive]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    html = response.content.decode()
    nonces = {v.removeprefix("'nonce-").removesuffix("'") for v in policy["script-src"]}
    for tag, attributes in INLINE.findall(html):
        if "src=" in attributes:
            continue
        found = re.search(r'nonce="([^"]+)"', attributes)
        assert found, f"an inline <{tag}> without a nonce on {response.request['PATH_INFO']}"
        assert found.group(1) in nonces
    # Nothing loaded from another origin.
    assert not re.search(r'(src|href)="(https?:)?//', html)


@pytest.mark.django_db
def test_every_html_page_has_a_strict_content_security_policy() -> None:
    receipt = issued()
    admin = get_user_model().objects.create_superuser("csp-admin", password="pw-1234567")
    anonymous, staff = Client(), Client()
    staff.force_login(admin)

    pages = {
        f"/r/{receipt.verification_code}": anonymous,
        "/r/NOSUCHCODE23": anonymous,
        "/admin/login/": anonymous,
        "/admin/": staff,
        "/admin/notifications/message/": staff,
        "/api/docs/": anonymous,
    }
    for path, client in pages.items():
        response = client.get(path)
        assert response.status_code in (200, 404), (path, response.status_code)
        assert response["Content-Type"].startswith("text/html")
        _assert_strict_policy(response)


@pytest.mark.django_db
def test_two_requests_get_two_nonces() -> None:
    # The API docs page has inline blocks (the receipt page has none: nothing to nonce).
    first = Client().get("/api/docs/")
    second = Client().get("/api/docs/")

    nonce = re.compile(r"'nonce-([^']+)'")
    assert nonce.findall(first["Content-Security-Policy"]) != nonce.findall(
        second["Content-Security-Policy"]
    )


def test_the_api_docs_load_swagger_ui_from_the_apps_own_static_files() -> None:
    client = Client()
    html = client.get("/api/docs/").content.decode()

    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert {Path(a).name for a in assets} >= {
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
    }
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert b"".join(response.streaming_content)  # type: ignore[attr-defined]


# --- Under production settings, behind gunicorn -------------------------------------------


HTTPS = {"X-Forwarded-Proto": "https"}


@pytest.fixture(scope="module")
def production_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """gunicorn on the production settings, after `collectstatic` into a folder of its own."""
    static_root = tmp_path_factory.mktemp("staticfiles")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(Path.home()),
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(45)[:60],
        # Nothing below touches the database or Redis: static files and the docs page.
        "DATABASE_URL": "postgres://nobody@127.0.0.1:5432/vienphi_unused",
        "REDIS_URL": "redis://127.0.0.1:6379/15",
        "PII_HASH_KEY": secrets.token_urlsafe(32),
        "ALLOWED_HOSTS": "127.0.0.1",
        "STATIC_ROOT": str(static_root),
    }
    collect = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        env=env,
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert collect.returncode == 0, collect.stderr
    port = free_port()
    gunicorn = Path(sys.executable).parent / "gunicorn"
    server = subprocess.Popen(  # noqa: S603
        [
            *(str(gunicorn), "config.wsgi:application", "--bind", f"127.0.0.1:{port}"),
            *("--workers", "1", "--no-control-socket"),
        ],
        env=env,
        cwd=PROJECT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(
            f"{base}/static/admin/css/base.css",
            server,
            headers=HTTPS,
            output=lambda: server.stderr.read().decode() if server.stderr else "",
        )
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_production_serves_hashed_static_files_with_long_cache(production_server: str) -> None:
    docs = requests.get(f"{production_server}/api/docs/", headers=HTTPS, timeout=10)
    assert docs.status_code == 200
    assert "script-src 'self' 'nonce-" in docs.headers["Content-Security-Policy"]

    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', docs.text)
    assert len(assets) >= 3
    for asset in assets:
        # The manifest's name carries a hash of the content: swagger-ui.<hash>.css.
        assert re.search(r"\.[0-9a-f]{12}\.(css|js|png)$", asset), asset
        response = requests.get(
            f"{production_server}{asset}",
            headers={**HTTPS, "Accept-Encoding": "gzip"},
            timeout=10,
        )
        assert response.status_code == 200, asset
        assert "immutable" in response.headers["Cache-Control"]
        assert response.content


def test_production_serves_the_admins_static_files(production_server: str) -> None:
    response = requests.get(
        f"{production_server}/static/admin/css/base.css", headers=HTTPS, timeout=10
    )

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/css")
