"""The one error format: every 4xx the API frame answers has exactly the documented body."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from config.api.views import AuthTokenThrottle
from config.identity.models import ApiToken, DeviceKind, Role
from config.identity.services import staff_create
from tests.assertions import assert_error

TOKEN_URL = "/api/v1/auth/token"
ACCOUNTS_URL = "/api/v1/ledger/accounts"


def _cursor(querystring: str) -> str:
    """A cursor crafted by the client (DRF's are base64 of a query string)."""
    return quote(base64.b64encode(querystring.encode()).decode())  # DRF decodes it as ASCII


@pytest.fixture
def login_client() -> Iterator[APIClient]:
    """A client from an address of its own, its login throttle history empty before and
    after: the throttle counts per address in the shared cache (other tests, other
    workers), so nobody else's logins count against it and its own leave no trace."""
    address = f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"
    key = AuthTokenThrottle.cache_format % {"scope": AuthTokenThrottle.scope, "ident": address}
    cache.delete(key)
    yield APIClient(REMOTE_ADDR=address)
    cache.delete(key)


@pytest.mark.parametrize(
    "path", ["/nowhere", "/api/v1/nowhere", "/api/v1/ledger/accounts/1", "/api/v2/ledger/accounts"]
)
def test_unknown_route_answers_route_not_found(db: None, anon_client: APIClient, path: str) -> None:
    error = assert_error(anon_client.get(path), 404, "route_not_found")
    assert path in error["message"]


def test_malformed_json_body_answers_malformed_json(db: None, anon_client: APIClient) -> None:
    response = anon_client.post(TOKEN_URL, '{"username": "an", ', content_type="application/json")

    assert_error(response, 400, "malformed_json")


def test_missing_field_answers_parameter_missing_with_param(
    db: None, anon_client: APIClient
) -> None:
    response = anon_client.post(TOKEN_URL, {"username": "an"}, format="json")

    error = assert_error(response, 400, "parameter_missing", param="password")
    assert error["detail"] == {"password": ["This field is required."]}


def test_null_field_answers_parameter_missing(db: None, anon_client: APIClient) -> None:
    response = anon_client.post(TOKEN_URL, {"username": None, "password": "x"}, format="json")

    assert_error(response, 400, "parameter_missing", param="username")


@pytest.mark.parametrize(
    ("payload", "param"),
    [
        ({"username": ["an"], "password": "x"}, "username"),
        ({"username": "an", "password": {"secret": 1}}, "password"),
        ({"username": "a" * 151, "password": "x"}, "username"),
    ],
)
def test_wrong_type_or_size_answers_parameter_invalid_with_param(
    db: None, anon_client: APIClient, payload: dict, param: str
) -> None:
    response = anon_client.post(TOKEN_URL, payload, format="json")

    error = assert_error(response, 400, "parameter_invalid", param=param)
    assert error["message"].startswith(f"{param}: ")


def test_json_array_body_answers_parameter_invalid(db: None, anon_client: APIClient) -> None:
    response = anon_client.post(TOKEN_URL, ["an", "secret"], format="json")

    assert_error(response, 400, "parameter_invalid")


def test_missing_credentials_answer_authentication_required(
    db: None, anon_client: APIClient
) -> None:
    response = anon_client.get(ACCOUNTS_URL)

    assert_error(response, 401, "authentication_required")
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize(
    "header",
    [
        "Token tok_not-a-real-token",
        "Token",
        "Token two parts",
        "Device dev_not-a-real-key",
        "Device",
    ],
)
def test_bad_credentials_answer_authentication_failed(
    db: None, anon_client: APIClient, header: str
) -> None:
    anon_client.credentials(HTTP_AUTHORIZATION=header)

    assert_error(anon_client.get(ACCOUNTS_URL), 401, "authentication_failed")


def test_expired_token_answers_authentication_failed(
    finance_client: APIClient,
) -> None:
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert_error(finance_client.get(ACCOUNTS_URL), 401, "authentication_failed")


def test_revoked_token_answers_authentication_failed(finance_client: APIClient) -> None:
    ApiToken.objects.update(revoked_at=timezone.now())

    assert_error(finance_client.get(ACCOUNTS_URL), 401, "authentication_failed")


def test_revoked_device_answers_authentication_failed(
    device_client: Callable[..., tuple[APIClient, Any]],
) -> None:
    client, device = device_client(DeviceKind.HIS)
    device.revoked_at = timezone.now()
    device.save()

    assert_error(client.get(ACCOUNTS_URL), 401, "authentication_failed")


def test_wrong_role_answers_permission_denied(staff_client: Callable[..., APIClient]) -> None:
    assert_error(staff_client(Role.CASHIER).get(ACCOUNTS_URL), 403, "permission_denied")


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", TOKEN_URL), ("delete", TOKEN_URL), ("post", ACCOUNTS_URL), ("put", ACCOUNTS_URL)],
)
def test_wrong_method_answers_method_not_allowed(
    finance_client: APIClient, method: str, path: str
) -> None:
    response = getattr(finance_client, method)(path)

    assert_error(response, 405, "method_not_allowed")
    assert response["Allow"]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("username=an&password=x", "application/x-www-form-urlencoded"),
        ("<login/>", "application/xml"),
        ("username", "text/plain"),
    ],
)
def test_non_json_body_answers_unsupported_media_type(
    db: None, anon_client: APIClient, body: str, content_type: str
) -> None:
    response = anon_client.post(TOKEN_URL, body, content_type=content_type)

    assert_error(response, 415, "unsupported_media_type")


def test_too_many_logins_answer_rate_limited_with_retry_after(
    db: None, login_client: APIClient, settings: Any
) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"auth_token": "3/min"},
    }
    staff_create(username="an.nguyen", role=Role.FINANCE, password="correct horse 42")
    wrong = {"username": "an.nguyen", "password": "wrong"}

    statuses = [login_client.post(TOKEN_URL, wrong, format="json").status_code for _ in range(3)]
    response = login_client.post(
        TOKEN_URL, {"username": "an.nguyen", "password": "correct horse 42"}, format="json"
    )

    assert statuses == [401, 401, 401]
    error = assert_error(response, 429, "rate_limited")
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 61
    assert error["detail"] == {"retry_after_seconds": retry_after}


def test_login_rate_follows_the_setting(db: None, login_client: APIClient, settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"auth_token": "1/min"},
    }
    wrong = {"username": "nobody", "password": "wrong"}

    first = login_client.post(TOKEN_URL, wrong, format="json")
    second = login_client.post(TOKEN_URL, wrong, format="json")

    assert_error(first, 401, "invalid_credentials")
    assert_error(second, 429, "rate_limited")


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/api/v1/ledger/accounts?type=cash", "type"),
        ("/api/v1/ledger/entries?posted_from=yesterday", "posted_from"),
        ("/api/v1/ledger/entries?posted_to=2024-02-30T00:00:00", "posted_to"),
        ("/api/v1/ledger/entries?cursor=not-a-cursor", "cursor"),
        (f"/api/v1/ledger/entries?cursor={_cursor('p=abc')}", "cursor"),
        (f"/api/v1/ledger/entries?cursor={_cursor('p=-5')}", "cursor"),
        (f"/api/v1/ledger/entries?cursor={_cursor('p=٣')}", "cursor"),
        (f"/api/v1/ledger/entries?cursor={_cursor('p=' + '9' * 20)}", "cursor"),
        (f"/api/v1/ledger/entries?cursor={_cursor('o=-1')}", "cursor"),
        (f"/api/v1/ledger/entries?cursor={_cursor('r=yes')}", "cursor"),
        ("/api/v1/ledger/trial-balance?as_of=soon", "as_of"),
        ("/api/v1/ledger/export?from=2024-13-01", "from"),
        ("/api/v1/ledger/export?to=31/12/2024", "to"),
        ("/api/v1/ledger/export?from=2024-05-02&to=2024-05-01", "to"),
        ("/api/v1/ledger/export?format=pdf", "format"),
    ],
)
def test_invalid_finance_query_parameter_answers_parameter_invalid(
    finance_client: APIClient, path: str, param: str
) -> None:
    assert_error(finance_client.get(path), 400, "parameter_invalid", param=param)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/ledger/entries?page_size=0",
        "/api/v1/ledger/entries?page_size=-3",
        "/api/v1/ledger/entries?page_size=lots",
        "/api/v1/ledger/entries?account=%00",
        "/api/v1/ledger/entries?source_id=" + "x" * 5000,
        "/api/v1/ledger/accounts?is_active=maybe",
        "/api/v1/ledger/trial-balance?as_of=2024-05-01",
    ],
)
def test_odd_but_harmless_finance_query_parameters_never_answer_500(
    finance_client: APIClient, path: str
) -> None:
    response = finance_client.get(path)

    assert response.status_code < 500, response.content


@pytest.mark.parametrize(
    "body",
    [b"\xff\xfe{}", b"[" * 100_000, b'{"username": "an", "password": NaN}'],
    ids=["not-utf8", "nested-too-deep", "nan"],
)
def test_unparsable_json_body_answers_malformed_json(
    db: None, anon_client: APIClient, body: bytes
) -> None:
    response = anon_client.post(TOKEN_URL, body, content_type="application/json")

    assert_error(response, 400, "malformed_json")


def test_empty_json_body_answers_parameter_missing(db: None, anon_client: APIClient) -> None:
    response = anon_client.post(TOKEN_URL, b"", content_type="application/json")

    assert_error(response, 400, "parameter_missing", param="username")


def test_unknown_host_answers_bad_request(db: None, anon_client: APIClient) -> None:
    response = anon_client.get("/healthz", HTTP_HOST="vienphi.evil.example")

    assert_error(response, 400, "bad_request")
