"""The schema names, per operation, exactly the 402 and 409 codes it can answer: an enum on the
error body's ``code`` (drawn from each view's ``documented_errors`` table and the
``idempotent`` decorator), so a client can branch on them and schemathesis
(tests/api/test_schemathesis.py) refuses any other code the server sends.

Read from the schema itself: every listed code answers with that status; whatever an
operation's own description names as a 402/409 is listed; every idempotent operation lists
the two key conflicts; and every 402/409 code of the project is listed somewhere, unless it
is one the public API cannot answer (below, with why)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

from config.errors import DomainError
from tests.config.test_error_codes import _domain_errors

# 402/409 errors no public operation answers, and why.
NOT_ANSWERED_BY_THE_API = {
    # The ledger's own guards: a posting key reused with other lines, a reversal reversed
    # twice. Services post with keys and reversals of their own; either would be a bug.
    "ledger_posting_key_conflict",
    "ledger_already_reversed",
    # Resending a refused e-invoice happens in the admin, not the API.
    "einvoice_not_resendable",
    # The generic class, never raised as such (each conflict has its own code).
    "conflict",
}
DOCUMENTED = ("402", "409")


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, item in sorted(schema["paths"].items())
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def _codes(operation: dict[str, Any], status: str) -> list[str]:
    """The codes an operation documents for ``status`` (the enum on ``error.code``)."""
    response = operation["responses"].get(status)
    if response is None:
        return []
    schema = response["content"]["application/json"]["schema"]
    assert schema["allOf"][0] == {"$ref": "#/components/schemas/Error"}
    codes: list[str] = schema["allOf"][1]["properties"]["error"]["properties"]["code"]["enum"]
    assert codes, f"{status} with no code"
    assert all(f"`{code}`" in response["description"] for code in codes)
    return codes


def _status_of() -> dict[str, int]:
    return {error.code: error.status for error in _domain_errors()}


def test_each_listed_code_answers_with_the_status_it_is_listed_under(
    schema: dict[str, Any],
) -> None:
    status_of = _status_of()
    wrong = [
        (name, status, code)
        for name, operation in _operations(schema)
        for status in DOCUMENTED
        for code in _codes(operation, status)
        if status_of.get(code) != int(status)
    ]
    assert not wrong


def test_what_an_operations_description_names_as_402_or_409_is_listed(
    schema: dict[str, Any],
) -> None:
    status_of = _status_of()
    missing = []
    for name, operation in _operations(schema):
        named = set(re.findall(r"`([a-z_]+)`", operation.get("description", "")))
        for code in sorted(named):
            status = str(status_of.get(code))
            if status in DOCUMENTED and code not in _codes(operation, status):
                missing.append((name, status, code))
    assert not missing


def test_every_idempotent_operation_lists_the_key_conflicts(schema: dict[str, Any]) -> None:
    idempotent = [
        (name, operation)
        for name, operation in _operations(schema)
        if any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
    ]
    assert len(idempotent) > 10
    for name, operation in idempotent:
        assert {"idempotency_key_reused", "request_in_progress"} <= set(_codes(operation, "409")), (
            name
        )


def test_every_402_and_409_of_the_project_is_listed_where_it_can_happen(
    schema: dict[str, Any],
) -> None:
    listed = {
        code
        for _, operation in _operations(schema)
        for status in DOCUMENTED
        for code in _codes(operation, status)
    }
    conflicts = {error.code for error in _domain_errors() if str(error.status) in DOCUMENTED}
    assert conflicts - NOT_ANSWERED_BY_THE_API == listed
    assert conflicts >= NOT_ANSWERED_BY_THE_API  # the exceptions name real codes


def test_a_few_operations_list_exactly_their_codes(schema: dict[str, Any]) -> None:
    ops = dict(_operations(schema))
    pay = ops["POST /api/v1/payments"]
    assert _codes(pay, "402") == ["amount_exceeds_due", "card_declined"]
    assert _codes(pay, "409") == [
        "cashier_session_closed",
        "encounter_closed",
        "idempotency_key_reused",
        "invoice_not_payable",
        "request_in_progress",
    ]
    # Reject and approve share a view; only approving checks the amount held.
    assert _codes(ops["POST /api/v1/refunds/{public_id}/approve"], "402") == [
        "refund_exceeds_captured"
    ]
    assert "402" not in ops["POST /api/v1/refunds/{public_id}/reject"]["responses"]
    # payments adds its guard to billing's void, and the schema says so.
    assert "invoice_has_payments_in_flight" in _codes(
        ops["POST /api/v1/invoices/{public_id}/void"], "409"
    )
    # A read that cannot conflict documents no 409 at all.
    assert "409" not in ops["GET /api/v1/invoices/{public_id}"]["responses"]


def test_a_view_may_list_only_402_and_409() -> None:
    from config.api.schema import operation_errors

    class Wrong:
        documented_errors = {"post": (DomainError,)}

    with pytest.raises(ValueError, match="only 402 and 409"):
        operation_errors(Wrong(), "POST")
