"""Zalo's wire protocol: ZNS template messages, the Official Account's OAuth tokens, and the
signature of Zalo's webhook. Nothing here touches the database.

**Send** (``POST {ZALO_API_BASE}/message/template``, header ``access_token``)::

    {"phone": "84912345678", "template_id": "353985",
     "template_data": {"receipt_code": "5C26TKA-00000042", ...}, "tracking_id": "vienphi-msg-7"}

Zalo answers HTTP 200 with ``{"error": 0, "message": "Success", "data": {"msg_id",
"sent_time", "quota": {"dailyQuota", "remainingQuota"}}}``, and reports a failure in the
same body with ``error`` < 0 (the HTTP status of an error body is (check): the body is read
whatever the status). The codes, from zalo.cloud's "Cách xử lý mã lỗi" (rows 0, -100…-112)
and clients that handle them (the rest is (check)), are sorted into:

* **no Zalo for this person** (:class:`ZaloRecipientUnavailable`): -118 "Zalo account not
  existed", -114 user inactive / rejects ZNS / outdated app, -119 account cannot receive
  (check), -110 Zalo version unsupported: the next channel, once;
* **token** (:class:`ZaloTokenRejected`): -124 access token invalid, -216, -220 expired or
  removed (check): refresh once, send again once;
* **transient** (:class:`~notifications.backends.TransientSendError`): -100 unknown error,
  HTTP 5xx/429, timeouts, connection errors, an answer that is not JSON: retried with the
  messages' backoff;
* **permanent** (:class:`ZaloPermanentError`): every other code, e.g. -108 phone invalid,
  -109 template id invalid, -112 template data invalid, -115 out of quota (check), -117
  template not permitted (check): the next channel, once, and an error in the log for a
  person (configuration, quota or data).

**Tokens** (``POST {ZALO_OAUTH_BASE}/v4/oa/access_token``, form, header ``secret_key`` = the
app's secret): ``grant_type=refresh_token`` (the refresh token is single-use: every answer
carries a new one) or ``authorization_code``. The answer is ``{"access_token",
"refresh_token", "expires_in"}`` (seconds, a string or a number); an error body carries
``error`` (negative) and ``error_name``/``error_description``. Tokens never reach a log or
an exception's text.

**Webhook**: ``X-ZEvent-Signature`` = SHA-256 hex of ``app_id + raw body + timestamp +
OA secret key`` (plain SHA-256, not an HMAC; possibly prefixed ``mac=``; the timestamp from
the body, else the ``X-ZEvent-Timestamp`` header (check)).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings

from notifications.backends import PermanentSendError, SendError, TransientSendError

# Zalo's answer codes, sorted (see the module docstring).
ZNS_RECIPIENT_UNAVAILABLE = {
    -110: "Zalo version unsupported",
    -114: "user inactive, rejects the message or uses an outdated Zalo",
    -118: "Zalo account not existed",
    -119: "account cannot receive",  # (check)
}
ZNS_TOKEN_REJECTED = {-124, -216, -220}
ZNS_TRANSIENT = {-100}


class ZaloRecipientUnavailable(PermanentSendError):
    """The phone has no Zalo account, or it cannot receive ZNS."""


class ZaloPermanentError(PermanentSendError):
    """A ZNS failure retrying cannot fix (template, data, quota, app): a person must look."""


class ZaloTokenRejected(SendError):
    """Zalo does not accept the access token (expired or revoked)."""


class ZaloAuthorizationError(SendError):
    """Zalo refused to issue tokens (a used or expired refresh token, a wrong app secret):
    the Official Account must be connected again."""


@dataclass(frozen=True)
class ZnsAccepted:
    msg_id: str
    daily_quota: int | None
    remaining_quota: int | None


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int  # seconds

    def __repr__(self) -> str:  # never the tokens, not even in a traceback's locals
        return f"TokenPair(expires_in={self.expires_in})"


def zalo_phone(phone: str) -> str:
    """``0912 345 678`` / ``+84912345678`` → ``84912345678`` (84 + the national number)."""
    digits = re.sub(r"\D", "", phone)
    if digits.startswith("84") and len(digits) >= 11:
        return digits
    return "84" + digits.removeprefix("0")


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _post(what: str, url: str, **request: Any) -> dict[str, Any]:
    """POST to Zalo; its answer as an object. Unreachable, HTTP 5xx/429 or not JSON:
    :class:`TransientSendError`. Other statuses are read like a 200: Zalo reports its
    failures in the body."""
    try:
        response = requests.post(url, timeout=settings.ZALO_TIMEOUT_SECONDS, **request)
    except requests.RequestException as exc:
        raise TransientSendError(f"{what} unreachable: {type(exc).__name__}") from None
    if response.status_code >= 500 or response.status_code == 429:
        raise TransientSendError(f"{what} answered HTTP {response.status_code}")
    try:
        answer = response.json()
    except ValueError:
        raise TransientSendError(f"{what} answered HTTP {response.status_code}, not JSON") from None
    if not isinstance(answer, dict):
        raise TransientSendError(f"{what} answered something that is not an object")
    return answer


def zns_send(
    *,
    phone: str,
    template_id: str,
    template_data: dict[str, str],
    tracking_id: str,
    access_token: str,
) -> ZnsAccepted:
    """Hand one ZNS template message to Zalo. Returns Zalo's ``msg_id`` and the quota;
    raises one of the classes of the module docstring (their text has no personal data)."""
    body: dict[str, Any] = {
        "phone": zalo_phone(phone),
        "template_id": template_id,
        "template_data": template_data,
        "tracking_id": tracking_id,
    }
    if settings.ZALO_DEVELOPMENT_MODE:
        body["mode"] = "development"
    answer = _post(
        "ZNS",
        f"{settings.ZALO_API_BASE.rstrip('/')}/message/template",
        json=body,
        headers={"access_token": access_token},
    )
    code = _int_or_none(answer.get("error"))
    if code == 0:
        data = answer.get("data") or {}
        quota = data.get("quota") or {}
        return ZnsAccepted(
            msg_id=str(data.get("msg_id", "")),
            daily_quota=_int_or_none(quota.get("dailyQuota")),
            remaining_quota=_int_or_none(quota.get("remainingQuota")),
        )
    # Zalo's message text describes the failure; it never quotes the phone or the data.
    text = f"ZNS {code}: {str(answer.get('message', ''))[:120]}"
    if code in ZNS_RECIPIENT_UNAVAILABLE:
        raise ZaloRecipientUnavailable(text)
    if code in ZNS_TOKEN_REJECTED:
        raise ZaloTokenRejected(text)
    if code in ZNS_TRANSIENT or code is None:
        raise TransientSendError(text)
    raise ZaloPermanentError(text)


def _oauth(form: dict[str, str]) -> TokenPair:
    answer = _post(
        "Zalo OAuth",
        f"{settings.ZALO_OAUTH_BASE.rstrip('/')}/v4/oa/access_token",
        data={"app_id": settings.ZALO_APP_ID, **form},
        headers={"secret_key": settings.ZALO_APP_SECRET},
    )
    access, refresh = answer.get("access_token"), answer.get("refresh_token")
    expires_in = _int_or_none(answer.get("expires_in"))
    if not access or not refresh or expires_in is None:
        name = answer.get("error_name") or answer.get("error_description") or "no tokens"
        raise ZaloAuthorizationError(f"Zalo OAuth {answer.get('error', '?')}: {str(name)[:120]}")
    return TokenPair(access_token=str(access), refresh_token=str(refresh), expires_in=expires_in)


def oa_token_refresh(*, refresh_token: str) -> TokenPair:
    """A new pair for a refresh token (which Zalo then no longer accepts)."""
    return _oauth({"grant_type": "refresh_token", "refresh_token": refresh_token})


def oa_token_from_code(*, code: str, code_verifier: str = "") -> TokenPair:
    """The first pair, for the code Zalo gives after the OA's administrator allowed the app."""
    form = {"grant_type": "authorization_code", "code": code}
    if code_verifier:
        form["code_verifier"] = code_verifier
    return _oauth(form)


def webhook_signature(*, app_id: str, body: bytes, timestamp: str, secret: str) -> str:
    material = app_id.encode() + body + timestamp.encode() + secret.encode()
    return hashlib.sha256(material).hexdigest()


def webhook_verify(
    *, body: bytes, event: dict[str, Any], header: str, header_timestamp: str
) -> bool:
    """Whether ``header`` (``X-ZEvent-Signature``) signs ``body`` with our app id and OA
    secret key (compared in constant time)."""
    supplied = header.strip()
    if supplied.lower().startswith("mac="):
        supplied = supplied[4:]
    if not supplied:
        return False
    for timestamp in (str(event.get("timestamp", "")), header_timestamp):
        if timestamp:
            expected = webhook_signature(
                app_id=settings.ZALO_APP_ID,
                body=body,
                timestamp=timestamp,
                secret=settings.ZALO_OA_SECRET_KEY,
            )
            if hmac.compare_digest(expected, supplied.lower()):
                return True
    return False
