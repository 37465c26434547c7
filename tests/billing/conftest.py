"""Fixtures for the ledger tests: the default chart of accounts, by code.

(Transactional tests end with a TRUNCATE of every table; ``tests/conftest.py`` puts the
migrations' rows back before the next database test, whichever it is.)
"""

from __future__ import annotations

import importlib

import pytest

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
