"""Running a migration backwards and forwards again on a database that holds rows: how the
tests of a data migration (e.g. a public id's backfill) prove it on real data."""

from __future__ import annotations

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrated_back_and_forth(*, back_to: tuple[str, str], table: str, rows: int) -> None:
    """Unapply migrations down to ``back_to`` (``table`` still holds its ``rows``), then apply
    every migration again; the database ends at the latest migrations whatever happens."""
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        MigrationExecutor(connection).migrate([back_to])
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table}")  # a table the test names
            assert cursor.fetchone() == (rows,)
        MigrationExecutor(connection).migrate(leaves)
    finally:
        MigrationExecutor(connection).migrate(leaves)
