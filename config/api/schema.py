"""OpenAPI: the error body as a component, and the errors every operation can answer."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiParameter
from rest_framework import serializers


def idempotency_key_header(description: str) -> OpenApiParameter:
    """The ``Idempotency-Key`` header every POST that moves money requires."""
    return OpenApiParameter(
        "Idempotency-Key", str, OpenApiParameter.HEADER, required=True, description=description
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
}


class AutoSchema(SpectacularAutoSchema):
    """Names a view's nested serializers after the view.

    Every view nests its own ``InputSerializer`` and ``OutputSerializer`` (one view per
    operation); by class name alone they would all be the components ``Input`` and
    ``Output`` and overwrite each other. ``PaymentCreateApi.OutputSerializer`` becomes
    ``PaymentCreateOutput``.
    """

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
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            # No security requirement, or an empty one among them: callers need no credentials.
            security = operation.get("security") or [{}]
            anonymous = {} in security
            for status, description in _COMMON.items():
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
