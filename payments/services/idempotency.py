"""The idempotency contract of every POST that moves money (Stripe's semantics).

* no ``Idempotency-Key`` → 400 ``idempotency_key_missing``;
* a new key: the request executes; its response is saved (402, 404 and 409 included, as
  Stripe does) — but not a 400: that request was refused as sent, before anything ran, and
  (as at Stripe, where failed parameter validation saves nothing) the key stays free for
  the corrected request;
* the same key and the same request again → the saved response, replayed (status and body,
  with ``Idempotent-Replayed: true``);
* the same key with a different request → 409 ``idempotency_key_reused``;
* the same key while the first request is still running → it waits briefly for the result,
  then answers 409 ``request_in_progress``;
* a lock older than ``IDEMPOTENCY_LOCK_TIMEOUT_SECONDS`` is taken over (its holder died);
* when the request fails with a server error, the key is released so the client may retry.

No transaction is held while the request executes: the key row is committed as locked
first, so provider calls inside the request never run under a database lock.

The key's own writes (lock, response, release) commit without waiting for the disk flush
(PostgreSQL ``synchronous_commit = off`` for those transactions only). That is safe: the
write-ahead log is flushed in order, so the payment's own (synchronous) commit makes the lock
before it durable too; and a response lost in a crash leaves a lock that goes stale and is
taken over, which resumes the payment the first request committed.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from config.error_responses import exception_handler
from config.errors import DomainError
from config.identity.models import Device
from payments.errors import IdempotencyKeyMissing, IdempotencyKeyReused, RequestInProgress
from payments.models import IdempotencyRecord


@dataclass(frozen=True, slots=True)
class Replay:
    status: int
    body: Any


def client_scope(request: Request) -> str:
    """Keys belong to their client: two kiosks may use the same key independently."""
    user = request.user
    if isinstance(user, Device):
        return f"device:{user.pk}"
    paylink = getattr(request, "pay_link_scope", None)
    if paylink:
        return str(paylink)
    return f"user:{getattr(user, 'pk', 'anonymous')}"


def request_fingerprint(request: Request) -> str:
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _lock_timeout() -> timedelta:
    return timedelta(seconds=settings.IDEMPOTENCY_LOCK_TIMEOUT_SECONDS)


@contextlib.contextmanager
def _key_transaction() -> Iterator[None]:
    """A transaction for the key's own rows, committed without waiting for the flush; inside
    a caller's transaction it is just a savepoint and changes nothing of its durability."""
    relaxed = not connection.in_atomic_block and connection.vendor == "postgresql"
    with transaction.atomic():
        if relaxed:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield


def idempotency_begin(
    *, scope: str, key: str, method: str, path: str, fingerprint: str
) -> IdempotencyRecord | Replay:
    """Lock ``key`` for this request (returning its record), or return what to answer."""
    deadline = time.monotonic() + settings.IDEMPOTENCY_WAIT_SECONDS
    while True:
        now = timezone.now()
        try:
            with _key_transaction():
                return IdempotencyRecord.objects.create(
                    scope=scope,
                    key=key,
                    method=method,
                    path=path,
                    fingerprint=fingerprint,
                    locked_at=now,
                )
        except IntegrityError:
            pass
        record = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
        if record is None:
            continue  # released between our insert and our read: try again
        if record.fingerprint != fingerprint:
            raise IdempotencyKeyReused(param="Idempotency-Key")
        if record.response_status is not None:
            return Replay(record.response_status, record.response_body)
        if record.locked_at is not None and record.locked_at < now - _lock_timeout():
            taken = IdempotencyRecord.objects.filter(
                pk=record.pk, locked_at=record.locked_at, response_status__isnull=True
            ).update(locked_at=now)
            if taken:
                record.locked_at = now
                return record
        if time.monotonic() >= deadline:
            raise RequestInProgress(param="Idempotency-Key")
        time.sleep(0.05)


def idempotency_complete(*, record: IdempotencyRecord, status: int, body: Any) -> None:
    with _key_transaction():
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            response_status=status,
            response_body=body,
            locked_at=None,
            completed_at=timezone.now(),
        )


def idempotency_release(*, record: IdempotencyRecord) -> None:
    with _key_transaction():
        IdempotencyRecord.objects.filter(pk=record.pk, response_status__isnull=True).delete()


def idempotency_prune(*, older_than_hours: int | None = None) -> int:
    """Delete the keys created more than ``older_than_hours`` (the TTL) ago."""
    hours = settings.IDEMPOTENCY_KEY_TTL_HOURS if older_than_hours is None else older_than_hours
    cutoff = timezone.now() - timedelta(hours=hours)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


ViewMethod = Callable[..., Response]


def idempotent(view_method: ViewMethod) -> ViewMethod:
    """Wrap an APIView method with the contract above."""

    @functools.wraps(view_method)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get("Idempotency-Key", "")
        if not key or len(key) > 255:
            raise IdempotencyKeyMissing(param="Idempotency-Key")
        outcome = idempotency_begin(
            scope=client_scope(request),
            key=key,
            method=request.method or "POST",
            path=request.path,
            fingerprint=request_fingerprint(request),
        )
        if isinstance(outcome, Replay):
            return Response(
                outcome.body, status=outcome.status, headers={"Idempotent-Replayed": "true"}
            )
        try:
            response = view_method(view, request, *args, **kwargs)
        except (DomainError, APIException) as exc:
            handled = exception_handler(exc, {"view": view, "request": request})
            if handled is None:  # pragma: no cover - both kinds are always handled
                idempotency_release(record=outcome)
                raise
            response = handled
        except BaseException:
            idempotency_release(record=outcome)
            raise
        if response.status_code >= 500 or response.status_code == 400:
            idempotency_release(record=outcome)
        else:
            idempotency_complete(record=outcome, status=response.status_code, body=response.data)
        return response

    # The OpenAPI schema documents the header (and its limits) on every such operation, and
    # the two conflicts a key can meet among the operation's 409 codes.
    wrapper.requires_idempotency_key = True  # type: ignore[attr-defined]
    wrapper.documented_errors = (IdempotencyKeyReused, RequestInProgress)  # type: ignore[attr-defined]
    return wrapper
