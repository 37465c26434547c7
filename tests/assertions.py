"""Assertions shared by the API tests."""

from __future__ import annotations

from typing import Any


def assert_error(response: Any, status: int, code: str, param: str | None = None) -> dict:
    """The response is ``status`` with ``{"error": {"code", "message", "param"?, "detail"?}}``
    and nothing else; returns the inner ``error`` object."""
    assert response.status_code == status, getattr(response, "content", response)
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert {"code", "message"} <= set(error) <= {"code", "message", "param", "detail"}
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    assert error.get("param") == param
    return error
