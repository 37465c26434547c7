"""Stripe's wire format as the fake needs it: form-encoded parameters in, error bodies out."""

from __future__ import annotations

import json
import re
import secrets
import string
from typing import Any, cast
from urllib.parse import parse_qsl

Obj = dict[str, Any]


class ApiError(Exception):
    """A Stripe error response. ``saved`` says whether the idempotency layer keeps it: Stripe
    saves results once an endpoint began executing, not parameter-validation failures."""

    def __init__(
        self, status: int, type_: str, message: str, *, saved: bool = True, **fields: Any
    ) -> None:
        super().__init__(message)
        self.status, self.saved = status, saved
        self.body: Obj = {"type": type_, "message": message}
        self.body.update({k: v for k, v in fields.items() if v is not None})

    def to_json(self) -> bytes:
        return json.dumps({"error": self.body}, indent=2).encode()


def invalid(message: str, *, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, "invalid_request_error", message, param=param, code=code, saved=False)


def state_error(message: str, *, code: str, param: str | None = None) -> ApiError:
    return ApiError(400, "invalid_request_error", message, code=code, param=param)


def missing(kind: str, object_id: str, param: str = "id") -> ApiError:
    message = f"No such {kind}: '{object_id}'"
    return ApiError(
        404, "invalid_request_error", message, code="resource_missing", param=param, saved=False
    )


def new_id(prefix: str, length: int = 24) -> str:
    alphabet = string.ascii_letters + string.digits
    return prefix + "_" + "".join(secrets.choice(alphabet) for _ in range(length))


def parse_form(raw: str) -> Obj:
    """Decode stripe-python's form encoding: ``metadata[k]=v``, ``types[0]=card`` -> nested."""
    root: Obj = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        head = key.partition("[")[0]
        parts = [head, *re.findall(r"\[([^\[\]]*)\]", key[len(head) :])]
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise invalid(f"Invalid parameter: {key}", param=head)
        node[parts[-1]] = value
    return cast(Obj, _listify(root))


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    items = {k: _listify(v) for k, v in node.items()}
    if items and all(k.isdigit() for k in items):
        return [items[k] for k in sorted(items, key=int)]
    return items


def int_param(params: Obj, name: str, *, default: int | None = None) -> int:
    raw = params.get(name)
    if raw is None:
        if default is None:
            raise invalid(f"Missing required param: {name}.", param=name, code="parameter_missing")
        return default
    if not isinstance(raw, str) or not re.fullmatch(r"-?\d+", raw):
        raise invalid(f"Invalid integer: {raw}", param=name)
    return int(raw)


def choice_param(
    params: Obj, name: str, choices: tuple[str, ...], default: str | None
) -> str | None:
    value = params.get(name, default)
    if value is not None and value not in choices:
        raise invalid(f"Invalid {name}: must be one of {', '.join(choices)}", param=name)
    return cast("str | None", value)


def metadata_param(params: Obj) -> dict[str, str]:
    metadata = params.get("metadata") or {}
    if not isinstance(metadata, dict) or len(metadata) > 50:
        raise invalid("Invalid metadata: a hash of at most 50 keys", param="metadata")
    for key, value in metadata.items():
        if len(key) > 40 or not isinstance(value, str) or len(value) > 500:
            raise invalid(f"Invalid metadata[{key}]", param=f"metadata[{key}]")
    return dict(metadata)
