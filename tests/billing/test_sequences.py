"""``sequence_next``: gap-free numbers per series and year, one statement each once the
year's row exists, the row locked until the issuing transaction ends; on PostgreSQL with
real threads for the races (the year's first number included)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from billing.models import DocumentSequence
from billing.services.sequences import sequence_next
from tests.concurrency import run_at_once, wait_for_a_lock_wait


class RolledBack(Exception):
    pass


def _next(series: str, year: int) -> int:
    with transaction.atomic():
        return sequence_next(series=series, year=year)


@pytest.mark.django_db
def test_numbers_count_from_one_per_series_and_restart_each_year() -> None:
    assert [_next("test:A", 2026) for _ in range(3)] == [1, 2, 3]
    assert _next("test:B", 2026) == 1
    assert [_next("test:A", 2027) for _ in range(2)] == [1, 2]
    assert _next("test:A", 2026) == 4
    assert DocumentSequence.objects.get(series="test:A", year=2026).last_number == 4


@pytest.mark.django_db
def test_a_number_is_one_statement_once_the_years_row_exists() -> None:
    _next("test:A", 2026)

    with transaction.atomic(), CaptureQueriesContext(connection) as sent:
        assert sequence_next(series="test:A", year=2026) == 2

    assert len(sent.captured_queries) == 1
    assert sent.captured_queries[0]["sql"].startswith('UPDATE "billing_documentsequence"')


@pytest.mark.django_db(transaction=True)
def test_a_number_is_taken_only_inside_the_issuing_transaction() -> None:
    with pytest.raises(RuntimeError):
        sequence_next(series="test:A", year=2026)
    assert not DocumentSequence.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_many_issuers_at_once_from_the_years_first_number_get_contiguous_numbers() -> None:
    """Sixteen transactions take a number of a year with no row yet, at once; every other
    one rolls back: the eight that commit hold 1 to 8, each once."""

    def issue(index: int) -> int:
        with transaction.atomic():
            number = sequence_next(series="test:race", year=2030)
            if index % 2:
                raise RolledBack()
            return number

    outcomes = run_at_once(16, issue)

    assert sum(isinstance(outcome, RolledBack) for outcome in outcomes) == 8
    committed = [outcome for outcome in outcomes if isinstance(outcome, int)]
    assert sorted(committed) == list(range(1, 9)), outcomes
    assert DocumentSequence.objects.get(series="test:race", year=2030).last_number == 8


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first_commits", [True, False])
def test_the_row_stays_locked_until_the_issuing_transaction_ends(first_commits: bool) -> None:
    """A second issuer waits while the first transaction holds its number, then gets the
    next one — or the same one, when the first rolls back."""
    _next("test:lock", 2026)  # the row exists: the one-statement path
    taken, end = threading.Event(), threading.Event()
    numbers: dict[str, int] = {}

    def first() -> None:
        try:
            with transaction.atomic():
                numbers["first"] = sequence_next(series="test:lock", year=2026)
                taken.set()
                end.wait(timeout=30)
                if not first_commits:
                    raise RolledBack()
        except RolledBack:
            pass
        finally:
            connection.close()

    def second() -> None:
        try:
            taken.wait(timeout=30)
            numbers["second"] = _next("test:lock", 2026)
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    assert taken.wait(timeout=30)
    wait_for_a_lock_wait("the second issuer")
    assert "second" not in numbers
    end.set()
    for thread in threads:
        thread.join(timeout=30)

    assert numbers["first"] == 2
    assert numbers["second"] == (3 if first_commits else 2)
