"""The Zalo Official Account's access token: stored encrypted, kept fresh, refreshed once.

Zalo's access token lives about 25 hours (use ``expires_in``, never a constant) and its
refresh token is **single-use**: a refresh answers a new pair and the old refresh token is
dead. Two workers refreshing with the same refresh token would see one of them refused, or
worse, overwrite the good pair with nothing. So a refresh is claimed with a **lease** on the
token row, taken by one conditional ``UPDATE`` that commits at once (``version`` still the
one the caller saw, no live lease); the claimant calls Zalo with **no transaction or row
lock held**, then writes the new pair with ``version + 1`` only if the version is still the
one it claimed. Everyone else waits (polling the row) until the version moves and uses the
new token. A lease outlives the HTTP timeout, so it only expires under a worker that died
mid-call; the next claimant then tries the old refresh token and, if Zalo refuses it, the
row is marked ``needs_authorization`` and messages go by the next channel.

Tokens are encrypted at rest with Fernet (``ZALO_TOKEN_ENCRYPTION_KEYS``, newest first; the
others only decrypt, for rotation) and never logged, nor put in task arguments.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q
from django.utils import timezone

from notifications.backends import SendError, TransientSendError
from notifications.backends.zalo import (
    TokenPair,
    ZaloAuthorizationError,
    ZnsAccepted,
    oa_token_from_code,
    oa_token_refresh,
)
from notifications.models import ZaloToken

logger = logging.getLogger(__name__)

WAIT_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class AccessToken:
    value: str
    version: int

    def __repr__(self) -> str:  # never the token
        return f"AccessToken(version={self.version})"


def lease_seconds() -> float:
    """How long a refresh claim lasts: longer than Zalo's HTTP call can take (connect and
    read timeouts each), so it only runs out under a worker that died."""
    return 3 * settings.ZALO_TIMEOUT_SECONDS + 5


def _fernet_key(secret: str) -> bytes:
    """A key as ``Fernet.generate_key()`` prints it is used as is; any other secret is
    stretched to one with SHA-256."""
    try:
        if len(base64.urlsafe_b64decode(secret.encode())) == 32 and len(secret) == 44:
            return secret.encode()
    except (binascii.Error, ValueError):
        pass
    digest = hashlib.sha256(b"vienphi zalo tokens:" + secret.encode()).digest()
    return base64.urlsafe_b64encode(digest)


def _fernet() -> MultiFernet:
    keys = settings.ZALO_TOKEN_ENCRYPTION_KEYS or [f"derived-from-secret-key:{settings.SECRET_KEY}"]
    return MultiFernet([Fernet(_fernet_key(key)) for key in keys])


def token_encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def token_decrypt(value: str) -> str:
    try:
        return _fernet().decrypt(value.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "ZALO_TOKEN_ENCRYPTION_KEYS cannot decrypt the stored Zalo tokens (a key was "
            "removed?): keep the old key after the new one, or connect the OA again"
        ) from None


def _row() -> ZaloToken | None:
    return ZaloToken.objects.filter(app_id=settings.ZALO_APP_ID).first()


def zalo_connected() -> bool:
    """Whether the Official Account has a usable pair for this app."""
    return ZaloToken.objects.filter(app_id=settings.ZALO_APP_ID, needs_authorization=False).exists()


def _store(pair: TokenPair) -> ZaloToken:
    now = timezone.now()
    fields = {
        "access_token_encrypted": token_encrypt(pair.access_token),
        "refresh_token_encrypted": token_encrypt(pair.refresh_token),
        "expires_at": now + timedelta(seconds=pair.expires_in),
        "lease_until": None,
        "lease_owner": "",
        "needs_authorization": False,
        "last_error": "",
        "refreshed_at": now,
    }
    row, created = ZaloToken.objects.get_or_create(app_id=settings.ZALO_APP_ID, defaults=fields)
    if not created:
        for name, value in fields.items():
            setattr(row, name, value)
        row.version += 1
        row.save()
    return row


def zalo_connect(*, refresh_token: str = "", code: str = "", code_verifier: str = "") -> ZaloToken:
    """Connect the Official Account: exchange an authorization code (from Zalo's permission
    page) or a refresh token (from Zalo's API explorer) for a pair, and store it encrypted.
    Replaces any pair stored before (a new version)."""
    if code:
        pair = oa_token_from_code(code=code, code_verifier=code_verifier)
    elif refresh_token:
        pair = oa_token_refresh(refresh_token=refresh_token)
    else:
        raise ValueError("a refresh token or an authorization code is needed")
    row = _store(pair)
    logger.info("zalo official account connected for app %s (version %s)", row.app_id, row.version)
    return row


def zalo_access_token() -> AccessToken:
    """The current access token, refreshed first when it has expired. Raises
    :class:`ZaloAuthorizationError` when the OA is not connected (or must be again)."""
    row = _row()
    if row is None or row.needs_authorization:
        raise ZaloAuthorizationError("the Zalo Official Account is not connected")
    if row.expires_at <= timezone.now():
        return zalo_token_refresh(seen_version=row.version)
    return AccessToken(value=token_decrypt(row.access_token_encrypted), version=row.version)


def zalo_token_refresh(*, seen_version: int) -> AccessToken:
    """A token newer than ``seen_version`` (the version whose token Zalo refused, or that is
    about to expire). Exactly one caller per version calls Zalo (lease, see the module
    docstring); the others wait for its result. No transaction or lock is held while Zalo
    is called. Raises :class:`ZaloAuthorizationError` when Zalo refuses the refresh token
    (the row is marked ``needs_authorization``), :class:`TransientSendError` when Zalo
    cannot be reached or another claimant's refresh does not finish within its lease."""
    owner = uuid.uuid4().hex
    deadline = time.monotonic() + 2 * lease_seconds()
    while True:
        now = timezone.now()
        claimed = (
            ZaloToken.objects.filter(
                app_id=settings.ZALO_APP_ID, version=seen_version, needs_authorization=False
            )
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now))
            .update(lease_until=now + timedelta(seconds=lease_seconds()), lease_owner=owner)
        )
        if claimed:
            return _refresh_claimed(owner=owner, version=seen_version)
        row = _row()
        if row is None or row.needs_authorization:
            raise ZaloAuthorizationError("the Zalo Official Account is not connected")
        if row.version != seen_version:  # refreshed by someone else meanwhile
            return AccessToken(value=token_decrypt(row.access_token_encrypted), version=row.version)
        if time.monotonic() > deadline:
            raise TransientSendError("another worker's Zalo token refresh did not finish")
        time.sleep(WAIT_POLL_SECONDS)


def _refresh_claimed(*, owner: str, version: int) -> AccessToken:
    row = ZaloToken.objects.get(app_id=settings.ZALO_APP_ID)
    mine = ZaloToken.objects.filter(pk=row.pk, lease_owner=owner)
    try:
        pair = oa_token_refresh(refresh_token=token_decrypt(row.refresh_token_encrypted))
    except ZaloAuthorizationError as error:
        mine.update(
            needs_authorization=True, last_error=str(error)[:200], lease_until=None, lease_owner=""
        )
        logger.error(
            "zalo refused the refresh token (%s): connect the Official Account again", error
        )
        raise
    except SendError:
        mine.update(lease_until=None, lease_owner="")
        raise
    now = timezone.now()
    written = ZaloToken.objects.filter(pk=row.pk, version=version).update(
        access_token_encrypted=token_encrypt(pair.access_token),
        refresh_token_encrypted=token_encrypt(pair.refresh_token),
        expires_at=now + timedelta(seconds=pair.expires_in),
        version=version + 1,
        lease_until=None,
        lease_owner="",
        refreshed_at=now,
        last_error="",
    )
    if not written:  # our lease ran out and another claimant stored a pair first
        logger.error("zalo token refresh finished after its lease: keeping the newer pair")
        current = ZaloToken.objects.get(pk=row.pk)
        return AccessToken(token_decrypt(current.access_token_encrypted), current.version)
    logger.info("zalo access token refreshed (version %s)", version + 1)
    return AccessToken(value=pair.access_token, version=version + 1)


def zalo_token_refresh_due() -> bool:
    """Beat: refresh the access token when less than ``ZALO_TOKEN_REFRESH_MARGIN_MINUTES``
    remain. True when a new token was stored (by this call or a concurrent one)."""
    row = _row()
    if row is None or row.needs_authorization:
        return False
    margin = timedelta(minutes=settings.ZALO_TOKEN_REFRESH_MARGIN_MINUTES)
    if row.expires_at - timezone.now() > margin:
        return False
    return zalo_token_refresh(seen_version=row.version).version > row.version


def zalo_quota_record(*, accepted: ZnsAccepted) -> None:
    """The ZNS quota Zalo reported with a send (shown in the admin)."""
    if accepted.daily_quota is None and accepted.remaining_quota is None:
        return
    ZaloToken.objects.filter(app_id=settings.ZALO_APP_ID).update(
        daily_quota=accepted.daily_quota,
        remaining_quota=accepted.remaining_quota,
        quota_seen_at=timezone.now(),
    )
