"""``Authorization: Token <key>`` for staff, ``Authorization: Device <key>`` for devices."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from config.identity.models import ApiToken, Device, secret_digest


def _credential(request: Request, keyword: bytes) -> str | None:
    parts = get_authorization_header(request).split()
    if not parts or parts[0].lower() != keyword.lower():
        return None
    if len(parts) != 2:
        raise exceptions.AuthenticationFailed(
            f"Malformed Authorization header: expected '{keyword.decode()} <key>'."
        )
    try:
        return parts[1].decode("ascii")
    except UnicodeDecodeError:
        raise exceptions.AuthenticationFailed("The key contains invalid characters.") from None


class StaffTokenAuthentication(BaseAuthentication):
    keyword = b"Token"

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, ApiToken] | None:
        key = _credential(request, self.keyword)
        if key is None:
            return None
        token = (
            ApiToken.objects.select_related("user").filter(key_digest=secret_digest(key)).first()
        )
        if (
            token is None
            or token.revoked_at is not None
            or token.expires_at <= timezone.now()
            or not token.user.is_active
        ):
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return "Token"


class DeviceKeyAuthentication(BaseAuthentication):
    keyword = b"Device"

    def authenticate(self, request: Request) -> tuple[Device, None] | None:
        key = _credential(request, self.keyword)
        if key is None:
            return None
        device = Device.objects.filter(key_digest=secret_digest(key)).first()
        if device is None or device.revoked_at is not None:
            raise exceptions.AuthenticationFailed("Unknown or revoked device key.")
        return device, None

    def authenticate_header(self, request: Request) -> str:
        return "Device"


class StaffTokenScheme(OpenApiAuthenticationExtension):
    target_class = "config.api.authentication.StaffTokenAuthentication"
    name = "staffToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": "Authorization"}


class DeviceKeyScheme(OpenApiAuthenticationExtension):
    target_class = "config.api.authentication.DeviceKeyAuthentication"
    name = "deviceKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": "Authorization"}
