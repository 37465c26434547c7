"""The migrated template the test databases are copied from is keyed by what a migrated
database depends on (tests/database_template.py), so a stale one is never used."""

from __future__ import annotations

from tests.database_template import migrations_digest


def test_the_digest_is_the_same_for_the_same_code_and_settings() -> None:
    assert migrations_digest() == migrations_digest()


def test_the_digest_changes_with_the_accounting_regime_the_chart_migration_reads(
    settings,
) -> None:
    settings.ACCOUNTING_REGIME = "tt24_2024"
    public = migrations_digest()
    settings.ACCOUNTING_REGIME = "tt99_2025"
    assert migrations_digest() != public


def test_the_digest_changes_with_the_currency_the_drawer_migration_reads(settings) -> None:
    settings.HOSPITAL_CURRENCY = "VND"
    dong = migrations_digest()
    settings.HOSPITAL_CURRENCY = "USD"
    assert migrations_digest() != dong
