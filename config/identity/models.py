"""Who calls the API: staff users (roles are Django groups) and devices (kiosks, the HIS).

Credentials are random secrets shown once; only their SHA-256 is stored (a 256-bit random
secret needs no slow hash), so a database leak reveals no usable key.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models


class Role(models.TextChoices):
    CASHIER = "cashier", "Cashier"
    SUPERVISOR = "supervisor", "Supervisor"
    FINANCE = "finance", "Finance"
    ADMIN = "admin", "Administrator"
    # Reads the audit trail (API and admin) and nothing else.
    AUDITOR = "auditor", "Auditor"


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


class DeviceKind(models.TextChoices):
    KIOSK = "kiosk", "Kiosk"
    HIS = "his", "Hospital information system"


class Device(models.Model):
    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=DeviceKind.choices)
    key_digest = models.CharField(max_length=64, unique=True)
    # The first characters of the key, to tell keys apart in the admin without revealing them.
    key_hint = models.CharField(max_length=12)
    # A kiosk's card reader (Stripe Terminal reader id), when it has one.
    card_reader_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # Created by billing before identity moved to the frame; the table kept its name.
        db_table = "billing_device"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=DeviceKind.values), name="device_kind_valid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    # DRF's IsAuthenticated asks request.user.is_authenticated; a device is request.user.
    @property
    def is_authenticated(self) -> bool:
        return self.is_active


class ApiToken(models.Model):
    """A staff user's API token (``Authorization: Token <key>``), expiring and revocable."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    key_digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "billing_apitoken"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"token of user {self.user_id}"
