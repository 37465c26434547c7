"""The desk under real concurrency, against PostgreSQL, each thread with its own connection:
two devices paying into one session, a close racing a payment (the payment is in the totals
or refused with a clear code, never lost between them), concurrent opens (one session per
terminal and per cashier), and an advance refunded at the desk while discharge runs."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction
from rest_framework.test import APIClient

from billing.chart import BANK, MAIN_CASH, PATIENT_RECEIVABLE
from billing.models import Encounter, EncounterKind
from billing.selectors.invoices import deposit_balance, refund_owed
from billing.services.deposits import encounter_discharge
from config.identity.models import Role
from config.identity.services import device_create, staff_create, token_issue
from payments.models import CashierSession, Payment, Refund, RefundOwedPayout, RefundStatus
from tests.assertions import assert_error, balance
from tests.billing.builders import charges_post, encounter_new, patient_with_coverage, price_item
from tests.celery_worker import wait_until
from tests.concurrency import run_at_once
from tests.payments.builders.desk import (
    cash_take,
    close,
    drawer,
    fresh,
    open_session,
    pay_cash,
    post,
    report,
    terminal_new,
)
from tests.payments.builders.payments import payable_invoice
from tests.payments.builders.refunds import pay_out, request_refund

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("approval_threshold", "variance_threshold"),
]

FLOAT = {"100000": 5}  # 500,000


@pytest.fixture
def variance_threshold(settings) -> None:
    """Every variance in these races stays under its approval threshold (and every refund
    under the refunds' one: ``approval_threshold``)."""
    settings.CASHIER_VARIANCE_APPROVAL_THRESHOLD = 10_000_000


def devices_of_one_cashier(count: int, role: str = Role.CASHIER) -> list[APIClient]:
    """``count`` clients (desk PCs, tablets) logged in as the same cashier."""
    username = f"desk-{uuid.uuid4().hex[:8]}"
    _, password = staff_create(username=username, role=role)
    clients = []
    for _ in range(count):
        _, key = token_issue(username=username, password=password)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        clients.append(client)
    return clients


def opened(client: APIClient) -> CashierSession:
    response = open_session(client, terminal_new(), FLOAT)
    assert response.status_code == 201, response.content
    return CashierSession.objects.get(public_id=response.json()["id"])


def test_two_devices_paying_into_one_session_at_once_are_both_counted():
    devices = devices_of_one_cashier(2)
    session = opened(devices[0])
    invoices = [payable_invoice(120_000) for _ in range(8)]
    shared = payable_invoice(100_000)

    outcomes = run_at_once(
        8,
        lambda i: pay_cash(devices[i % 2], amount=120_000, tendered=200_000, invoice=invoices[i]),
    )
    racing = run_at_once(
        2, lambda i: pay_cash(devices[i], amount=100_000, tendered=100_000, invoice=shared)
    )

    assert [o.status_code for o in outcomes] == [201] * 8, outcomes
    # One invoice, paid once: the second sees it paid.
    assert sorted(o.status_code for o in racing) == [201, 409]
    assert_error(max(racing, key=lambda o: o.status_code), 409, "invoice_not_payable")
    assert Payment.objects.filter(cashier_session=session).count() == 9
    expected = 500_000 + 8 * 120_000 + 100_000
    assert drawer(session) == expected
    closed = close(devices[1], session, {"500000": 3, "20000": 3}).json()
    assert (closed["expected_cash"], closed["counted_cash"], closed["variance"]) == (
        expected,
        1_560_000,
        0,
    )
    assert report(devices[0], session)["agrees"]


def test_a_close_racing_a_payment_never_loses_it():
    outcomes: Counter[str] = Counter()
    for _ in range(6):
        devices = devices_of_one_cashier(2)
        session = opened(devices[0])
        invoice = payable_invoice(50_000)

        def work(
            index: int, devices: list[APIClient] = devices, session: Any = session, bill=invoice
        ) -> Any:
            if index == 0:
                return close(devices[0], session, FLOAT)
            return pay_cash(devices[1], amount=50_000, tendered=50_000, invoice=bill)

        closing, paying = run_at_once(2, work)

        assert closing.status_code == 200, closing.content
        session = fresh(session)
        taken = Payment.objects.filter(cashier_session=session)
        if paying.status_code == 201:
            outcomes["in the totals"] += 1
            assert [p.public_id for p in taken] == [paying.json()["id"]]
            assert (session.expected_cash, session.variance) == (550_000, -50_000)
        else:
            outcomes["refused"] += 1
            code = paying.json()["error"]["code"]
            assert code in ("cashier_session_closed", "cashier_session_required"), code
            assert not taken.exists()
            assert (session.expected_cash, session.variance) == (500_000, 0)
        assert drawer(session) == 0
        assert balance(PATIENT_RECEIVABLE, invoice.ledger_reference) == (
            0 if paying.status_code == 201 else 50_000
        )
        assert report(devices[0], session)["agrees"]
    assert sum(outcomes.values()) == 6


def test_concurrent_opens_leave_one_session_per_terminal_and_per_cashier():
    terminal = terminal_new()
    cashiers = [devices_of_one_cashier(1)[0] for _ in range(6)]
    one_cashier = devices_of_one_cashier(6)
    terminals = [terminal_new() for _ in range(6)]

    same_terminal = run_at_once(6, lambda i: open_session(cashiers[i], terminal, FLOAT))
    same_cashier = run_at_once(6, lambda i: open_session(one_cashier[i], terminals[i], FLOAT))

    assert sorted(r.status_code for r in same_terminal) == [201] + [409] * 5
    for refused in (r for r in same_terminal if r.status_code == 409):
        assert_error(refused, 409, "terminal_has_open_session", "terminal")
    assert sorted(r.status_code for r in same_cashier) == [201] + [409] * 5
    for refused in (r for r in same_cashier if r.status_code == 409):
        assert_error(refused, 409, "cashier_has_open_session")
    assert CashierSession.objects.filter(terminal=terminal).count() == 1
    # Only the opened sessions took a float out of the safe.
    assert balance(MAIN_CASH) == -2 * 500_000


def test_a_discharge_leftover_paid_out_by_several_cashiers_at_once_is_paid_once():
    cashier = devices_of_one_cashier(1)[0]
    session = opened(cashier)
    encounter = inpatient_with_cash_advance(session)
    encounter_discharge(encounter=encounter, by="test")
    assert refund_owed(encounter=encounter) == 400_000
    desks = [devices_of_one_cashier(1)[0] for _ in range(4)]

    outcomes = run_at_once(
        4,
        lambda i: post(
            desks[i],
            "/api/v1/cashier/refunds-owed",
            {"encounter_id": encounter.pk, "paid_by": "bank_transfer"},
        ),
    )

    assert sorted(o.status_code for o in outcomes) == [201, 409, 409, 409], outcomes
    for refused in (o for o in outcomes if o.status_code == 409):
        assert_error(refused, 409, "nothing_owed")
    assert RefundOwedPayout.objects.get().amount == 400_000
    assert refund_owed(encounter=encounter) == 0
    assert -balance(BANK) == 400_000


def inpatient_with_cash_advance(session: CashierSession) -> Encounter:
    encounter = encounter_new(
        patient=patient_with_coverage(benefit_level=None), kind=EncounterKind.INPATIENT
    )
    cash_take(session, amount=1_000_000, encounter=encounter)
    charges_post(encounter, (price_item(price=600_000), 1))
    return encounter


def his_client() -> APIClient:
    his = APIClient()
    _, key = device_create(kind="his", name=f"his-{uuid.uuid4().hex[:6]}")
    his.credentials(HTTP_AUTHORIZATION=f"Device {key}")
    return his


def advance_with_refund_waiting(cashier: APIClient, session: CashierSession) -> tuple[Any, str]:
    encounter = inpatient_with_cash_advance(session)
    payment = Payment.objects.get(encounter=encounter)
    refund = request_refund(cashier, payment, amount=300_000, reason="deposit_refund").json()
    assert refund["status"] == "pending_payout"
    return encounter, refund["id"]


def assert_advance_spent_once(encounter: Encounter, refund_id: str, owed: int) -> bool:
    """Applied (600,000), refunded at the desk or owed back: together exactly the advance.
    Returns whether the desk refund was paid."""
    paid = Refund.objects.get(public_id=refund_id).status == RefundStatus.SUCCEEDED
    assert deposit_balance(encounter=encounter) == 0
    assert refund_owed(encounter=encounter) == owed
    assert (300_000 if paid else 0) + owed + 600_000 == 1_000_000
    return paid


def test_an_advance_refund_paid_out_at_the_desk_never_races_discharge():
    """The payout (cashier) and the discharge (HIS) both lock the encounter: whichever runs
    first, the advance is spent once."""
    cashier, his = devices_of_one_cashier(1)[0], his_client()
    session = opened(cashier)
    for _ in range(4):
        encounter, refund_id = advance_with_refund_waiting(cashier, session)
        drawer_before = drawer(session)

        def work(index: int, refund_id: str = refund_id, encounter: Any = encounter) -> Any:
            if index == 0:
                return pay_out(cashier, refund_id, "cash")
            return his.post(f"/api/v1/encounters/{encounter.pk}/discharge")

        paid, discharged = run_at_once(2, work)

        assert discharged.status_code == 200, discharged.content
        owed = discharged.json()["refund_owed"]
        if assert_advance_spent_once(encounter, refund_id, owed):
            assert paid.status_code == 200
            assert drawer(session) == drawer_before - 300_000
        else:
            assert_error(paid, 402, "refund_exceeds_captured", "amount")
            assert drawer(session) == drawer_before


def lock_waiters() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # fresh activity, not the snapshot
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return int(cursor.fetchone()[0])


def in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(work())
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_a_payout_queued_before_discharge_is_paid_and_discharge_owes_only_the_rest():
    """The other order, made certain: the encounter is held while the payout queues for it,
    then the discharge queues behind; released, the payout goes first."""
    cashier, his = devices_of_one_cashier(1)[0], his_client()
    session = opened(cashier)
    encounter, refund_id = advance_with_refund_waiting(cashier, session)
    drawer_before = drawer(session)

    with transaction.atomic():
        Encounter.objects.select_for_update().get(pk=encounter.pk)
        payout, paid = in_thread(lambda: pay_out(cashier, refund_id, "cash"))
        assert wait_until(lambda: lock_waiters() == 1), "the payout never queued"
        discharge, discharged = in_thread(
            lambda: his.post(f"/api/v1/encounters/{encounter.pk}/discharge")
        )
        assert wait_until(lambda: lock_waiters() == 2), "the discharge never queued"
    payout.join(timeout=60)
    discharge.join(timeout=60)

    assert paid[0].status_code == 200, paid[0].content
    assert discharged[0].json()["refund_owed"] == 100_000
    assert assert_advance_spent_once(encounter, refund_id, 100_000)
    assert drawer(session) == drawer_before - 300_000
