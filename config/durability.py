"""Commits that need not wait for the disk: PostgreSQL's ``synchronous_commit = off``.

A durable commit waits until its WAL is flushed to disk (an fsync: 0.1 ms on an idle disk,
2 ms and more on a busy one). With ``synchronous_commit`` off, the commit returns once the
WAL is written to the server's buffers; it is on disk within three ``wal_writer_delay``
(600 ms by default). Nothing is ever half-written or inconsistent — a crash of the
*database server* may only lose the last such commits whole, as if they had not happened
(PostgreSQL documentation, "Asynchronous Commit" in the chapter on reliability and
the WAL, and the `synchronous_commit` setting). A crash of the app loses nothing.

So it is for writes that the app redoes by itself when they are lost, never for money,
numbers or anything a person was already shown as done. Today: what a receipt's task does
once the receipt is committed (durably) — a message's claim and its ``sent`` mark (lost:
beat sends it again with the same gateway request id, which eSMS does not send twice) and
the row of a stored PDF (lost: beat renders it again).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


@contextmanager
def commits_unflushed() -> Iterator[bool]:
    """Inside, this connection's commits do not wait for the disk (see the module); yields
    whether that is so: not on SQLite, and not inside an ``atomic`` block (the setting
    would outlive the block or be undone with it — the caller's transaction decides)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield False
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    try:
        yield True
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")
        except Exception:
            # A connection that cannot take a RESET is broken: closed, never reused with
            # the setting left on.
            connection.close()
            raise
