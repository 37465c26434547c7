"""Invoices are known outside by a random public id (``inv_…``), never by their integer key:
the API answers and takes only the public id, and the migration that introduced it gave one
to every invoice already issued."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from billing.models import Invoice
from config.identity.models import Role
from tests.assertions import assert_error
from tests.billing.builders import visit_invoice
from tests.migrations import migrated_back_and_forth

PUBLIC_ID = re.compile(r"\Ainv_[0-9a-f]{20}\Z")


def test_an_invoice_is_known_by_a_random_public_id_and_not_by_its_key(
    staff_client: Callable[..., APIClient],
) -> None:
    first, second = visit_invoice(100_000), visit_invoice(100_000)
    cashier = staff_client(Role.CASHIER)

    body = cashier.get(f"/api/v1/invoices/{first.public_id}").json()

    assert PUBLIC_ID.match(body["id"])
    assert body["id"] == first.public_id
    assert first.public_id != second.public_id
    # The integer key is no address: every invoice URL answers it as an unknown id.
    for path in ("", "/payments"):
        assert_error(cashier.get(f"/api/v1/invoices/{first.pk}{path}"), 404, "not_found", "id")
    listed = cashier.get(f"/api/v1/invoices?patient={first.patient_id}").json()
    assert [i["id"] for i in listed] == [first.public_id]


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_every_invoice_already_issued_its_own_public_id() -> None:
    issued = [visit_invoice(100_000).pk for _ in range(3)]

    migrated_back_and_forth(
        back_to=("billing", "0016_einvoice_refund_adjustments"), table="billing_invoice", rows=3
    )

    ids = dict(Invoice.objects.values_list("pk", "public_id"))
    assert sorted(ids) == sorted(issued)
    assert all(PUBLIC_ID.match(public_id) for public_id in ids.values())
    assert len(set(ids.values())) == 3
