"""The journal-line columns a benchmark does not choose itself, with what the app writes.

The raw baselines and the fill set entry, account, debit and credit; every other column of
``billing_journalline`` gets the model field's default, which is what ``ledger_post`` writes
when a ``Posting`` leaves it unset. Read from the model, so a column added to the ledger
does not break the baselines.
"""

from __future__ import annotations

from typing import Any

from psycopg import sql

_CHOSEN = {"id", "entry_id", "account_id", "debit", "credit"}


def line_defaults() -> dict[str, Any]:
    from django.db import connection

    from billing.models import JournalLine

    return {
        field.column: field.get_db_prep_save(field.get_default(), connection)
        for field in JournalLine._meta.concrete_fields
        if field.column not in _CHOSEN
    }


def line_insert_columns(defaults: dict[str, Any]) -> sql.Composable:
    """``entry_id, account_id, debit, credit`` and then the defaulted columns."""
    names = ["entry_id", "account_id", "debit", "credit", *defaults]
    return sql.SQL(", ").join(sql.Identifier(name) for name in names)


def line_default_values(defaults: dict[str, Any]) -> sql.Composable:
    """The defaults as SQL literals, in :func:`line_insert_columns` order (empty if none)."""
    return sql.SQL("").join(sql.SQL(", {}").format(sql.Literal(v)) for v in defaults.values())
