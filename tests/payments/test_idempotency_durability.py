"""The idempotency key's own rows commit without waiting for the disk flush; that must
never weaken the durability of a transaction the caller opened."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from payments.models import IdempotencyRecord
from payments.services.idempotency import idempotency_begin
from tests.payments.builders.payments import new_key


def _synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return str(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_the_keys_relaxed_commit_never_leaks_into_a_callers_transaction():
    """The key's rows commit without waiting for the flush; a caller's transaction (where a
    payment might be written) keeps full durability."""
    with transaction.atomic():
        idempotency_begin(scope="user:1", key=new_key(), method="POST", path="/x", fingerprint="f")
        assert _synchronous_commit() == "on"

    record = idempotency_begin(
        scope="user:1", key=new_key(), method="POST", path="/x", fingerprint="f"
    )
    assert isinstance(record, IdempotencyRecord)
    assert _synchronous_commit() == "on"  # SET LOCAL ended with the key's own transaction
