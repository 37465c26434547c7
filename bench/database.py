"""The benchmark's own PostgreSQL database: re-created from scratch, migrated by Django.

Only ``vienphi_bench`` is ever created or dropped; the maintenance connection goes to the
``postgres`` database just to issue ``DROP DATABASE``/``CREATE DATABASE`` for it.
"""

from __future__ import annotations

import os

import psycopg
from psycopg import sql

# BENCH_DB: another name, so that runs of several people on one server do not collide.
BENCH_DB = os.environ.get("BENCH_DB", "vienphi_bench")
SERVER_URL = "postgres://postgres@127.0.0.1:5432"
DATABASE_URL = f"{SERVER_URL}/{BENCH_DB}"
_MAINTENANCE_URL = f"{SERVER_URL}/postgres"


def raw_connect(*, autocommit: bool = False) -> psycopg.Connection:
    """A plain psycopg 3 connection to the bench database (the baselines' side)."""
    return psycopg.connect(DATABASE_URL, autocommit=autocommit)


def database_recreate() -> None:
    """Drop ``vienphi_bench`` (ending sessions still attached to it) and create it empty."""
    name = sql.Identifier(BENCH_DB)
    with psycopg.connect(_MAINTENANCE_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))


def database_drop() -> None:
    with psycopg.connect(_MAINTENANCE_URL, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(BENCH_DB))
        )


def django_setup() -> None:
    """Point Django at the bench database and start it.

    The environment is set before ``django.setup()`` because the settings read it at import.
    DEBUG is forced off: with it on, Django keeps every query in memory.
    """
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    os.environ["DATABASE_URL"] = DATABASE_URL
    os.environ["DJANGO_DEBUG"] = "false"
    import django

    django.setup()


def django_setup_and_migrate() -> None:
    """``django_setup()``, then every migration."""
    from django.core.management import call_command

    django_setup()
    call_command("migrate", verbosity=0, interactive=False)


def server_settings() -> str:
    """The PostgreSQL settings that shape the figures, for the report's header."""
    with raw_connect(autocommit=True) as conn:
        rows = conn.execute(
            "SELECT name, setting FROM pg_settings WHERE name IN "
            "('server_version', 'synchronous_commit', 'fsync', 'shared_buffers', 'work_mem')"
            " ORDER BY name"
        ).fetchall()
    return ", ".join(f"{name}={setting}" for name, setting in rows)
