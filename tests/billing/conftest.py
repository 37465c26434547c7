"""Fixtures for the ledger tests: the default chart of accounts, whatever ran before.

Transactional tests (``django_db(transaction=True)``) end with a TRUNCATE of every table,
which also removes the rows that data migrations loaded (the chart of accounts, the role
groups, ...). The ``chart`` fixture puts the chart back when it is missing, so each ledger
test can run alone, first, or after any other; ``leave_database_as_found`` puts everything
back at the end of a module of transactional tests, for the tests that run after it.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connection
from pytest_django import DjangoDbBlocker

from billing.models import Account

CHART_MIGRATION = importlib.import_module("billing.migrations.0003_chart_of_accounts_and_roles")
CHART_CODES: list[str] = [code for code, _name, _type in CHART_MIGRATION.CHART]


@pytest.fixture
def chart(db: None) -> dict[str, Account]:
    """The default chart of accounts (all VND), by code."""
    for code, name, account_type in CHART_MIGRATION.CHART:
        Account.objects.get_or_create(
            code=code, defaults={"name": name, "type": account_type, "currency": "VND"}
        )
    return {account.code: account for account in Account.objects.filter(code__in=CHART_CODES)}


@pytest.fixture(scope="module")
def leave_database_as_found(
    django_db_setup: None, django_db_blocker: DjangoDbBlocker
) -> Iterator[None]:
    """For a module of transactional tests: restore, once its last test has truncated every
    table, the rows the database held before its first test (Django's serialized rollback,
    done once per module instead of before every test)."""
    with django_db_blocker.unblock():
        found = connection.creation.serialize_db_to_string()
    yield
    with django_db_blocker.unblock():
        if connection.creation.serialize_db_to_string() != found:
            call_command("flush", interactive=False, verbosity=0, inhibit_post_migrate=True)
            connection.creation.deserialize_db_from_string(found)
            _reset_sequences()


def _reset_sequences() -> None:
    """Rows restored with their ids leave the id sequences behind them (TRUNCATE reset
    them): move every sequence past its table's highest id, or the next insert collides."""
    statements = connection.ops.sequence_reset_sql(no_style(), apps.get_models())
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
