"""What a desk sees of cash transfers (GET /cashier/transfers): the transfers waiting for the
caller's count are exactly those the confirmation accepts from them, their drawer's
transfers with where they went, and the open drawers cash can be sent to. A transfer's
figure may be sent as notes by denomination, totalled by the server."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from config.identity.models import Role
from tests.assertions import assert_error
from tests.payments.builders.desk import at_desk, drawer, post
from tests.payments.cashier.test_transfer_confirmation import TRANSFERS_URL, confirm, send


def listing(client: APIClient) -> dict[str, Any]:
    response = client.get(TRANSFERS_URL)
    assert response.status_code == 200, response.content
    return dict(response.json())


def ids(transfers: list[dict[str, Any]]) -> list[str]:
    return [t["id"] for t in transfers]


@pytest.mark.django_db
def test_each_desk_sees_what_waits_for_its_count_and_only_that(staff_client):
    giver, first = at_desk(staff_client, count={"100000": 3})
    receiver, second = at_desk(staff_client)
    supervisor = staff_client(Role.SUPERVISOR)
    to_drawer = send(giver, 120_000, source=first, target=second)
    to_safe = send(giver, 50_000, source=first)

    seen = {name: listing(c) for name, c in [("giver", giver), ("receiver", receiver)]}
    seen["supervisor"] = listing(supervisor)

    assert ids(seen["receiver"]["to_confirm"]) == [to_drawer["id"]]
    assert ids(seen["supervisor"]["to_confirm"]) == [to_safe["id"]]
    assert seen["giver"]["to_confirm"] == []
    # The giver's drawer lists both, newest first, with where each went.
    assert ids(seen["giver"]["session_transfers"]) == [to_safe["id"], to_drawer["id"]]
    first_row, second_row = seen["giver"]["session_transfers"]
    assert (first_row["to_terminal"], first_row["from_terminal"]) == (None, first.terminal.code)
    assert (second_row["to_terminal"], second_row["to_cashier"]) == (
        second.terminal.code,
        second.cashier.username,
    )
    assert ids(seen["receiver"]["session_transfers"]) == [to_drawer["id"]]
    assert seen["supervisor"]["session_transfers"] == []
    # Cash can be sent to the other open drawers, not to one's own.
    assert [d["session"] for d in seen["giver"]["open_drawers"]] == [second.public_id]
    assert {d["session"] for d in seen["supervisor"]["open_drawers"]} == {
        first.public_id,
        second.public_id,
    }

    # What is listed is what the confirmation accepts; what is not, it refuses.
    assert_error(confirm(giver, to_drawer, 120_000), 403, "not_transfer_receiver")
    assert_error(confirm(receiver, to_safe, 50_000), 403, "not_transfer_receiver")
    assert confirm(receiver, to_drawer, 120_000).status_code == 200
    assert confirm(supervisor, to_safe, 50_000).status_code == 200
    assert listing(receiver)["to_confirm"] == listing(supervisor)["to_confirm"] == []
    statuses = [t["status"] for t in listing(giver)["session_transfers"]]
    assert statuses == ["confirmed", "confirmed"]


@pytest.mark.django_db
def test_a_supervisor_does_not_count_in_cash_they_sent_to_the_safe(staff_client):
    supervisor, session = at_desk(staff_client, Role.SUPERVISOR, count={"100000": 1})
    sent = send(supervisor, 100_000, source=session)

    assert listing(supervisor)["to_confirm"] == []
    assert_error(confirm(supervisor, sent, 100_000), 403, "not_transfer_receiver")
    assert ids(listing(staff_client(Role.SUPERVISOR))["to_confirm"]) == [sent["id"]]


@pytest.mark.django_db
def test_a_transfer_sent_and_counted_in_by_denomination(staff_client):
    giver, first = at_desk(staff_client, count={"100000": 3})
    receiver, second = at_desk(staff_client)
    body = {"from_session": first.public_id, "to_session": second.public_id}

    sent = post(giver, TRANSFERS_URL, {**body, "count": {"100000": 1, "20000": 1}})
    assert sent.status_code == 201, sent.content
    assert sent.json()["amount"] == 120_000
    counted = post(
        receiver,
        f"{TRANSFERS_URL}/{sent.json()['id']}/confirm",
        {"count": {"100000": 1, "10000": 1}},
    )

    assert counted.status_code == 200, counted.content
    assert counted.json()["counted_amount"] == 110_000
    assert (drawer(first), drawer(second)) == (190_000, 110_000)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("extra", "code", "param"),
    [
        ({}, "parameter_missing", "amount"),
        ({"amount": 10_000, "count": {"10000": 1}}, "parameter_missing", "amount"),
        ({"count": {"15000": 1}}, "unknown_denomination", "count.15000"),
        ({"count": {"10000": -1}}, "invalid_count", "count.10000"),
    ],
)
def test_a_transfer_needs_exactly_one_valid_figure(staff_client, extra, code, param):
    giver, first = at_desk(staff_client, count={"100000": 1})
    _, second = at_desk(staff_client)

    response = post(
        giver,
        TRANSFERS_URL,
        {"from_session": first.public_id, "to_session": second.public_id, **extra},
    )

    assert_error(response, 400, code, param)
    assert drawer(first) == 100_000
