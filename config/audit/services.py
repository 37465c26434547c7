"""``audit_record``: the one writer of the audit trail, callable from any app.

    from config.audit.services import audit_record
    audit_record(action="refund.approve", category=AuditCategory.APPROVAL,
                 actor=request.user, target=refund, detail={"amount": 600000})

It joins the caller's transaction, so the row commits (or rolls back) with the action it
records: call it as the last write of that transaction. A refused action whose
transaction rolls back is recorded after the rollback, in a transaction of its own.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from config.audit.chain import day_anchor, row_hash
from config.audit.models import ActorKind, AuditCategory, AuditEvent, AuditOutcome
from config.identity.models import Device
from config.request_context import current_caller, current_client_address, current_request_id

# pg_advisory_xact_lock(class, day): appends to one day's chain take turns until commit.
_CHAIN_LOCK_CLASS = 0x41554454  # "AUDT"

DetailValue = str | int | bool | None | list["DetailValue"] | dict[str, "DetailValue"]

# ``actor`` not given: the current request's caller (or the system).
CALLER: Any = object()

# The actions whose rows committed during the current request (``recording``).
_committed: ContextVar[set[str] | None] = ContextVar("vienphi_audit_committed", default=None)


@contextmanager
def recording() -> Iterator[set[str]]:
    """Collects, for the block (a request), the actions whose audit rows committed: the
    middleware records a refusal only for a request that recorded nothing."""
    actions: set[str] = set()
    token = _committed.set(actions)
    try:
        yield actions
    finally:
        _committed.reset(token)


def _check_detail(value: Any, path: str = "detail") -> None:
    """Amounts are integers and the detail is hashed as JSON: floats (and any other type)
    would not read back the same."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{path}: keys must be strings")
            _check_detail(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_detail(item, f"{path}[{index}]")
    elif value is not None and not isinstance(value, str | int | bool):
        raise TypeError(f"{path}: {type(value).__name__} is not allowed in an audit detail")


def actor_fields(actor: Any) -> dict[str, str]:
    """Who acted: a staff user, a device, the public (a pay link) or the system (None)."""
    if actor is None:
        return {"actor_kind": ActorKind.SYSTEM, "actor_id": "", "actor_label": ""}
    if isinstance(actor, Device):
        return {
            "actor_kind": ActorKind.DEVICE,
            "actor_id": str(actor.pk),
            "actor_label": actor.name,
        }
    if getattr(actor, "is_authenticated", False) and hasattr(actor, "get_username"):
        return {
            "actor_kind": ActorKind.STAFF,
            "actor_id": str(actor.pk),
            "actor_label": actor.get_username(),
        }
    return {"actor_kind": ActorKind.PUBLIC, "actor_id": "", "actor_label": ""}


def _address(value: str | None) -> str:
    if not value:
        return ""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return ""


def target_fields(target: models.Model | None, target_type: str, target_id: str) -> dict[str, str]:
    if target is not None:
        meta = target._meta
        return {"target_type": f"{meta.app_label}.{meta.model_name}", "target_id": str(target.pk)}
    return {"target_type": target_type, "target_id": str(target_id)}


def audit_record(
    *,
    action: str,
    category: AuditCategory | str,
    actor: Any = CALLER,
    outcome: AuditOutcome | str = AuditOutcome.SUCCESS,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: str | int = "",
    terminal: str = "",
    detail: Mapping[str, DetailValue] | None = None,
    client_address: str | None = None,
) -> AuditEvent:
    """Append one row to today's chain and return it.

    ``actor``: a staff user or device, None for the system; by default the current
    request's caller (the system outside a request).
    ``target``: the model instance acted on (or ``target_type``/``target_id``).
    ``detail``: amounts, currencies, codes and ids only, never personal data.
    The client's address and the request id come from the current request (or the task
    it caused) unless ``client_address`` is given. Appends of one day take turns on a
    transaction-scoped advisory lock on PostgreSQL, held until the caller's commit.
    """
    if category not in AuditCategory.values:
        raise ValueError(f"unknown audit category {category!r}")
    if outcome not in AuditOutcome.values:
        raise ValueError(f"unknown audit outcome {outcome!r}")
    payload = dict(detail or {})
    _check_detail(payload)
    if actor is CALLER:
        actor = current_caller()
    with transaction.atomic(savepoint=False):
        day = timezone.localdate()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(%s, %s)", [_CHAIN_LOCK_CLASS, day.toordinal()]
                )
        last = AuditEvent.objects.filter(day=day).order_by("-seq").values("seq", "hash").first()
        fields: dict[str, Any] = {
            "day": day,
            "seq": last["seq"] + 1 if last else 1,
            # Taken under the lock: a day's rows are in time order.
            "occurred_at": timezone.now(),
            "category": str(category),
            "action": action,
            "outcome": str(outcome),
            **actor_fields(actor),
            "terminal": terminal,
            **target_fields(target, target_type, str(target_id)),
            "client_address": _address(client_address or current_client_address()),
            "request_id": current_request_id(),
            "detail": payload,
            "prev_hash": last["hash"] if last else day_anchor(day),
        }
        event = AuditEvent.objects.create(**fields, hash=row_hash(fields))
        committed = _committed.get()
        if committed is not None:
            transaction.on_commit(lambda: committed.add(action))
        return event


def audit_change(
    action: str,
    target: models.Model,
    fields: tuple[str, ...],
    *,
    category: AuditCategory | str = AuditCategory.MONEY,
    actor: Any = CALLER,
    outcome: AuditOutcome | str = AuditOutcome.SUCCESS,
    terminal: str = "",
    **extra: DetailValue,
) -> AuditEvent:
    """``audit_record`` of a change to ``target`` whose detail is the named ``fields`` of
    it (amounts, currency, status, ids: never personal data) and ``extra``."""
    detail: dict[str, DetailValue] = {name: getattr(target, name) for name in fields}
    return audit_record(
        action=action,
        category=category,
        actor=actor,
        outcome=outcome,
        target=target,
        terminal=terminal,
        detail=detail | extra,
    )
