"""OpenAPI: the error body as a component, and the errors every operation can answer."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiParameter
from rest_framework import serializers

from config.errors import DomainError

# A view's table of the 402 and 409 errors each of its methods can answer, as the classes
# raised (their `code` and `status` are the error's own): `{"post": (InvoiceNotPayable, …)}`.
# The schema lists exactly those codes per operation, as an enum a client (and schemathesis)
# can check an answer against; `tests/config/test_openapi_error_codes.py` holds it to the
# operations' own descriptions.
ErrorTable = Mapping[str, Iterable[type[DomainError]]]
DOCUMENTED_STATUSES = {
    402: "The payment or refund cannot go through as asked",
    409: "A conflict with the current state",
}

# What the server accepts as an Idempotency-Key (payments.services.idempotency): 1 to 255
# characters; anything else is 400 idempotency_key_missing.
IDEMPOTENCY_KEY_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 255}
IDEMPOTENCY_KEY_DESCRIPTION = (
    "Required, 1 to 255 characters, unique per intent: a retry with the same key and "
    "request is answered as the first time (`Idempotent-Replayed: true`); the same key with "
    "another request is `409 idempotency_key_reused`, one still running "
    "`409 request_in_progress`."
)


def idempotency_key_header(description: str) -> OpenApiParameter:
    """The ``Idempotency-Key`` header every POST that moves money requires."""
    return OpenApiParameter(
        "Idempotency-Key",
        IDEMPOTENCY_KEY_SCHEMA,
        OpenApiParameter.HEADER,
        required=True,
        description=f"{description} {IDEMPOTENCY_KEY_DESCRIPTION}",
    )


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "Machine-readable, stable."},
                "message": {"type": "string", "description": "For people; may change."},
                "param": {"type": "string", "description": "The offending parameter."},
                "detail": {"description": "Extra structured context."},
            },
        }
    },
}

_COMMON = {
    "400": "Invalid input: `parameter_missing`, `parameter_invalid`, `malformed_json`, "
    "or a domain code.",
    "401": "`authentication_required` or `authentication_failed`.",
    "403": "`permission_denied`: the caller's role or device kind may not do this.",
    "404": "`not_found`.",
    "405": "`method_not_allowed`.",
    "415": "`unsupported_media_type`: send JSON.",
    "429": "`rate_limited`; see `Retry-After`.",
    "503": "`database_contention` (nothing was saved: send the same request again after "
    "`Retry-After`), `database_unavailable` (the database connection was lost during the "
    "request: send the same request again, same `Idempotency-Key`), `service_unavailable` "
    "(login and kiosk lookup while the throttles' store is down), `provider_not_configured`.",
}
# Operations that move money may meet a provider's failure.
_MONEY_PREFIXES = ("/api/v1/payments", "/api/v1/refunds", "/api/v1/cashier", "/api/v1/invoices")
_MONEY_COMMON = {
    "502": "`provider_error`: the card provider failed; nothing was charged twice.",
}


def operation_errors(view: Any, method: str) -> dict[int, list[str]]:
    """The 402 and 409 codes one operation can answer, by status: its view's
    ``documented_errors`` table for ``method``, and those its handler's decorator adds
    (``idempotent``: ``idempotency_key_reused``, ``request_in_progress``)."""
    table: ErrorTable = getattr(view, "documented_errors", {})
    handler = getattr(view, method.lower(), None)
    errors = [*table.get(method.lower(), ()), *getattr(handler, "documented_errors", ())]
    codes: dict[int, set[str]] = {}
    for error in errors:
        if error.status not in DOCUMENTED_STATUSES:
            raise ValueError(f"{error.__name__}: only 402 and 409 are listed per operation")
        codes.setdefault(error.status, set()).add(error.code)
    return {status: sorted(found) for status, found in sorted(codes.items())}


def error_codes_response(status: int, codes: list[str]) -> dict[str, Any]:
    """A documented 402 or 409: the error body whose ``code`` is one of ``codes``."""
    listed = ", ".join(f"`{code}`" for code in codes)
    code_enum = {"type": "string", "enum": codes}
    return {
        "description": f"{DOCUMENTED_STATUSES[status]}: {listed}.",
        "content": {
            "application/json": {
                "schema": {
                    "allOf": [
                        {"$ref": "#/components/schemas/Error"},
                        {
                            "type": "object",
                            "properties": {
                                "error": {"type": "object", "properties": {"code": code_enum}}
                            },
                        },
                    ]
                }
            }
        },
    }


class AutoSchema(SpectacularAutoSchema):
    """Names a view's nested serializers after the view.

    Every view nests its own ``InputSerializer`` and ``OutputSerializer`` (one view per
    operation); by class name alone they would all be the components ``Input`` and
    ``Output`` and overwrite each other. ``PaymentCreateApi.OutputSerializer`` becomes
    ``PaymentCreateOutput``.
    """

    def get_operation(
        self, path: str, path_regex: str, path_prefix: str, method: str, registry: Any
    ) -> dict[str, Any] | None:
        """A view method wrapped by ``idempotent`` documents its ``Idempotency-Key`` header
        (with its limits) whether or not the view listed it."""
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return operation
        for status, codes in operation_errors(self.view, method).items():
            operation["responses"][str(status)] = error_codes_response(status, codes)
        handler = getattr(self.view, method.lower(), None)
        if not getattr(handler, "requires_idempotency_key", False):
            return operation
        parameters = operation.setdefault("parameters", [])
        header = next(
            (p for p in parameters if p.get("in") == "header" and p["name"] == "Idempotency-Key"),
            None,
        )
        if header is None:
            header = {
                "in": "header",
                "name": "Idempotency-Key",
                "description": IDEMPOTENCY_KEY_DESCRIPTION,
            }
            parameters.append(header)
        header["required"] = True
        header["schema"] = dict(IDEMPOTENCY_KEY_SCHEMA)
        return operation

    def get_serializer_name(self, serializer: serializers.Serializer, direction: Any) -> str:
        cls = type(serializer)
        owner, _, name = cls.__qualname__.rpartition(".")
        if not owner or "<locals>" in owner:
            return cls.__name__
        return owner.rpartition(".")[2].removesuffix("Api") + name


class ErrorSerializer(serializers.Serializer):
    """For ``extend_schema(responses=...)`` where a view documents a specific error."""

    error = serializers.DictField()


def error_example(code: str, message: str) -> OpenApiExample:
    return OpenApiExample(code, value={"error": {"code": code, "message": message}})


def add_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular post-processing hook: every operation documents the error body."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for path, path_item in result.get("paths", {}).items():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            # No security requirement, or an empty one among them: callers need no credentials.
            security = operation.get("security") or [{}]
            anonymous = {} in security
            common = dict(_COMMON)
            if method in ("post", "put", "patch", "delete") and path.startswith(_MONEY_PREFIXES):
                common.update(_MONEY_COMMON)
            for status, description in common.items():
                if anonymous and status in ("401", "403"):
                    continue
                if status == "415" and "requestBody" not in operation:
                    continue
                if status in responses:
                    responses[status].setdefault("content", {"application/json": {"schema": ref}})
                    continue
                responses[status] = {
                    "description": description,
                    "content": {"application/json": {"schema": ref}},
                }
    return result
