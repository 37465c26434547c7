"""OpenAPI: the error body as a component, and the errors every operation can answer."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiParameter
from rest_framework import serializers

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
# Every operation that changes something may find the state changed under it.
_WRITE_COMMON = {
    "409": "A conflict with the current state; the `code` says which (each operation's "
    "description lists its own), e.g. `idempotency_key_reused`, `request_in_progress`.",
}
# Operations that move money may be refused by the payment's own rules or a provider.
_MONEY_PREFIXES = ("/api/v1/payments", "/api/v1/refunds", "/api/v1/cashier", "/api/v1/invoices")
_MONEY_COMMON = {
    "402": "The payment or refund cannot go through as asked (e.g. `card_declined`, an "
    "amount above what is owed or refundable); the `code` says which.",
    "502": "`provider_error`: the card provider failed; nothing was charged twice.",
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
        handler = getattr(self.view, method.lower(), None)
        if operation is None or not getattr(handler, "requires_idempotency_key", False):
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
            if method in ("post", "put", "patch", "delete"):
                common.update(_WRITE_COMMON)
                if path.startswith(_MONEY_PREFIXES):
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
