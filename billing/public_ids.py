"""The public ids vienphi mints: payments (``pay_…``), cashier sessions, transfers, refunds,
memo codes, receipt verification codes, message keys. One drawing for all of them, from the
operating system's cryptographic randomness (an id seen by one patient tells nothing about
another's); each kind passes its prefix, alphabet and length. Uniqueness is the database's
job: every such column is unique, and a caller that may collide draws again."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from django.db import migrations, models

HEX = "0123456789abcdef"


def mint_public_id(*, prefix: str = "", alphabet: str = HEX, length: int = 20) -> str:
    """``prefix`` and ``length`` characters drawn from ``alphabet``: by default 80 random
    bits in lower-case hex, as ``pay_3f9c…``."""
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


def public_ids_backfill(model: Any, mint: Callable[[], str], *, batch: int = 1000) -> None:
    """Give every row of ``model`` without a ``public_id`` one drawn by ``mint``, ``batch``
    rows at a time: what a migration that introduces a public id runs between adding the
    column (nullable) and making it unique and required."""
    pending = model.objects.filter(public_id__isnull=True).order_by("pk")
    while True:
        rows = list(pending[:batch])
        if not rows:
            return
        for row in rows:
            row.public_id = mint()
        model.objects.bulk_update(rows, ["public_id"])


def public_id_operations(
    app_label: str,
    model_name: str,
    mint: Callable[[], str],
    backfill: Callable[[Any, Any], None] | None = None,
) -> list[migrations.operations.base.Operation]:
    """The three steps of a migration that gives ``model_name`` a public id: the column,
    nullable; the backfill (by default :func:`public_ids_backfill` with ``mint``); then
    unique and required, drawn by ``mint`` for every new row."""

    def fill(apps: Any, schema_editor: Any) -> None:
        public_ids_backfill(apps.get_model(app_label, model_name), mint)

    return [
        migrations.AddField(
            model_name=model_name,
            name="public_id",
            field=models.CharField(max_length=32, null=True),
        ),
        migrations.RunPython(backfill or fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name=model_name,
            name="public_id",
            field=models.CharField(default=mint, max_length=32, unique=True),
        ),
    ]
