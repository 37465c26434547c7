"""``commits_unflushed``: commits that do not wait for the disk, on this connection only,
for as long as the block lasts — also when it ends with an error — and never inside a
caller's transaction."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from config.durability import commits_unflushed

pytestmark = pytest.mark.django_db(transaction=True)


def _setting() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return str(cursor.fetchone()[0])


def test_inside_commits_do_not_wait_for_the_disk_and_after_they_do_again() -> None:
    with commits_unflushed() as unflushed:
        inside = _setting()

    assert (unflushed, inside, _setting()) == (True, "off", "on")


def test_an_error_inside_leaves_the_connection_as_it_was() -> None:
    with pytest.raises(ZeroDivisionError), commits_unflushed():
        1 / 0  # noqa: B018 - the error is the point

    assert _setting() == "on"


def test_inside_a_callers_transaction_nothing_changes() -> None:
    with transaction.atomic(), commits_unflushed() as unflushed:
        inside = _setting()

    assert (unflushed, inside, _setting()) == (False, "on", "on")
