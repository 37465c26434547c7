"""Gap-free document numbers (invoices here; receipts in notifications)."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from billing.models import DocumentSequence


def sequence_next(*, series: str, year: int) -> int:
    """The next number of ``series`` in ``year`` (1, 2, 3, … restarting each year).

    Must run inside the transaction that issues the document: the sequence row stays
    locked until that transaction ends, and a rollback returns the number, so numbers are
    unique and contiguous even with many terminals issuing at once."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("sequence_next must run inside the issuing transaction")
    sequence = DocumentSequence.objects.select_for_update().filter(series=series, year=year).first()
    if sequence is None:
        try:
            with transaction.atomic():
                DocumentSequence.objects.create(series=series, year=year, last_number=0)
        except IntegrityError:
            pass  # another transaction created it first; lock theirs
        sequence = DocumentSequence.objects.select_for_update().get(series=series, year=year)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return sequence.last_number
