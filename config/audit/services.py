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
from collections.abc import Mapping
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from config.audit.chain import day_anchor, row_hash
from config.audit.models import ActorKind, AuditCategory, AuditEvent, AuditOutcome
from config.identity.models import Device
from config.request_context import current_client_address, current_request_id

# pg_advisory_xact_lock(class, day): appends to one day's chain take turns until commit.
_CHAIN_LOCK_CLASS = 0x41554454  # "AUDT"

DetailValue = str | int | bool | None | list["DetailValue"] | dict[str, "DetailValue"]


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
    actor: Any = None,
    outcome: AuditOutcome | str = AuditOutcome.SUCCESS,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: str | int = "",
    terminal: str = "",
    detail: Mapping[str, DetailValue] | None = None,
    client_address: str | None = None,
) -> AuditEvent:
    """Append one row to today's chain and return it.

    ``actor``: ``request.user`` (staff user or device), or None for the system.
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
        return AuditEvent.objects.create(**fields, hash=row_hash(fields))
