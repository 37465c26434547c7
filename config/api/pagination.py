"""Page sizes a client asks for are checked, not silently replaced."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qs

from rest_framework import serializers
from rest_framework.request import Request

# What a cursor we issued holds: an offset, a direction and a position (DRF's encoding).
_CURSOR_TOKENS = {"o", "r", "p"}


class StrictPageSize:
    """Also refuses a cursor we cannot have issued (``AAAA``, which DRF decodes to an empty
    cursor and answers with the first page) as ``400 parameter_invalid``.

    ``page_size`` must be a whole number from 1 to ``max_page_size``; anything else
    (``-1``, ``0``, ``100000``, ``ten``) is ``400 parameter_invalid``, where DRF would quietly
    use its default or its maximum instead."""

    page_size: int | None
    page_size_query_param: str | None
    max_page_size: int | None
    cursor_query_param: str
    invalid_cursor_message: str

    def decode_cursor(self, request: Request) -> Any:
        raw = request.query_params.get(self.cursor_query_param)
        if raw is not None:
            try:
                decoded = base64.b64decode(raw.encode("ascii"), validate=True).decode("ascii")
                tokens = parse_qs(decoded, keep_blank_values=True, strict_parsing=True)
            except (ValueError, UnicodeError, binascii.Error):
                tokens = {}
            if not tokens or not set(tokens) <= _CURSOR_TOKENS:
                raise serializers.ValidationError(
                    {self.cursor_query_param: [self.invalid_cursor_message]}, code="invalid"
                )
        return super().decode_cursor(request)  # type: ignore[misc]

    def get_page_size(self, request: Request) -> int | None:
        name = self.page_size_query_param
        if not name or name not in request.query_params:
            return self.page_size
        raw = request.query_params[name]
        limit = self.max_page_size or self.page_size or 1
        if not raw.isdigit() or not 1 <= int(raw) <= limit:
            raise serializers.ValidationError(
                {name: [f"A whole number from 1 to {limit}."]}, code="invalid"
            )
        return int(raw)
