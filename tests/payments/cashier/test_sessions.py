"""Terminals and sessions: a terminal has its own drawer account; a session opens with a
float counted by denomination, taken from the main safe; one open session per terminal and
per cashier; counts are validated before anything is written."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from billing.chart import MAIN_CASH, current_pack
from billing.models import Account, AccountType, JournalEntry
from config.identity.models import Role
from payments.models import CashierSession, CashierSessionStatus, Terminal
from tests.assertions import assert_error, balance
from tests.payments.builders.desk import SESSIONS_URL, at_desk, drawer, open_session, terminal_new

pytestmark = pytest.mark.django_db


def test_a_terminal_has_its_own_cash_account_under_the_main_safe():
    terminal = terminal_new(card_reader_id="tmr_desk_1")

    account = terminal.cash_account
    # A numbered detail account of the cash account, as the chart pack numbers drawers.
    assert current_pack().drawers.number(account.code) is not None
    assert terminal.code in account.name
    assert (account.type, account.currency) == (AccountType.ASSET, "VND")
    assert terminal.card_reader_id == "tmr_desk_1"


def test_terminals_are_created_by_a_management_command():
    out = StringIO()
    call_command("create_terminal", "--code", "q07", "--name", "Quầy 7", stdout=out)

    terminal = Terminal.objects.get(code="Q07")
    assert current_pack().drawers.number(terminal.cash_account.code) is not None
    assert terminal.cash_account.code in out.getvalue()
    with pytest.raises(CommandError):
        call_command("create_terminal", "--code", "Q07", "--name", "again", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("create_terminal", "--code", "bad code!", "--name", "x", stdout=StringIO())


def test_terminals_are_registered_in_the_admin_with_their_drawer_account():
    user = get_user_model().objects.create_superuser("root", "root@example.vn", "pw-12345678")
    client = Client()
    client.force_login(user)

    added = client.post(
        reverse("admin:payments_terminal_add"),
        {"code": "Q09", "name": "Quầy 9", "card_reader_id": "", "is_active": "on"},
    )

    assert added.status_code == 302, added.content
    assert "Q09" in Terminal.objects.get(code="Q09").cash_account.name
    at_list = client.get(reverse("admin:payments_cashiersession_changelist"))
    assert at_list.status_code == 200


def test_a_session_opens_with_its_float_counted_and_taken_from_the_safe(staff_client):
    cashier = staff_client(Role.CASHIER)
    terminal = terminal_new()
    safe_before = balance(MAIN_CASH)

    response = open_session(cashier, terminal, {"500000": 1, "20000": 3, "1000": 5})

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["opening_float"] == 565_000
    assert body["opening_count"]["20000"] == 3
    assert body["opening_count"]["200000"] == 0  # every denomination is listed
    assert (body["status"], body["terminal"]) == ("open", terminal.code)
    assert body["expected_cash"] is None
    session = CashierSession.objects.get(public_id=body["id"])
    assert drawer(session) == 565_000
    assert safe_before - balance(MAIN_CASH) == 565_000


def test_a_session_with_no_float_posts_nothing(staff_client):
    _, session = at_desk(staff_client)

    assert session.opening_float == 0
    assert not JournalEntry.objects.filter(source_id=session.public_id).exists()


@pytest.mark.parametrize(
    ("count", "code", "param"),
    [
        ({"3000": 1}, "unknown_denomination", "opening_count.3000"),
        ({"500": 1}, "unknown_denomination", "opening_count.500"),
        ({"100000": -1}, "invalid_count", "opening_count.100000"),
        ({"100000": 1.5}, "invalid_count", "opening_count.100000"),
        ({"100000": "2"}, "invalid_count", "opening_count.100000"),
    ],
)
def test_a_bad_opening_count_is_refused_and_opens_nothing(staff_client, count, code, param):
    response = open_session(staff_client(Role.CASHIER), terminal_new(), count)

    assert_error(response, 400, code, param)
    assert not CashierSession.objects.exists()


def test_a_terminal_holds_one_open_session(staff_client):
    terminal = terminal_new()
    at_desk(staff_client, terminal=terminal)

    response = open_session(staff_client(Role.CASHIER), terminal)

    assert_error(response, 409, "terminal_has_open_session", "terminal")
    assert CashierSession.objects.filter(terminal=terminal).count() == 1


def test_a_cashier_holds_one_open_session(staff_client):
    cashier, _ = at_desk(staff_client)

    response = open_session(cashier, terminal_new())

    assert_error(response, 409, "cashier_has_open_session")
    assert CashierSession.objects.count() == 1


def test_opening_on_an_unknown_or_inactive_terminal_is_refused(staff_client):
    cashier = staff_client(Role.CASHIER)
    assert_error(
        cashier.post(
            SESSIONS_URL,
            {"terminal": "NOPE", "opening_count": {}},
            format="json",
            headers={"Idempotency-Key": "k1"},
        ),
        404,
        "not_found",
        "terminal",
    )
    terminal = terminal_new()
    Terminal.objects.filter(pk=terminal.pk).update(is_active=False)

    assert_error(open_session(cashier, terminal), 409, "terminal_inactive", "terminal")
    assert not CashierSession.objects.exists()


def test_opening_needs_an_idempotency_key_and_replays_its_answer(staff_client):
    cashier, terminal = staff_client(Role.CASHIER), terminal_new()
    body = {"terminal": terminal.code, "opening_count": {"100000": 2}}

    missing = cashier.post(SESSIONS_URL, body, format="json")
    first = cashier.post(SESSIONS_URL, body, format="json", headers={"Idempotency-Key": "o-1"})
    again = cashier.post(SESSIONS_URL, body, format="json", headers={"Idempotency-Key": "o-1"})

    assert_error(missing, 400, "idempotency_key_missing", "Idempotency-Key")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert CashierSession.objects.count() == 1
    assert JournalEntry.objects.filter(source_type="cashier_session").count() == 1


def test_only_cashiers_open_sessions_and_see_their_own(staff_client):
    assert_error(open_session(staff_client(Role.FINANCE), terminal_new()), 403, "permission_denied")
    cashier, session = at_desk(staff_client)

    mine = cashier.get(f"{SESSIONS_URL}/{session.public_id}")
    other = staff_client(Role.CASHIER).get(f"{SESSIONS_URL}/{session.public_id}")
    supervisor = staff_client(Role.SUPERVISOR).get(f"{SESSIONS_URL}/{session.public_id}")

    assert mine.status_code == supervisor.status_code == 200
    assert mine.json()["status"] == CashierSessionStatus.OPEN
    assert_error(other, 403, "not_your_session")
    assert_error(cashier.get(f"{SESSIONS_URL}/cs_nope"), 404, "not_found", "id")


def test_the_drawer_account_is_a_real_ledger_account():
    terminal = terminal_new()

    assert Account.objects.filter(code=terminal.cash_account.code, is_active=True).exists()
