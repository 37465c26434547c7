"""The OpenAPI document: public, valid, and honest about errors."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

OPENAPI_JSON = "application/vnd.oai.openapi+json"
ERROR_REF = {"$ref": "#/components/schemas/Error"}


@pytest.fixture
def schema(db: None, anon_client: APIClient) -> dict[str, Any]:
    response = anon_client.get("/api/schema/", HTTP_ACCEPT=OPENAPI_JSON)
    assert response.status_code == 200
    return response.json()


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


def test_schema_is_public_and_valid_openapi_3(schema: dict[str, Any]) -> None:
    validate_schema(schema)

    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "vienphi API"


def test_schema_is_public_even_with_stale_credentials(db: None, anon_client: APIClient) -> None:
    anon_client.credentials(HTTP_AUTHORIZATION="Token tok_expired-long-ago")

    response = anon_client.get("/api/schema/", HTTP_ACCEPT=OPENAPI_JSON)

    assert response.status_code == 200


def test_schema_served_as_yaml_by_default(db: None, anon_client: APIClient) -> None:
    response = anon_client.get("/api/schema/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert response.content.startswith(b"openapi: 3.")


def test_docs_page_is_public(db: None, anon_client: APIClient) -> None:
    response = anon_client.get("/api/docs/")

    assert response.status_code == 200
    assert b"swagger" in response.content.lower()
    assert b"/api/schema/" in response.content


def test_finance_auth_and_health_operations_are_documented(schema: dict[str, Any]) -> None:
    documented = {(path, method) for path, method, _ in _operations(schema)}

    assert {
        ("/api/v1/auth/token", "post"),
        ("/api/v1/ledger/accounts", "get"),
        ("/api/v1/ledger/entries", "get"),
        ("/api/v1/ledger/trial-balance", "get"),
        ("/api/v1/ledger/export", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
    } <= documented


def test_every_operation_documents_the_error_body(schema: dict[str, Any]) -> None:
    assert schema["components"]["schemas"]["Error"]["required"] == ["error"]
    for path, method, operation in _operations(schema):
        responses = operation["responses"]
        secured = {} not in (operation.get("security") or [{}])
        expected = {"400", "404", "405", "429"} | ({"401", "403"} if secured else set())
        assert expected <= set(responses), (path, method)
        for status, response in responses.items():
            if status.startswith("4"):
                body = response["content"]["application/json"]["schema"]
                # A 402/409 narrows the error body to its codes (test_openapi_error_codes.py).
                body = body["allOf"][0] if status in ("402", "409") else body
                assert body == ERROR_REF, (path, method, status)


def test_finance_operations_require_staff_or_device_credentials(schema: dict[str, Any]) -> None:
    for path, _, operation in _operations(schema):
        if path.startswith("/api/v1/ledger/"):
            assert operation["security"] == [{"staffToken": []}, {"deviceKey": []}]


def test_login_documents_invalid_credentials(schema: dict[str, Any]) -> None:
    login = schema["paths"]["/api/v1/auth/token"]["post"]

    assert "security" not in login or {} in login["security"]
    assert "invalid_credentials" in login["responses"]["401"]["description"]
    assert "403" not in login["responses"]


def test_documented_query_parameters_match_the_finance_api(schema: dict[str, Any]) -> None:
    def names(path: str) -> set[str]:
        return {p["name"] for p in schema["paths"][path]["get"].get("parameters", [])}

    assert names("/api/v1/ledger/entries") >= {
        "posted_from",
        "posted_to",
        "account",
        "source_type",
        "source_id",
        "cursor",
        "page_size",
    }
    assert names("/api/v1/ledger/trial-balance") == {"as_of"}
    assert names("/api/v1/ledger/export") == {"from", "to", "format"}
    assert set(schema["paths"]["/api/v1/ledger/export"]["get"]["responses"]["200"]["content"]) == {
        "text/csv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",  # xlsx, misa
        "text/plain",  # beancount
    }


def test_nested_serializers_of_different_views_get_distinct_components(
    schema: dict[str, Any],
) -> None:
    components = schema["components"]["schemas"]

    assert "Output" not in components
    assert "Input" not in components
    assert {"AuthTokenCreateInputRequest", "AuthTokenCreateOutput", "TrialBalanceOutput"} <= set(
        components
    )


def test_spectacular_validates_without_warnings(db: None, tmp_path: Path) -> None:
    target = tmp_path / "schema.json"

    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--format=openapi-json",
        f"--file={target}",
        stderr=StringIO(),
    )

    assert json.loads(target.read_text())["paths"]
