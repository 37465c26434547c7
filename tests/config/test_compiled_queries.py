"""``config.compiled``: a queryset compiled once per connection sends the queryset's own
SQL and makes the same objects as Django, for each set of values, on each thread's
connection, and refuses what it cannot run as Django would; an insert compiled once writes
the rows ``bulk_create`` writes (and its upsert updates the row that clashes)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from config.compiled import CompiledInsert, CompiledQuery
from notifications.models import Message, Receipt, ReceiptPdf
from payments.models import Payment
from tests.concurrency import run_at_once
from tests.notifications.builders import issued, paid, receipt_invoice

pytestmark = pytest.mark.django_db


def _payments(payment_id: int) -> QuerySet[Payment]:
    receipt = Receipt.objects.filter(payment=OuterRef("pk"), refund__isnull=True).order_by()
    return (
        Payment.objects.select_related("created_by_device", "invoice__patient", "encounter")
        .annotate(receipt_number=Subquery(receipt.values("number")[:1]))
        .filter(pk=payment_id)
    )


def _fields(obj: Any) -> dict[str, Any]:
    return {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}


def test_a_compiled_query_sends_the_querysets_sql_and_makes_the_same_objects() -> None:
    invoice = receipt_invoice()
    first, second = paid(invoice=invoice, amount=1_000), paid(invoice=invoice, amount=2_000)
    Receipt.objects.filter(pk=issued(invoice=invoice, amount=3_000).pk)  # one with a receipt
    first = Payment.objects.get(receipts__isnull=False)
    compiled = CompiledQuery(_payments, payment_id=int)

    for payment in (first, second, first):
        with CaptureQueriesContext(connection) as sent:
            found = compiled.all(payment_id=payment.pk)
        django = list(_payments(payment.pk))
        with CaptureQueriesContext(connection) as django_sent:
            list(_payments(payment.pk))

        assert [query["sql"] for query in sent] == [query["sql"] for query in django_sent]
        assert len(found) == len(django) == 1
        ours, theirs = found[0], django[0]
        assert _fields(ours) == _fields(theirs)
        assert ours.receipt_number == theirs.receipt_number  # type: ignore[attr-defined]
        with CaptureQueriesContext(connection) as lazy:
            assert ours.invoice is not None
            assert theirs.invoice is not None
            assert _fields(ours.invoice) == _fields(theirs.invoice)
            assert _fields(ours.invoice.patient) == _fields(theirs.invoice.patient)
            assert ours.encounter is None
            assert ours.created_by_device is None
        assert not lazy.captured_queries  # the related rows came with the payment
    assert compiled.first(payment_id=-1) is None


def test_a_compiled_query_converts_values_as_django_does() -> None:
    """A receipt's JSON content comes back parsed, as from the queryset."""
    receipt = Receipt.objects.get(pk=issued().pk)
    compiled = CompiledQuery(lambda pk: Receipt.objects.filter(pk=pk), pk=int)

    found = compiled.first(pk=receipt.pk)

    assert found is not None
    assert isinstance(found.content, dict)
    assert _fields(found) == _fields(receipt)
    assert found._state.adding is False
    assert found._state.db == "default"


@pytest.mark.django_db(transaction=True)
def test_a_compiled_locking_query_runs_only_inside_a_transaction() -> None:
    payment = paid(invoice=receipt_invoice())
    locked = CompiledQuery(
        lambda pk: Payment.objects.select_for_update(no_key=True).filter(pk=pk), pk=int
    )

    with transaction.atomic(), CaptureQueriesContext(connection) as sent:
        assert locked.first(pk=payment.pk) == payment
    assert sent.captured_queries[-1]["sql"].endswith("FOR NO KEY UPDATE")
    with pytest.raises(TransactionManagementError):
        locked.first(pk=payment.pk)


@pytest.mark.parametrize(
    "build",
    [
        lambda pk: Payment.objects.filter(pk=pk + 1),  # a value changed on the way
        lambda pk: Payment.objects.all(),  # a value not used
        lambda pk: Payment.objects.filter(amount__gte=1000 if pk > 0 else 0),
    ],
)
def test_a_query_that_does_not_take_its_values_as_given_is_refused(build: Any) -> None:
    with pytest.raises(ValueError, match="CompiledQuery"):
        CompiledQuery(build, pk=int).all(pk=1)


def test_values_of_another_type_are_refused() -> None:
    with pytest.raises(TypeError):
        CompiledQuery(lambda pk: Payment.objects.filter(pk=pk), pk=float)
    compiled = CompiledQuery(lambda pk: Payment.objects.filter(pk=pk), pk=int)
    with pytest.raises(TypeError):
        compiled.all(pk="1")


@pytest.mark.django_db(transaction=True)
def test_each_threads_connection_compiles_its_own_and_finds_its_own_rows() -> None:
    invoice = receipt_invoice(phone="", email="")
    payments = [paid(invoice=invoice, amount=1_000 * (i + 1)) for i in range(6)]
    builds: list[int] = []

    def build(payment_id: int) -> QuerySet[Payment]:
        builds.append(payment_id)
        return _payments(payment_id)

    compiled = CompiledQuery(build, payment_id=int)

    def read(index: int) -> list[int]:
        return [
            compiled.all(payment_id=payments[(index + turn) % 6].pk)[0].amount for turn in range(6)
        ]

    outcomes = run_at_once(6, read)

    for index, amounts in enumerate(outcomes):
        assert amounts == [1_000 * ((index + turn) % 6 + 1) for turn in range(6)], outcomes
    assert len(builds) == 6 * 2  # twice (two sets of samples) per connection, then never


def _row(obj: Any, *skip: str) -> dict[str, Any]:
    return {name: value for name, value in _fields(obj).items() if name not in skip}


def test_a_compiled_insert_writes_the_rows_bulk_create_writes() -> None:
    """Two messages (JSON fields, automatic times) written by one INSERT read back as the
    same rows as bulk_create's, with their keys set on the objects."""
    receipt = issued()
    template = Message.objects.filter(receipt=receipt).first()
    assert template is not None
    fields = _row(template, "id", "public_id", "dedupe_key", "created_at", "updated_at")
    fields["zns_template_data"] = {"amount": "120.000", "nested": [1, "hai"]}

    def new(key: str) -> Message:
        return Message(**{**fields, "dedupe_key": key})

    ours = CompiledInsert(Message).insert([new("ours-1"), new("ours-2")])
    theirs = Message.objects.bulk_create([new("theirs-1"), new("theirs-2")])

    assert all(obj.pk is not None and not obj._state.adding for obj in ours)
    skip = ("id", "public_id", "dedupe_key", "created_at", "updated_at")
    for mine, django in zip(ours, theirs, strict=True):
        stored, expected = Message.objects.get(pk=mine.pk), Message.objects.get(pk=django.pk)
        assert _row(stored, *skip) == _row(expected, *skip)
        assert stored.public_id == mine.public_id
        assert stored.created_at == mine.created_at
        assert stored.created_at is not None


def test_a_compiled_upsert_updates_the_row_that_clashes() -> None:
    receipt = issued()
    upsert = CompiledInsert(
        ReceiptPdf, unique_fields=("receipt", "layout"), update_fields=("path", "size")
    )

    [first] = upsert.insert([ReceiptPdf(receipt=receipt, layout="a4", path="one.pdf", size=1)])
    [again] = upsert.insert([ReceiptPdf(receipt=receipt, layout="a4", path="two.pdf", size=2)])

    stored = ReceiptPdf.objects.get(receipt=receipt, layout="a4")
    assert again.pk == first.pk == stored.pk
    assert (stored.path, stored.size, stored.created_at) == ("two.pdf", 2, first.created_at)
