"""The test database is copied from a migrated template instead of being migrated from nothing.

Migrating a new test database runs every migration (tens of seconds, over a minute on the
loaded shared machine) in every test process of every run. PostgreSQL copies a database from a
template in about a second (``CREATE DATABASE … TEMPLATE``, which Django does when the
database's ``TEST["TEMPLATE"]`` is set); Django's ``migrate`` then finds nothing to apply.

The template is named after the database and a digest of what a migrated database depends on:
every migration (ours and Django's, with Django's version), every source file of our apps
(data migrations call app code: the chart packs, public ids, statement keys) and the settings
they read (``ACCOUNTING_REGIME``, ``HOSPITAL_CURRENCY``). Any change to those makes a new
template, so a stale one is never used: the template is a cache of ``migrate``'s result for
exactly this code, not state a session left behind. It is built once, by whichever test process
gets there first (under an advisory lock, the others wait and use it), by ``manage.py migrate``
on a database of another name that is renamed only once migrated: an interrupted build leaves
nothing that looks finished. Older templates of the same database are dropped when a new one is
built. With ``--reuse-db`` and an existing test database nothing of this runs.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import django
import psycopg
from django.conf import settings
from django.db.migrations.loader import MigrationLoader

TEMPLATE_MARK = "_tpl_"
MAX_NAME = 63  # PostgreSQL's identifier length


# Our apps, whose code data migrations import (billing.chart, billing.public_ids, …).
APP_PACKAGES = ("billing", "payments", "notifications", "config", "phone", "demo")
# Settings data migrations read.
MIGRATION_SETTINGS = ("ACCOUNTING_REGIME", "HOSPITAL_CURRENCY")


def migrations_digest() -> str:
    """A digest of every migration file Django would apply, of Django's version, of our apps'
    source and of the settings the data migrations read."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    digest = hashlib.sha256(django.get_version().encode())
    for key in sorted(loader.disk_migrations):
        source = Path(sys.modules[loader.disk_migrations[key].__module__].__file__ or "")
        digest.update(f"{key[0]}.{key[1]}".encode())
        digest.update(source.read_bytes())
    root = Path(settings.BASE_DIR)
    for package in APP_PACKAGES:
        for source in sorted((root / package).rglob("*.py")):
            digest.update(str(source.relative_to(root)).encode())
            digest.update(source.read_bytes())
    for name in MIGRATION_SETTINGS:
        digest.update(f"{name}={getattr(settings, name, None)!r}".encode())
    return digest.hexdigest()[:12]


def _maintenance(database: dict[str, Any]) -> psycopg.Connection:
    return psycopg.connect(
        dbname="postgres",
        user=database.get("USER") or None,
        password=database.get("PASSWORD") or None,
        host=database.get("HOST") or None,
        port=database.get("PORT") or None,
        autocommit=True,
    )


def _exists(cursor: psycopg.Cursor, name: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
    return cursor.fetchone() is not None


def _migrate(database: dict[str, Any], name: str) -> None:
    """``manage.py migrate`` on database ``name`` (a process of its own: this one's settings
    and connections stay as they are)."""
    url = "postgres://{user}{password}@{host}{port}/{name}".format(
        user=quote(database.get("USER") or "", safe=""),
        password=f":{quote(database['PASSWORD'], safe='')}" if database.get("PASSWORD") else "",
        host=database.get("HOST") or "",  # none: the local socket, as for the tests
        port=f":{database['PORT']}" if database.get("PORT") else "",
        name=name,
    )
    subprocess.run(  # our own manage.py, with this interpreter
        [sys.executable, "manage.py", "migrate", "--verbosity", "0", "--no-input"],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DATABASE_URL": url},
        check=True,
        capture_output=True,
    )


def _drop_stale(cursor: psycopg.Cursor, prefix: str, *, keep: str) -> None:
    """Drop this database's other templates (older migrations); one still being copied
    from by another run is left for the next build."""
    cursor.execute(
        "SELECT datname FROM pg_database WHERE starts_with(datname, %s) AND datname <> %s",
        [prefix, keep],
    )
    for (stale,) in cursor.fetchall():
        try:
            cursor.execute(f'DROP DATABASE IF EXISTS "{stale}"')
        except psycopg.errors.ObjectInUse:
            continue


def template_database_use() -> None:
    """Build the template if it is missing and have Django copy the test database from it.
    Nothing on a database other than PostgreSQL."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        return
    prefix = f"{database['NAME']}{TEMPLATE_MARK}"
    template = f"{prefix}{migrations_digest()}"
    assert len(template) <= MAX_NAME, template
    with _maintenance(database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(hashtext(%s))", [prefix])
        try:
            if not _exists(cursor, template):
                building = f"{template}_building"
                cursor.execute(f'DROP DATABASE IF EXISTS "{building}"')
                cursor.execute(f'CREATE DATABASE "{building}"')
                _migrate(database, building)
                cursor.execute(f'ALTER DATABASE "{building}" RENAME TO "{template}"')
                _drop_stale(cursor, prefix, keep=template)
        finally:
            cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [prefix])
    database.setdefault("TEST", {})["TEMPLATE"] = template
