"""Staff users, their roles and API tokens; devices and their keys.

Secrets are returned once to the caller and stored only as a SHA-256 digest. Every
credential change (a device registered or revoked, a staff user created, a token issued,
refused or revoked, a password set) is recorded in the audit trail; ``by`` is who did it
(None: a command run on the server, or the system).
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from config.audit.models import AuditCategory, AuditOutcome
from config.audit.services import audit_record
from config.errors import Conflict, InvalidCredentials, InvalidRequest
from config.identity.models import ApiToken, Device, DeviceKind, Role, new_secret, secret_digest


@transaction.atomic
def device_create(
    *, kind: str, name: str, card_reader_id: str = "", by: Any = None
) -> tuple[Device, str]:
    """Register a device and return it with its key (shown once, never stored in clear)."""
    if kind not in DeviceKind.values:
        raise InvalidRequest(f"Device kind must be one of {DeviceKind.values}.", param="kind")
    if Device.objects.filter(name=name).exists():
        raise Conflict(f"A device named {name!r} already exists.", param="name")
    key = new_secret(f"dev_{kind}")
    device = Device.objects.create(
        name=name,
        kind=kind,
        key_digest=secret_digest(key),
        key_hint=key[:12],
        card_reader_id=card_reader_id,
    )
    audit_record(
        action="device.create",
        category=AuditCategory.CREDENTIAL,
        actor=by,
        target=device,
        detail={"kind": kind, "key_hint": device.key_hint},
    )
    return device, key


@transaction.atomic
def device_revoke(*, device: Device, by: Any = None) -> Device:
    if device.revoked_at is None:
        device.revoked_at = timezone.now()
        device.save(update_fields=["revoked_at"])
        audit_record(
            action="device.revoke", category=AuditCategory.CREDENTIAL, actor=by, target=device
        )
    return device


def role_group(role: str) -> Group:
    group, _ = Group.objects.get_or_create(name=role)
    return group


@transaction.atomic
def staff_create(
    *, username: str, role: str, full_name: str = "", password: str | None = None, by: Any = None
) -> tuple[AbstractBaseUser, str]:
    """Create a staff user in one role and return it with its password (shown once)."""
    if role not in Role.values:
        raise InvalidRequest(f"Role must be one of {Role.values}.", param="role")
    user_model = get_user_model()
    if user_model.objects.filter(username=username).exists():
        raise Conflict(f"A user named {username!r} already exists.", param="username")
    password = password or secrets.token_urlsafe(12)
    first, _, last = full_name.partition(" ")
    user = user_model.objects.create_user(
        username=username,
        password=password,
        first_name=first,
        last_name=last,
        # Auditors read the audit trail in the admin too (and nothing else there).
        is_staff=role in (Role.ADMIN, Role.AUDITOR),
        is_superuser=role == Role.ADMIN,
    )
    user.groups.add(role_group(role))
    audit_record(
        action="staff.create",
        category=AuditCategory.CREDENTIAL,
        actor=by,
        target=user,
        detail={"role": role},
    )
    return user, password


def token_issue(
    *, username: str, password: str, request: HttpRequest | None = None
) -> tuple[ApiToken, str]:
    """Exchange a staff user's password for an expiring API token. ``request``: the HTTP
    request that asks, for the authentication backends and signals (never stored)."""
    user = authenticate(request, username=username, password=password)
    if user is None or not user.is_active:
        # Recorded on its own (nothing else is written): the account when the name is one,
        # never the name typed or the password.
        known = get_user_model().objects.filter(username=username).values_list("pk", flat=True)
        audit_record(
            action="token.issue",
            category=AuditCategory.CREDENTIAL,
            outcome=AuditOutcome.REFUSED,
            actor=AnonymousUser(),
            target_type="auth.user" if known else "",
            target_id=known[0] if known else "",
        )
        raise InvalidCredentials()
    key = new_secret("tok")
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            key_digest=secret_digest(key),
            expires_at=timezone.now() + timedelta(hours=settings.STAFF_TOKEN_TTL_HOURS),
        )
        audit_record(
            action="token.issue", category=AuditCategory.CREDENTIAL, actor=user, target=token
        )
    return token, key


@transaction.atomic
def token_revoke(*, token: ApiToken, by: Any = None) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(
            action="token.revoke", category=AuditCategory.CREDENTIAL, actor=by, target=token
        )
