"""Receipts are known outside by a random public id (``rcp_…``), never by their integer key:
every receipt URL (the API's and the phone page's) takes only the public id, every body and
every field that points at a receipt gives it, and the migration that introduced it gave one
to every receipt already issued (receipts are immutable: it did so with their trigger off
for its own transaction only)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from rest_framework.test import APIClient

from config.identity.models import Role
from notifications.models import Message, Receipt
from payments.models import PaymentChannel
from payments.paylinks import pay_link_token
from tests.assertions import assert_error
from tests.migrations import migrated_back_and_forth
from tests.notifications.builders import issued, receipt_invoice, refund_receipt

PUBLIC_ID = re.compile(r"\Arcp_[0-9a-f]{20}\Z")
MESSAGE_ID = re.compile(r"\Amsg_[0-9a-f]{20}\Z")


@pytest.mark.django_db
def test_a_receipt_is_known_by_a_random_public_id_and_not_by_its_key(
    staff_client: Callable[..., APIClient],
) -> None:
    first = issued()
    payment = first.payment
    refund = refund_receipt(payment, 20_000)
    cashier = staff_client(Role.CASHIER)

    body = cashier.get(f"/api/v1/receipts/{refund.public_id}").json()
    found = cashier.get(f"/api/v1/payments/{payment.public_id}/receipt").json()

    assert PUBLIC_ID.match(body["id"])
    assert body["id"] == refund.public_id != first.public_id
    assert body["reverses_id"] == first.public_id  # a field pointing at a receipt: its id too
    assert body["pdf_url"].endswith(f"/api/v1/receipts/{refund.public_id}.pdf")
    assert found["id"] == first.public_id
    # The integer key is no address: every receipt URL answers it as an unknown receipt.
    for receipt in (first, refund):
        assert_error(cashier.get(f"/api/v1/receipts/{receipt.pk}"), 404, "not_found", "id")
        assert_error(cashier.get(f"/api/v1/receipts/{receipt.pk}.pdf"), 404, "not_found", "id")
        resend = cashier.post(
            f"/api/v1/receipts/{receipt.pk}/resend",
            {"channel": "sms"},
            format="json",
            headers={"Idempotency-Key": f"by-key-{receipt.pk}"},
        )
        assert_error(resend, 404, "not_found", "id")


@pytest.mark.django_db
def test_a_receipts_messages_are_known_by_random_public_ids_too(
    staff_client: Callable[..., APIClient],
) -> None:
    receipt = issued()
    cashier = staff_client(Role.CASHIER)

    resent = cashier.post(
        f"/api/v1/receipts/{receipt.public_id}/resend",
        {"channel": "sms"},
        format="json",
        headers={"Idempotency-Key": "message-ids"},
    ).json()
    body = cashier.get(f"/api/v1/receipts/{receipt.public_id}").json()

    shown = [message["id"] for message in body["messages"]]
    assert all(MESSAGE_ID.match(public_id) for public_id in shown)
    assert resent["id"] in shown
    assert set(shown) == set(
        Message.objects.filter(receipt=receipt).values_list("public_id", flat=True)
    )


@pytest.mark.django_db
def test_the_phone_page_links_its_receipt_by_public_id_and_refuses_the_key_and_others() -> None:
    invoice = receipt_invoice()
    receipt = issued(invoice=invoice, channel=PaymentChannel.PHONE)
    other = issued()
    token = pay_link_token(invoice=invoice)
    phone = Client()

    page = phone.get(f"/p/{token}").content.decode()
    pdf = phone.get(f"/p/{token}/receipts/{receipt.public_id}.pdf")

    assert f"/p/{token}/receipts/{receipt.public_id}.pdf" in page
    assert f"/receipts/{receipt.pk}.pdf" not in page
    assert (pdf.status_code, pdf["Content-Type"]) == (200, "application/pdf")
    assert phone.get(f"/p/{token}/receipts/{receipt.pk}.pdf").status_code == 404
    # Another invoice's receipt is not this pay link's, by public id or by key.
    assert phone.get(f"/p/{token}/receipts/{other.public_id}.pdf").status_code == 404
    assert phone.get(f"/p/{token}/receipts/{other.pk}.pdf").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_the_migrations_give_every_receipt_and_message_already_written_its_own_public_id() -> None:
    receipts = [issued().pk for _ in range(3)]
    messages = Message.objects.count()  # each receipt's link, by SMS and e-mail

    migrated_back_and_forth(
        back_to=("notifications", "0004_zalo_messages"), table="notifications_receipt", rows=3
    )

    ids = dict(Receipt.objects.values_list("pk", "public_id"))
    assert sorted(ids) == sorted(receipts)
    assert all(PUBLIC_ID.match(public_id) for public_id in ids.values())
    assert len(set(ids.values())) == 3
    # The backfill switched the immutability trigger off for itself only: it is on again.
    with pytest.raises(IntegrityError, match="immutable"), transaction.atomic():
        Receipt.objects.filter(pk=receipts[0]).update(public_id="rcp_changed")
    # 0006 gave the receipts' messages theirs the same way.
    message_ids = set(Message.objects.values_list("public_id", flat=True))
    assert len(message_ids) == messages > 0
    assert all(MESSAGE_ID.match(public_id) for public_id in message_ids)
